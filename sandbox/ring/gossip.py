"""Gossip between rings: two rings of one cluster name become one once a node reaches a seed of the other.

What the sources say (apache/cassandra 4.0/4.1, src/java/org/apache/cassandra/gms/):
- Gossiper.GossipTask runs every second (intervalInMillis = 1000) and sends a SYN to a live member, maybe
  to an unreachable one, and (maybeGossipToSeed) to a seed of its `seeds` set: the addresses the seed
  provider gave when gossip started (buildSeedsList in Gossiper.start and doShadowRound). SimpleSeedProvider
  resolves each name then; a name that did not resolve is dropped with a warning and is not retried. Only
  `nodetool reloadseeds` (JMX Gossiper.reloadSeeds, nothing periodic) or a restart reads the list again.
- GossipDigestSynVerbHandler drops a SYN whose cluster name (or partitioner) differs from its own and logs
  "ClusterName mismatch from <from> <theirs>!=<mine>"; any other SYN is answered, and the two sides
  exchange every endpoint state they know, transitively: the two rings are one gossip cluster from then on.
- StorageService.handleStateNormal adds each newly heard node's tokens to TokenMetadata: no data is
  streamed, so every range gains replicas from the other half that never received its rows (reads there
  miss them until repair). Schema converges through MigrationCoordinator (mutations merged, newest wins).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from sandbox.ring import syslog
from sandbox.ring.model import Ring
from sandbox.ring.node import Node

if TYPE_CHECKING:
    from sandbox.ring.cluster import RingSim

GOSSIP_INTERVAL_S = 1.0  # Gossiper.intervalInMillis, in Cassandra (= Azure) seconds before scaling


def resolve_seeds(sim: RingSim, node: Node) -> list[tuple[str, str, str]]:
    """SimpleSeedProvider.getSeeds as the node runs it now: (seed, address, how nodetool prints it).

    A seed given by name prints as `name/ip:7000` (InetAddress keeps the name), one given as an address
    as `/ip:7000`. Names that do not resolve are left out, with the provider's warning in the log.
    """
    out = []
    for seed in node.config.seeds:
        try:
            ipaddress.ip_address(seed)
            ip: str | None = seed
            shown = syslog.endpoint(seed)
        except ValueError:
            ip = sim.network.resolve(node.ip, seed)
            shown = f"{seed}/{ip}:{syslog.STORAGE_PORT}"
        if ip is None:
            node.note(syslog.line(sim.clock.now(), "WARN", "seeds", f"Seed provider couldn't lookup host {seed}"))
            continue
        out.append((seed, ip, shown))
    return out


def remember_seeds(node: Node, resolved: list[tuple[str, str, str]]) -> bool:
    """Gossiper.buildSeedsList / reloadSeeds: the other seeds' addresses; False (kept as is) when none."""
    fresh = {ip: shown for _, ip, shown in resolved if ip != node.ip}
    if not fresh:
        return False
    node.seed_ips, node.seed_names = list(fresh), list(fresh.values())
    return True


def reload_seeds(sim: RingSim, node: Node) -> str:
    """`nodetool reloadseeds`: Gossiper.reloadSeeds then ReloadSeeds' output."""
    remember_seeds(node, resolve_seeds(sim, node))  # an empty new list leaves the old one in place
    if not node.seed_ips:
        return "Seed node list does not contain any remote node IPs\n"
    sim.gossip(force=True)
    return "Updated seed node IP list, excluding the current node's IP: " + " ".join(node.seed_names) + "\n"


def _contacts(sim: RingSim) -> list[tuple[Node, Node]]:
    """(sender, seed) pairs where a running node's known seed runs in another ring and answers."""
    out = []
    for x in sim.nodes.values():
        if not x.up or x.ring_id not in sim.rings:
            continue
        for ip in x.seed_ips:
            y = sim.node_at(ip)
            if (
                y is not None
                and y.ring_id in sim.rings
                and y.ring_id != x.ring_id
                and sim.network.reachable(x.ip, y.ip)
                and sim.network.reachable(y.ip, x.ip)  # the ACK has to come back
            ):
                out.append((x, y))
    return out


def gossip_round(sim: RingSim) -> None:
    """Merge every pair of same-named rings that gossip now connects; log refused SYNs once per pair."""
    if len(sim.rings) < 2:
        sim.mismatch_warned.clear()
        return
    warned: set[tuple[str, str]] = set()
    merged = True
    while merged:
        merged = False
        for x, y in _contacts(sim):
            if x.config.cluster_name != y.config.cluster_name:
                pair = (x.node_id, y.node_id)
                if pair not in sim.mismatch_warned:
                    y.note(syslog.cluster_name_mismatch(
                        sim.clock.now(), x.ip, x.config.cluster_name, y.config.cluster_name))
                warned.add(pair)
                continue
            merge(sim, sim.rings[x.ring_id or ""], sim.rings[y.ring_id or ""])
            merged = True
            break
    sim.mismatch_warned = warned


def merge(sim: RingSim, keep: Ring, gone: Ring) -> None:
    """`gone` joins `keep`: members and schema united, every node's data left where it is."""
    now = sim.clock.now()
    old, new = sim.members(keep.ring_id), sim.members(gone.ring_id)
    older, newer = (keep, gone) if keep.last_ts <= gone.last_ts else (gone, keep)
    keyspaces = dict(older.keyspaces)
    for name, ks in newer.keyspaces.items():  # schema cells merge by timestamp: the newer definition wins
        if name in keyspaces:
            ks.tables = {**keyspaces[name].tables, **ks.tables}
        keyspaces[name] = ks
    keep.keyspaces = keyspaces
    keep.members += [m for m in gone.members if m not in keep.members]
    keep.last_ts = max(keep.last_ts, gone.last_ts)
    keep.repairs = {**gone.repairs, **keep.repairs}
    for node in new:
        node.ring_id = keep.ring_id
    del sim.rings[gone.ring_id]
    for a in old:
        live = sim.live_from(a)
        for b in new:
            if a.up and live(b):
                a.note(*syslog.joined(now, b.ip))
                b.note(*syslog.joined(now, a.ip))
