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
from tests.paths import ROOT

pytestmark = pytest.mark.usefixtures("prefect_harness")
SPEC = ROOT / "examples" / "sandbox.yaml"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path_factory.mktemp("full") / "state", time_scale=0.001) as tw:
        assert tw.world.arm is not None
        block = sandbox_cloud({"arm_url": tw.world.arm.url, "ca_path": str(tw.world.arm.ca_path)})
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
