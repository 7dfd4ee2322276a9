"""Secrets: a full run with known secret values leaves none of them in Prefect (logs, artifacts, runs,
results) or in the sandbox's request logs, except the VPN key where Azure needs it; cassandra is disabled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows.full import multidc
from tasks.kube_access import api_for, exec_in_pod
from tests import reliability_matrix as matrix
from tests.reliability_secrets import scan

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]


def test_no_known_secret_is_found_anywhere_after_a_full_run(tmp_path: Path) -> None:
    known = matrix.Secrets()
    with matrix.scenario_env(tmp_path, 1, known) as env:
        state = env.run()
        assert matrix.whole(state), matrix.error_of(state)
        known.kubeconfig_tokens(env.ring, ["dc1", "dc2"])
        labels = set(known.values)
        assert {f"{env.ring} VPN shared key", f"{env.ring} Cassandra admin password"} <= labels
        assert any("kubeconfig token" in label for label in labels)
        known.values["static token"] = known.token
        arm = [env.world.arm.requests()]
        kube = [e.kube.requests() for e in env.world.clusters.values()]
        vpn = known.values[f"{env.ring} VPN shared key"]
        assert any(vpn in str(e.get("body")) for e in arm[0]), (
            "the key did go to Azure, in the connection PUTs"
        )
        findings, scanned = scan(known.values, arm, kube, Path(os.environ["PREFECT_HOME"]))
        assert scanned > 100
        assert findings == []

        # The scan does find what is there: the ring's name is in plenty of logs.
        found, _ = scan({"ring name": env.ring}, [], [], Path(os.environ["PREFECT_HOME"]))
        assert found

        # The image's default superuser can no longer log in.
        from multidc_core.load import load_spec

        spec = load_spec(env.spec.read_text())
        dc = spec.datacenters[0]
        res = exec_in_pod(
            api_for(spec, dc),
            dc.namespace,
            "cassandra-rack1-0",
            ["cqlsh", "-u", "cassandra", "-p", "cassandra", "-e", "CONSISTENCY"],
        )
        assert res.returncode != 0 and "AuthenticationFailed" in res.stderr, res


def test_no_secret_is_a_flow_parameter() -> None:
    schema = multidc.parameters.model_dump()
    assert set(schema["properties"]) <= {"spec", "cloud_block", "verify", "waits"}  # waits: deadlines only
    spec_ref = schema["definitions"]["SpecRef"]["properties"]
    assert set(spec_ref) == {"path", "block"}, "the spec by reference: a path or a block name, never its text"
    text = str(schema).lower()
    assert not any(word in text for word in ("password", "token", "shared_key", 'secret"', 'kubeconfig"'))
