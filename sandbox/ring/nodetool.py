"""`nodetool` inside a simulated pod: status (real 4.x/5.0 layout), repair, rebuild, reloadseeds, describecluster,
decommission, removenode, cleanup (leave.py), clientstats (clients.py)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from sandbox.ring import clients, leave, syslog
from sandbox.ring.gossip import reload_seeds
from sandbox.ring.model import NTS, SIMPLE, SYSTEM_KEYSPACES, Keyspace, Ring
from sandbox.ring.node import Node

if TYPE_CHECKING:
    from sandbox.ring.cluster import ExecResult, RingSim

USAGE = "See 'nodetool help' or 'nodetool help <command>'."
NOTE_MEANINGLESS = (
    "Note: Non-system keyspaces don't have the same replication settings, "
    "effective ownership information is meaningless"
)


def stringify_size(size: float) -> str:
    """Cassandra's FileUtils.stringifyFileSize: two decimals at most, binary units."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{f'{size / scale:.2f}'.rstrip('0').rstrip('.')} {unit}"
    return f"{int(size)} bytes"


def load_of(node: Node) -> str:
    # A fresh node already holds ~70 KiB of system tables; the jitter keeps the column realistic.
    base = 70 * 1024 + int(hashlib.sha256(node.host_id.encode()).hexdigest()[:4], 16) % (40 * 1024)
    return stringify_size(base + len(json.dumps(node.data)))


def _ownership(ks: Keyspace | None, node: Node, members: list[Node]) -> float:
    if ks is None:
        return 100.0 / len(members)  # raw token ownership, spread evenly
    if ks.strategy == NTS:
        in_dc = sum(1 for m in members if m.config.dc == node.config.dc)
        rf = ks.dc_factors().get(node.config.dc, 0)
        return min(100.0, 100.0 * rf / in_dc) if in_dc else 0.0
    if ks.strategy == SIMPLE:
        return min(100.0, 100.0 * ks.total_rf() / len(members))
    return 100.0


def _shared_table(tables: list[list[list[str]]]) -> list[list[str]]:
    """TableBuilder.SharedTable: every DC's table is padded to the same column widths."""
    widths = [max(len(r[i]) for t in tables for r in t) for i in range(len(tables[0][0]))]
    return [["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in t] for t in tables]


def murmur3_token(node: Node) -> str:
    """The node's first token as Murmur3Partitioner prints it (a signed 64-bit number)."""
    return str(node.token * 16 - (1 << 63))


def _status_code(sim: RingSim, viewer: Node, m: Node) -> str:
    """Status.java: U live, D unreachable, ? neither (gossip heard of it, the echo not yet answered)."""
    if m is viewer:
        return "U"
    if m.up and m.gossip_at + sim.clock.duration("gossip_echo") > sim.clock.now():
        return "?"
    return "U" if sim.live_from(viewer)(m) else "D"


def status(sim: RingSim, node: Node, keyspace: str | None) -> tuple[int, str, str]:
    """`nodetool status [keyspace]` as Status.java prints it (4.0 to 5.0)."""
    ring = sim.rings[node.ring_id or ""]
    members = sim.members(ring.ring_id)
    note = ""
    ks: Keyspace | None = None
    if keyspace is not None:
        ks = ring.keyspaces.get(keyspace)
        if ks is None:
            return 1, "", f"nodetool: The keyspace {keyspace}, does not exist\n{USAGE}\n"
    else:
        # StorageService.effectiveOwnership: the first non-system keyspace, else system_traces.
        user = [k for n, k in ring.keyspaces.items() if n not in SYSTEM_KEYSPACES]
        if len({json.dumps(k.replication, sort_keys=True) for k in user}) > 1:
            note = NOTE_MEANINGLESS
        else:
            ks = user[0] if user else ring.keyspaces.get("system_traces")
    dcs = sorted({m.config.dc for m in members})
    # "More tokens than nodes (aka vnodes)?": Tokens column only when the ring has more tokens than DCs.
    per_token = len(dcs) >= sum(m.config.num_tokens for m in members)
    owns_header = "Owns" if note else "Owns (effective)"
    tables: list[list[list[str]]] = []
    for dc in dcs:
        head = ["--", "Address", "Load", owns_header, "Host ID", "Token", "Rack"] if per_token else [
            "--", "Address", "Load", "Tokens", owns_header, "Host ID", "Rack"]
        rows = [head]
        for m in sorted((m for m in members if m.config.dc == dc), key=lambda m: m.token):
            code = _status_code(sim, node, m) + sim.state(m)
            owns = "?" if note else f"{_ownership(ks, m, members):.1f}%"
            if per_token:
                rows.append([code, m.ip, load_of(m), owns, m.host_id, murmur3_token(m), m.config.rack])
            else:
                rows.append([code, m.ip, load_of(m), str(m.config.num_tokens), owns, m.host_id, m.config.rack])
        tables.append(rows)
    out: list[str] = []
    for dc, lines in zip(dcs, _shared_table(tables), strict=True):
        header = f"Datacenter: {dc}"
        # A blank line between DCs, and one (then any Note) after the last: out.printf("%n" + errors).
        out += [header, "=" * len(header), "Status=Up/Down", "|/ State=Normal/Leaving/Joining/Moving", *lines, ""]
    if note:
        out.append(note)
    return 0, "\n".join(out) + "\n", ""


REPAIR_FAILED = "error: Repair job has failed with the error message: "
# Two repairs over the same data at once: the second one's validation/anticompaction finds the
# sstables already taken by the first (ActiveRepairService / CompactionManager).
ALREADY_REPAIRING = "Cannot start multiple repair sessions over the same sstables"


def _repair(sim: RingSim, node: Node, params: list[str]) -> ExecResult:
    """`nodetool repair [-full] [keyspace]`: incremental unless -full; the command returns when it ends."""
    from sandbox.ring.cluster import ExecResult

    ring = sim.rings[node.ring_id or ""]
    full = any(p in ("-full", "--full") for p in params)
    positional = [p for p in params if not p.startswith("-")]
    ks = positional[0] if positional else None
    if ks is not None and ks not in ring.keyspaces:
        return ExecResult(2, "", f"error: Keyspace [{ks}] does not exist.\n")
    # ActiveRepairService.getNeighbors: only the replicas of the repaired keyspaces' ranges take part, so
    # only one of those being down fails the repair (a DC no keyspace replicates to any more does not).
    down = [m for m in sim.members(node.ring_id) if m is not node and not sim.live_from(node)(m)
            and _replicates_to(ring, ks, m.config.dc)]
    if down:
        return ExecResult(2, "", f"{REPAIR_FAILED}Endpoint not alive: /{down[0].ip}:7000\n")
    now = sim.clock.now()
    busy = [k for k, until in ring.repairs.items() if until > now and ks in (None, k)]
    if busy:
        node.note(syslog.line(now, "ERROR", "repair", f"Repair of {ks or 'all keyspaces'} refused: {ALREADY_REPAIRING}"))
        return ExecResult(2, "", f"{REPAIR_FAILED}{ALREADY_REPAIRING}\n")
    azure_s = sim.repair_seconds(node, ks)
    seconds = sim.clock.scaled(azure_s)
    label = ks or "all keyspaces"
    for k in [ks] if ks else list(ring.keyspaces):
        ring.repairs[k] = now + seconds
    sim.repair(node, ks, full)
    options = f"(parallelism: parallel, primary range: false, incremental: {str(not full).lower()})"
    node.note(syslog.line(now, "INFO", "repair",
                          f"Starting repair command #1, repairing keyspace {label} with repair options {options}"))
    out = (
        f"Starting repair command #1, repairing keyspace {label} with repair options {options}\n"
        f"Repair session for {label} finished\nRepair completed successfully\n"
        f"Repair command #1 finished in {max(1, round(azure_s))} seconds\n"
    )
    return ExecResult(0, out, "", seconds)


def _replicates_to(ring: Ring, keyspace: str | None, dc: str) -> bool:
    """Whether the repaired keyspace (every keyspace when None) keeps replicas in the DC."""
    for name, k in ring.keyspaces.items():
        if keyspace in (None, name) and (k.strategy == SIMPLE or k.dc_factors().get(dc, 0) > 0):
            return True
    return False


# Rebuild.java's options that take a value (keyspace, tokens, sources); `--` ends the options.
REBUILD_VALUED = ("-ks", "--keyspace", "-ts", "--tokens", "-s", "--sources")


def _rebuild(sim: RingSim, node: Node, args: list[str]) -> ExecResult:
    """`nodetool rebuild [-ks ks] [--] [<src-dc-name>]`: stream this node's ranges from the DC (any DC when
    none is named); StorageService.rebuild refuses a DC the ring does not know. Returns when it ends."""
    from sandbox.ring.cluster import ExecResult

    positional: list[str] = []
    keyspace: str | None = None
    it = iter(args)
    for a in it:
        if a == "--":
            positional += list(it)
        elif a in REBUILD_VALUED:
            value = next(it, None)
            keyspace = value if a in ("-ks", "--keyspace") else keyspace
        elif not a.startswith("-"):
            positional.append(a)
    src = positional[0] if positional else None
    members = sim.members(node.ring_id)
    known = sorted({m.config.dc for m in members})
    if src is not None and src not in known:
        return ExecResult(2, "", f"error: Provided datacenter '{src}' is not a valid datacenter, available "
                          f"datacenters are: {','.join(known)}\n")
    if src is not None and not any(m.config.dc == src and sim.live_from(node)(m) for m in members if m is not node):
        return ExecResult(2, "", f"error: Unable to find sufficient sources for streaming from DC {src}\n")
    copied = sim.rebuild(node, src, keyspace)
    node.note(f"INFO rebuild from dc: {src or '(any dc)'}, (All keyspaces), (All tokens): {copied} partitions")
    return ExecResult(0, "", "", sim.clock.duration("node_bootstrap"))


def run(sim: RingSim, node: Node, args: list[str]) -> ExecResult:
    from sandbox.ring.cluster import JMX_DOWN, ExecResult

    # Connection flags address JMX; in a pod it is always the local node.
    rest: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a in ("-h", "--host", "-p", "--port", "-u", "--username", "-pw", "--password", "-pwf"):
            skip = True
        else:
            rest.append(a)
    if not rest:
        return ExecResult(1, "", f"nodetool: No command given\n{USAGE}\n")
    if not node.up or node.ring_id not in sim.rings:
        return ExecResult(1, "", JMX_DOWN + "\n")
    cmd, params = rest[0], [p for p in rest[1:] if p != "--"]
    if cmd == "status":
        positional = [p for p in params if not p.startswith("-")]
        rc, out, err = status(sim, node, positional[0] if positional else None)
        return ExecResult(rc, out, err)
    if cmd == "version":
        return ExecResult(0, "ReleaseVersion: 5.0.2\n", "")
    if cmd == "describecluster":
        ring = sim.rings[node.ring_id or ""]
        text = (
            f"Cluster Information:\n\tName: {ring.cluster_name}\n\tSnitch: "
            f"org.apache.cassandra.locator.{node.config.snitch}\n\tDynamicEndPointSnitch: enabled\n"
            "\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner\n"
        )
        return ExecResult(0, text, "")
    if cmd == "repair":
        return _repair(sim, node, params)
    if cmd == "reloadseeds":
        return ExecResult(0, reload_seeds(sim, node), "")
    if cmd == "rebuild":
        return _rebuild(sim, node, rest[1:])
    if cmd == "decommission":
        return leave.decommission(sim, node, force=any(p in ("-f", "--force") for p in params))
    if cmd == "cleanup":
        return leave.cleanup(sim, node)
    if cmd == "clientstats":
        return clients.clientstats(node, params)
    if cmd == "removenode" and params:
        return leave.removenode(sim, node, params[-1])
    return ExecResult(1, "", f"nodetool: Found unexpected parameters: [{cmd}]\n{USAGE}\n")
