"""scale-dc: bring one datacenter of a live ring to the spec's node count, down by decommission or up by join."""

from __future__ import annotations

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.full import RingChangeRefused, multidc, ring_lock
from flows.spec_ref import SpecRef
from flows.teardown import ConfirmationError
from multidc_core.ring_changes import scale_down_refusal
from tasks.cassandra_cql import configure_auth, ensure_keyspaces
from tasks.decommission import cleanup_dc, decommission_node, live_replication, running_nodes
from tasks.kube_objects import KubeWaits
from tasks.ring_changes import read_live_ring


class ScaleResult(BaseModel):
    """What one scale-dc run did."""

    dc: str = Field(description="The datacenter scaled.")
    before: int = Field(description="Its nodes in the live ring before the run.")
    after: int = Field(description="Its nodes after the run (the spec's count).")
    removed: list[str] = Field(default_factory=list, description="Pods decommissioned, highest ordinal first.")
    cleaned: list[str] = Field(default_factory=list, description="Pods that ran `nodetool cleanup` after.")


@flow(name="scale-dc")
def scale_dc(
    spec: SpecRef, dc: str, confirm: str = "", cloud_block: str = "multidc-sandbox", waits: KubeWaits | None = None
) -> ScaleResult:
    """Bring datacenter `dc` of the live ring to `datacenters[dc].cassandra.nodes` of the spec.

    Down: refused below the DC's largest replication factor (or its two seeds) before any change;
    `confirm` must equal `dc`. Then, highest ordinal first, each node is decommissioned (its ranges
    stream to the nodes that own them next), leaves `nodetool status`, its StatefulSet shrinks by
    one and its PVC is deleted; then `nodetool cleanup` runs on the DC's remaining nodes. Up: the
    multidc/full flow runs (new nodes join one at a time across the ring).

    Args:
        spec: The ring spec with the DC's new node count.
        dc: The datacenter to scale.
        confirm: Must equal `dc` to shrink it (nodes and their volumes are deleted).
        cloud_block: AzureCloud block, used when growing (multidc/full).
        waits: Deadlines of the waits; `repair_s` bounds each decommission and cleanup.

    Returns:
        The node counts before and after, and the pods removed and cleaned.
    """
    ring = spec.load()
    target = ring.dc(dc).cassandra.nodes
    with ring_lock(ring.name):
        live = read_live_ring(ring)
        if live is None or dc not in live[1]:
            raise RingChangeRefused(f"ring {ring.name}: datacenter {dc} is not in the live ring (or the ring cannot be "
                                    "seen): run multidc/full to build it; nothing was changed")
        # A run stopped after a decommission left the node out of the ring but its pod running: the
        # StatefulSets still count it, and this run finishes its removal.
        before = max(live[1][dc].nodes, running_nodes(ring, dc))
        if target < before:
            return _shrink(ring_ref=spec, dc=dc, before=before, confirm=confirm, waits=waits)
    # Growing counts the ring's nodes only: a run stopped after its apply left the new pods created and
    # held at their start gates (the StatefulSets count them), and this run grants them.
    if target > live[1][dc].nodes:
        multidc(spec=spec, cloud_block=cloud_block, verify=False, waits=waits)
    get_run_logger().info("%s: %d -> %d nodes", dc, before, target)
    return ScaleResult(dc=dc, before=before, after=target)


def _shrink(ring_ref: SpecRef, dc: str, before: int, confirm: str, waits: KubeWaits | None) -> ScaleResult:
    ring = ring_ref.load()
    refusal = scale_down_refusal(ring, dc, before, live_replication(ring, waits))
    if refusal:
        raise RingChangeRefused(f"ring {ring.name}: {refusal}")
    if confirm != dc:
        raise ConfirmationError(f"scaling {dc} down deletes nodes and their volumes: set confirm to {dc!r} "
                                "(the datacenter's name); nothing was changed")
    target = ring.dc(dc).cassandra.nodes
    # Replication as the spec says first (system keyspaces at min(3, nodes) unless system_rf): a
    # keyspace keeping as many replicas as the DC keeps nodes would make Cassandra refuse the decommission.
    configure_auth(ring, waits)
    ensure_keyspaces(ring, waits)
    removed = [decommission_node(ring, dc, k, waits) for k in range(before - 1, target - 1, -1)]
    cleaned = cleanup_dc(ring, dc, waits)
    get_run_logger().info("%s: %d -> %d nodes: %s", dc, before, target, "; ".join(removed))
    return ScaleResult(dc=dc, before=before, after=target, removed=[r.split()[0] for r in removed], cleaned=cleaned)
