"""Day two on the sandbox: a DC scaled up by multidc/full and down by scale-dc (decommission, highest ordinal
first, then cleanup) while a writer writes at LOCAL_QUORUM; a shrink below the replication factor is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes.client import CoreV1Api

from flows.scale import scale_dc
from flows.spec_ref import SpecRef
from multidc_core.load import load_spec
from sandbox.harness import ThreadedWorld, world_in_thread
from tasks.cassandra import apply_cassandra
from tasks.kube_access import exec_in_pod
from tasks.kube_objects import get_or_none, wait_until
from tasks.start_gate import gate_state
from tests import day_two_ops as ops
from tests import ring_fixtures as rf

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[tuple[ThreadedWorld, Path]]:
    """A one-DC ring (aws-1, 3 nodes, customers_ks at 3) built by multidc/full, holding ops.ROWS_BEFORE rows."""
    tmp = tmp_path_factory.mktemp("scale")
    with world_in_thread(tmp / "state", time_scale=0.001) as tw:
        ops.one_dc_ring(tmp, tw.add_existing("seed-blog"))
        yield tw, tmp


def _report(out: ops.AddOutcome, what: str) -> None:
    assert out.state.is_completed(), out.state.message
    for dc, lost in out.lost.items():
        print(f"{what}: {out.acked} acknowledged rows ({out.acked_during} during), lost in {dc}: {len(lost)}; "
              f"{out.seconds:.1f} s")
        assert lost == set(), f"{dc} lost {len(lost)} acknowledged rows: {sorted(lost)[:10]}"


def test_scaling_up_joins_the_new_node_and_loses_no_acknowledged_row(ring: tuple[ThreadedWorld, Path]) -> None:
    tw, tmp = ring
    # An earlier run stopped right after its apply: the StatefulSet counts 4, the new pod waits at its gate.
    path = ops.spec_file(tmp, tw.state_dir / "existing.kubeconfig", ["aws-1"], {"aws-1": 4})
    spec = load_spec(path.read_text())
    apply_cassandra(spec, "aws-1", ops.WAITS)
    held = "/api/v1/namespaces/aws-1/pods/cassandra-rack1-3"
    assert wait_until("the new pod at its gate", lambda: gate_state(get_or_none(rf.api(spec, "aws-1"), held)),
                      30, 0.05) == "held"
    out = ops.scale(tmp, tw.state_dir / "existing.kubeconfig", ["aws-1"], {"aws-1": 4}, "aws-1")
    _report(out, "scale up 3 -> 4")
    status = rf.nodetool_status(out.spec, "aws-1")
    assert [r.status + r.state for r in status] == ["UN"] * 4


def test_scaling_below_the_replication_factor_of_a_live_keyspace_is_refused_before_any_change(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    tw, tmp = ring
    path = ops.spec_file(tmp, tw.state_dir / "existing.kubeconfig", ["aws-1"], {"aws-1": 2})
    path.write_text(path.read_text().replace("aws-1: 3", "aws-1: 2"))  # the spec's keyspace fits 2 nodes
    spec = load_spec(path.read_text())
    # A keyspace the application made, outside the spec, keeps 3 replicas in aws-1.
    rc, _, err = ops.cql(spec, "aws-1", "cassandra-rack1-0", "CREATE KEYSPACE IF NOT EXISTS app_ks WITH replication = "
                         "{'class': 'NetworkTopologyStrategy', 'aws-1': 3}")
    assert rc == 0, err
    before = rf.versions(spec)
    state = scale_dc(spec=SpecRef(path=str(path)), dc="aws-1", confirm="aws-1", waits=ops.WAITS, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"cassandra.nodes 2 is below the largest replication factor there, "
                       r"keyspace app_ks .*: 3; .*Keep datacenters\[aws-1\].cassandra.nodes at 3 or more"):
        state.result()
    assert rf.versions(spec) == before
    assert ops.cql(spec, "aws-1", "cassandra-rack1-0", "DROP KEYSPACE app_ks")[0] == 0


def test_multidc_full_refuses_fewer_nodes_and_names_scale_dc(ring: tuple[ThreadedWorld, Path]) -> None:
    tw, tmp = ring
    path = ops.spec_file(tmp, tw.state_dir / "existing.kubeconfig", ["aws-1"], {"aws-1": 3})
    spec = load_spec(path.read_text())
    if len(rf.cassandra_pods(spec, "aws-1")) != 4:
        pytest.skip("needs the 4-node DC of the scale-up test")
    state = ops.run_full(path)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"fewer nodes in aws-1 .*scale-dc"):
        state.result()


def test_multidc_full_refuses_an_image_downgrade_before_any_change(ring: tuple[ThreadedWorld, Path]) -> None:
    tw, tmp = ring
    path = ops.spec_file(tmp, tw.state_dir / "existing.kubeconfig", ["aws-1"], {"aws-1": 4})
    raw = yaml.safe_load(path.read_text())
    raw["cassandra"] = {"image": "cassandra:4.1"}  # the ring runs 5.0
    path = tmp / "downgrade.yaml"
    path.write_text(yaml.safe_dump(raw))
    spec = load_spec(path.read_text())
    before = rf.versions(spec)
    state = ops.run_full(path)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"cassandra.image cassandra:4.1 would downgrade the running cassandra:5.0"):
        state.result()
    assert rf.versions(spec) == before


def test_scaling_down_decommissions_the_highest_ordinal_and_loses_no_acknowledged_row(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    tw, tmp = ring
    kubeconfig = tw.state_dir / "existing.kubeconfig"
    spec = load_spec(ops.spec_file(tmp, kubeconfig, ["aws-1"], {"aws-1": 4}).read_text())
    if len(rf.cassandra_pods(spec, "aws-1")) != 4:
        pytest.skip("needs the 4-node DC of the scale-up test")
    gone_ip = CoreV1Api(rf.api(spec, "aws-1")).read_namespaced_pod("cassandra-rack1-3", "aws-1").status.pod_ip
    unconfirmed = ops.scale(tmp, kubeconfig, ["aws-1"], {"aws-1": 3}, "aws-1")
    assert unconfirmed.state.is_failed() and "set confirm to 'aws-1'" in str(unconfirmed.state.message)
    # An earlier run stopped right after the decommission: the node left the ring, its pod still runs.
    res = exec_in_pod(rf.api(spec, "aws-1"), "aws-1", "cassandra-rack1-3", ["nodetool", "decommission"])
    assert res.returncode == 0, res.stderr
    assert len(rf.nodetool_status(spec, "aws-1")) == 3 and len(rf.cassandra_pods(spec, "aws-1")) == 4
    out = ops.scale(tmp, kubeconfig, ["aws-1"], {"aws-1": 3}, "aws-1", confirm="aws-1")
    _report(out, "scale down 4 -> 3")
    assert out.state.result().removed == ["cassandra-rack1-3"]
    status = rf.nodetool_status(out.spec, "aws-1")
    assert [r.status + r.state for r in status] == ["UN"] * 3 and gone_ip not in {r.address for r in status}
    assert sorted(rf.cassandra_pods(out.spec, "aws-1")) == [f"cassandra-rack1-{i}" for i in range(3)]
    claims = CoreV1Api(rf.api(out.spec, "aws-1")).list_namespaced_persistent_volume_claim("aws-1").items
    assert sorted(c.metadata.name for c in claims) == [f"data-cassandra-rack1-{i}" for i in range(3)]
    # Every node holds its replicas itself after the decommission streamed them: LOCAL_ONE from any one.
    assert len(ops.rows_in(out.spec, "aws-1", "ALL")) == out.acked


def test_scaling_down_a_node_held_at_its_start_gate_deletes_its_pod_and_volume(ring: tuple[ThreadedWorld, Path]) -> None:
    """A stopped scale-up left a pod at its gate (never in the ring); scaling back down removes it without a
    decommission (nothing to stream) and deletes its volume."""
    tw, tmp = ring
    kubeconfig = tw.state_dir / "existing.kubeconfig"
    spec = load_spec(ops.spec_file(tmp, kubeconfig, ["aws-1"], {"aws-1": 4}).read_text())
    if len(rf.nodetool_status(spec, "aws-1")) != 3:
        pytest.skip("needs the 3-node DC of the scale-down test")
    apply_cassandra(spec, "aws-1", ops.WAITS)
    held = "/api/v1/namespaces/aws-1/pods/cassandra-rack1-3"
    assert wait_until("the new pod at its gate", lambda: gate_state(get_or_none(rf.api(spec, "aws-1"), held)),
                      30, 0.05) == "held"
    out = ops.scale(tmp, kubeconfig, ["aws-1"], {"aws-1": 3}, "aws-1", confirm="aws-1")
    _report(out, "scale down a held node 4 -> 3")
    assert out.state.result().removed == ["cassandra-rack1-3"]
    assert [r.status + r.state for r in rf.nodetool_status(out.spec, "aws-1")] == ["UN"] * 3
    assert sorted(rf.cassandra_pods(out.spec, "aws-1")) == [f"cassandra-rack1-{i}" for i in range(3)]
    claims = CoreV1Api(rf.api(out.spec, "aws-1")).list_namespaced_persistent_volume_claim("aws-1").items
    assert sorted(c.metadata.name for c in claims) == [f"data-cassandra-rack1-{i}" for i in range(3)]
