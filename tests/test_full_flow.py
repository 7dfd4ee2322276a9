"""multidc/full on the sandbox: one flow from a spec file to a verified ring; a re-run writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.full import FullResult, multidc
from flows.spec_ref import SpecRef
from multidc.sandbox_cmd import sandbox_cloud
from sandbox.harness import ThreadedWorld, world_in_thread
from tests.arm_fixtures import TEST_DEADLINE_S
from tests.paths import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
SPEC = ROOT / "examples" / "sandbox.yaml"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path_factory.mktemp("full") / "state", time_scale=0.001) as tw:
        assert tw.world.arm is not None
        block = sandbox_cloud({"arm_url": tw.world.arm.url, "ca_path": str(tw.world.arm.ca_path)}, deadline_s=TEST_DEADLINE_S)
        block.save("full-test-sandbox", overwrite=True)  # type: ignore[attr-defined]
        yield tw


def resource_versions(tw: ThreadedWorld) -> dict[tuple[str, str, str, str], str]:
    out = {}
    for name, entry in tw.world.clusters.items():
        for kind in (
            "Namespace",
            "ConfigMap",
            "Secret",
            "Service",
            "StatefulSet",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "Deployment",
        ):
            for obj in entry.kube.objects(kind):
                meta = obj["metadata"]
                out[(name, kind, meta.get("namespace", ""), meta["name"])] = meta["resourceVersion"]
    return out


def run_full(path: Path) -> Any:
    return multidc(spec=SpecRef(path=str(path)), cloud_block="full-test-sandbox", return_state=True)


def test_full_builds_a_verified_ring_and_a_rerun_changes_nothing(sandbox: ThreadedWorld) -> None:
    state = run_full(SPEC)
    assert state.is_completed(), state.message
    result: FullResult = state.result()
    assert result.verification is not None and result.verification.verdict == "whole"
    assert {link.status for link in result.provision.links} == {"Connected"}  # type: ignore[union-attr]
    rings = {rid for rid in sandbox.world.ring.rings if sandbox.world.ring.members(rid)}
    assert len(rings) == 1, "every node of both DCs is in one ring"

    assert sandbox.world.arm is not None
    writes_before = sandbox.world.arm.counts()["writes"]
    versions_before = resource_versions(sandbox)
    again = run_full(SPEC)
    assert again.is_completed(), again.message
    assert sandbox.world.arm.counts()["writes"] == writes_before, (
        "a re-run after success writes nothing to ARM"
    )
    after = resource_versions(sandbox)
    changed = {k for k in versions_before if after.get(k) != versions_before[k]}
    assert changed == set(), f"a re-run changed Kubernetes objects: {sorted(changed)}"


def test_full_on_existing_clusters_creates_no_azure_resource(
    sandbox: ThreadedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = sandbox.add_existing("seed-blog")
    # The example's kubeconfig path is relative to the worker's directory, as in the demo.
    (tmp_path / ".multidc" / "sandbox").mkdir(parents=True)
    (tmp_path / ".multidc" / "sandbox" / "existing.kubeconfig").write_text(kubeconfig.read_text())
    monkeypatch.chdir(tmp_path)
    assert sandbox.world.arm is not None
    writes_before = sandbox.world.arm.counts()["writes"]
    state = run_full(ROOT / "examples" / "sandbox-existing.yaml")
    assert state.is_completed(), state.message
    result: FullResult = state.result()
    assert result.provision is None
    assert result.verification is not None and result.verification.verdict == "whole"
    assert sandbox.world.arm.counts()["writes"] == writes_before, "existing clusters need no Azure write"


def test_full_stops_before_any_change_when_an_existing_cluster_is_unreachable(
    sandbox: ThreadedWorld, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    text = (ROOT / "examples" / "sandbox-existing.yaml").read_text()
    spec.write_text(
        text.replace(".multidc/sandbox/existing.kubeconfig", str(tmp_path / "missing.kubeconfig")).replace(
            "name: multidc", "name: unreachable"
        )
    )
    state = run_full(spec)
    assert state.is_failed()
    with pytest.raises(
        Exception, match=r"datacenter (aws|azure)-1: the Kubernetes API of context 'kube-a\w+'"
    ):
        state.result()
    labelled = [
        (name, kind, obj["metadata"]["name"])
        for name, entry in sandbox.world.clusters.items()
        for kind in ("Namespace", "Service", "Secret", "StatefulSet", "ConfigMap")
        for obj in entry.kube.objects(kind)
        if (obj["metadata"].get("labels") or {}).get("multidc.io/ring") == "unreachable"
    ]
    assert labelled == [], "nothing of the ring was created anywhere"
