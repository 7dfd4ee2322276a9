"""Nodes leaving a ring: `nodetool decommission` (streams its ranges away), `removenode` (a dead node's
ranges restored from the other replicas) and `cleanup` (drops what a node no longer replicates)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.ring import storage, syslog
from sandbox.ring.consistency import replicas
from sandbox.ring.model import LOCAL, NTS, SIMPLE
from sandbox.ring.node import Node

if TYPE_CHECKING:
    from sandbox.ring.cluster import ExecResult, RingSim

UNSUPPORTED = "nodetool: Unsupported operation: "


def _rf_check(sim: RingSim, node: Node) -> str | None:
    """StorageService.decommission (not forced): every keyspace keeps its replicas with one node fewer."""
    ring = sim.rings[node.ring_id or ""]
    members = sim.members(ring.ring_id)
    if not any(m is not node and sim.state(m) == "N" for m in members):
        return "no other normal nodes in the ring; decommission would be pointless"
    for name, ks in ring.keyspaces.items():
        if ks.strategy == LOCAL:
            continue
        if ks.strategy == NTS:
            rf = ks.dc_factors().get(node.config.dc, 0)
            count = sum(1 for m in members if m.config.dc == node.config.dc)
        elif ks.strategy == SIMPLE:
            rf, count = ks.total_rf(), len(members)
        else:
            continue
        if count <= rf:
            return (f"Not enough live nodes to maintain replication factor in keyspace {name} (RF = {rf}, "
                    f"N = {count}). Perform a forceful decommission to ignore.")
    return None


def decommission(sim: RingSim, node: Node, force: bool) -> ExecResult:
    """The node streams every partition it holds to the replicas that own it once it has left, then leaves.

    Refused while another node of the ring is down (its ranges could not be streamed everywhere) or
    when a keyspace would keep fewer replicas than its factor. Returns when the streaming ends.
    """
    from sandbox.ring.cluster import ExecResult

    members = sim.members(node.ring_id)
    down = [m for m in members if m is not node and not sim.live_from(node)(m)]
    if down:
        return ExecResult(2, "", f"{UNSUPPORTED}Node /{down[0].ip}:7000 is down; cannot decommission\n")
    refusal = None if force else _rf_check(sim, node)
    if refusal:
        return ExecResult(2, "", UNSUPPORTED + refusal + "\n")
    ring = sim.rings[node.ring_id or ""]
    rest = [m for m in members if m is not node]
    streamed = 0
    for ks_name, tables in node.data.items():
        ks = ring.keyspaces.get(ks_name)
        if ks is None:
            continue
        for table, parts in tables.items():
            for key, part in parts.items():
                if node not in replicas(ks, key, members):
                    continue  # not a range it owns (left over until a cleanup): not streamed
                for r in replicas(ks, key, rest):
                    held = r.data.setdefault(ks_name, {}).setdefault(table, {})
                    merged = storage.merge(held.get(key), part)
                    if merged != held.get(key):
                        held[key] = merged
                        streamed += 1
    _leave(sim, node)
    node.note(syslog.line(sim.clock.now(), "INFO", "storage", f"DECOMMISSIONED ({streamed} partitions streamed)"))
    return ExecResult(0, "", "", sim.clock.duration("node_bootstrap"))


def _leave(sim: RingSim, node: Node) -> None:
    ring = sim.rings[node.ring_id or ""]
    ring.members = [m for m in ring.members if m != node.node_id]
    # Out of the ring for good: a restart of the same JVM would not rejoin (and here its volume goes).
    node.ring_id, node.data, node.repaired = None, {}, {}


def removenode(sim: RingSim, node: Node, host_id: str) -> ExecResult:
    """`nodetool removenode <host-id>` run on a live node for a DOWN one: the other replicas of its ranges
    stream to the nodes that own them once it is gone (what the dead node alone held is lost)."""
    from sandbox.ring.cluster import ExecResult

    members = sim.members(node.ring_id)
    gone = next((m for m in members if m.host_id == host_id), None)
    if gone is None:
        return ExecResult(2, "", f"error: Host ID not found: {host_id}\n")
    if gone is node:
        return ExecResult(2, "", "error: Cannot remove self\n")
    if sim.live_from(node)(gone):
        return ExecResult(2, "", f"error: Node /{gone.ip}:7000 is alive and owns this ID. Use decommission "
                          "command to remove it from the ring\n")
    ring = sim.rings[node.ring_id or ""]
    ring.members = [m for m in ring.members if m != gone.node_id]
    gone.ring_id = None
    for m in sim.members(ring.ring_id):
        if sim.live_from(node)(m) or m is node:
            sim._stream_to(m, None)  # each survivor fetches what it now owns from the live replicas
    node.note(syslog.line(sim.clock.now(), "INFO", "storage", f"Removal of {host_id} complete"))
    return ExecResult(0, "", "", sim.clock.duration("node_bootstrap"))


def cleanup(sim: RingSim, node: Node) -> ExecResult:
    """`nodetool cleanup`: drop every partition of a range this node no longer replicates."""
    from sandbox.ring.cluster import ExecResult

    ring = sim.rings[node.ring_id or ""]
    members = sim.members(ring.ring_id)
    dropped = 0
    for ks_name, tables in node.data.items():
        ks = ring.keyspaces.get(ks_name)
        if ks is None:
            continue
        for parts in tables.values():
            for key in [k for k in parts if node not in replicas(ks, k, members)]:
                del parts[key]
                dropped += 1
    node.note(syslog.line(sim.clock.now(), "INFO", "compaction", f"Cleanup dropped {dropped} partitions"))
    return ExecResult(0, "", "")
