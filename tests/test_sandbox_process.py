"""`multidc sandbox up/status/down` from the command line; a restart finds the same world."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest
import yaml
from kubernetes.client import CoreV1Api

from sandbox.process import read_info, running

pytestmark = pytest.mark.e2e


def multidc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "multidc.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_up_status_down_and_restart_keeps_the_world(tmp_path: Path) -> None:
    state = str(tmp_path / "sbx")
    try:
        up = multidc("sandbox", "up", "--state-dir", state, "--existing", "seed-blog")
        assert up.returncode == 0, up.stdout + up.stderr
        info = read_info(Path(state))
        assert info is not None and running(Path(state)) is not None
        kubeconfig = yaml.safe_load(Path(info["existing_kubeconfig"]).read_text())
        assert {c["name"] for c in kubeconfig["contexts"]} == {"kube-aws", "kube-azure"}
        api = kubernetes.config.new_client_from_config_dict(kubeconfig, context="kube-aws")
        CoreV1Api(api).create_namespace({"metadata": {"name": "kept-across-restarts"}})

        written = multidc("sandbox", "kubeconfig", "--state-dir", state, "--out", str(tmp_path / "kc"))
        assert written.returncode == 0, written.stdout + written.stderr
        assert "contexts: aws-1, azure-1" in written.stdout
        assert (tmp_path / "kc").stat().st_mode & 0o777 == 0o600
        merged = yaml.safe_load((tmp_path / "kc").read_text())
        api = kubernetes.config.new_client_from_config_dict(merged, context="azure-1")
        assert "kube-system" in {ns.metadata.name for ns in CoreV1Api(api).list_namespace().items}

        status = multidc("sandbox", "status", "--state-dir", state)
        assert sorted(json.loads(status.stdout)["clusters"]) == ["aws-1", "azure-1"]

        assert multidc("sandbox", "down", "--state-dir", state).returncode == 0
        assert running(Path(state)) is None
        assert multidc("sandbox", "up", "--state-dir", state).returncode == 0
        # Same ports and same objects: a kubeconfig saved before the restart still works.
        api = kubernetes.config.new_client_from_config_dict(kubeconfig, context="kube-aws")
        names = {ns.metadata.name for ns in CoreV1Api(api).list_namespace().items}
        assert "kept-across-restarts" in names
    finally:
        multidc("sandbox", "down", "--state-dir", state, "--purge")
    assert running(Path(state)) is None
