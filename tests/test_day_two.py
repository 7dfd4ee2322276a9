"""Day two on the sandbox: multidc/full adds a DC to a ring that holds rows, while a writer writes; removal is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.artifacts import Artifact

from flows.full import FullResult
from flows.plan import plan_ring
from flows.spec_ref import SpecRef
from multidc_core.load import load_spec
from sandbox.harness import ThreadedWorld, world_in_thread
from tests import day_two_ops as ops
from tests import ring_fixtures as rf

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[tuple[ThreadedWorld, Path]]:
    """A one-DC ring (aws-1, 3 nodes) built by multidc/full, holding ops.ROWS_BEFORE rows."""
    tmp = tmp_path_factory.mktemp("day-two")
    with world_in_thread(tmp / "state", time_scale=0.001) as tw:
        ops.one_dc_ring(tmp, tw.add_existing("seed-blog"))
        yield tw, tmp


def test_adding_a_dc_rebuilds_it_and_loses_no_acknowledged_row_written_meanwhile(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    tw, tmp = ring
    out = ops.add_dc(tmp, tw.state_dir / "existing.kubeconfig")
    assert out.state.is_completed(), out.state.message
    assert out.acked_during, "the writer got no write acknowledged during the run"
    for dc, lost in out.lost.items():
        print(f"{dc}: {ops.ROWS_BEFORE + out.acked_during} acknowledged rows, lost: {len(lost)}; add took {out.seconds:.1f} s")
        assert lost == set(), f"{dc} lost {len(lost)} acknowledged rows: {sorted(lost)[:10]}"
    # Every azure-1 node holds its replicas itself: LOCAL_ONE reads any one of them.
    assert len(ops.rows_in(out.spec, "azure-1", "LOCAL_ONE")) == ops.ROWS_BEFORE + out.acked_during
    result: FullResult = out.state.result()
    assert result.deployment.rebuilt == {"azure-1": "rebuilt 3 nodes from aws-1"}
    plan = Artifact.get(f"plan-{ops.RING}")  # the plan published is the one run: the rebuild in it
    assert plan is not None and "| `rebuild/azure-1` | rebuild | azure-1 | `keyspaces` |" in str(plan.data)


def test_plan_ring_shows_the_removal_and_full_refuses_it_before_any_change(ring: tuple[ThreadedWorld, Path]) -> None:
    tw, tmp = ring
    path = ops.spec_file(tmp, tw.state_dir / "existing.kubeconfig", ["azure-1"])
    spec = load_spec(path.read_text())
    if not rf.cassandra_pods(spec, "azure-1"):
        pytest.skip("needs the two-DC ring of the test before")
    plan_ring(spec=SpecRef(path=str(path)))
    artifact = Artifact.get(f"changes-{ops.RING}")
    assert artifact is not None and "**remove** `aws-1`" in str(artifact.data)
    before = rf.versions(spec)
    state = ops.run_full(path)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"drops datacenter\(s\) aws-1 .*removing a datacenter is a separate operation"):
        state.result()
    assert rf.versions(spec) == before, "a refused run changed nothing in azure-1"


def test_plan_ring_says_it_cannot_see_a_ring_it_cannot_reach(tmp_path: Path) -> None:
    path = ops.spec_file(tmp_path, tmp_path / "missing.kubeconfig", ["aws-1", "azure-1"])
    path.write_text(path.read_text().replace(f"name: {ops.RING}", "name: unseen"))
    plan_ring(spec=SpecRef(path=str(path)))
    artifact = Artifact.get("changes-unseen")
    assert artifact is not None and "Cannot see the live ring" in str(artifact.data)
