"""RingSim: every simulated Cassandra node of the sandbox world, the rings they form, and exec."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.clock import AZURE_DURATIONS, Clock
from sandbox.ring import storage, syslog
from sandbox.ring.auth import SUPERUSER_SETUP_DELAY_S, default_role_cells
from sandbox.ring.consistency import Coordinator, Unavailable, replicas
from sandbox.ring.gossip import GOSSIP_INTERVAL_S, gossip_round, remember_seeds, resolve_seeds
from sandbox.ring.image import DEFAULT_IMAGE
from sandbox.ring.model import Ring, system_keyspaces
from sandbox.ring.network import Network
from sandbox.ring.node import Conf, Node, parse_config

JMX_DOWN = "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'."


@dataclass
class ExecResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0  # how long the command runs (real seconds) before it answers


class RingSim:
    """All nodes keyed by "<k8s-cluster>/<namespace>/<pod>"; rings keyed by an opaque id."""

    def __init__(self, network: Network, clock: Clock | None = None) -> None:
        self.network = network
        self.clock = clock or Clock(time_scale=0.0)
        self.nodes: dict[str, Node] = {}
        self.rings: dict[str, Ring] = {}
        self.repair_slowdown = 1.0  # fault injection: every repair takes this many times longer
        self.gossip_due = 0.0  # clock time of the next gossip round between rings
        self.mismatch_warned: set[tuple[str, str]] = set()  # (sender, seed) SYNs refused and logged

    # ---- queries -------------------------------------------------------------------------------

    def members(self, ring_id: str | None) -> list[Node]:
        ring = self.rings.get(ring_id or "")
        return [self.nodes[m] for m in ring.members if m in self.nodes] if ring else []

    def ring_of(self, node_id: str) -> Ring | None:
        node = self.nodes.get(node_id)
        return self.rings.get(node.ring_id or "") if node else None

    def node_at(self, ip: str) -> Node | None:
        """The running node listening on this address, if any."""
        for n in self.nodes.values():
            if n.ip == ip and n.up:
                return n
        return None

    def live_from(self, node: Node) -> Callable[[Node], bool]:
        """Whether `node` sees another node as up: it runs and packets get through."""
        return lambda other: other.up and self.network.reachable(node.ip, other.ip)

    def state(self, node: Node) -> str:
        return "J" if node.joining_until > self.clock.now() else "N"

    def is_ready(self, node_id: str) -> bool:
        node = self.nodes.get(node_id)
        return bool(node and node.up and node.ring_id and self.state(node) == "N")

    def coordinator(self, node: Node) -> Coordinator:
        return Coordinator(node, self.members(node.ring_id), self.live_from(node), self.clock.now())

    def next_ts(self, ring: Ring) -> int:
        ring.last_ts = max(int(self.clock.now() * 1_000_000), ring.last_ts + 1)
        return ring.last_ts

    def logs(self, node_id: str) -> list[str]:
        node = self.nodes.get(node_id)
        return list(node.log) if node else []

    # ---- lifecycle -----------------------------------------------------------------------------

    def start_node(
        self, node_id: str, ip: str, env: dict[str, str], conf: Conf, image: str = DEFAULT_IMAGE
    ) -> str | None:
        """Start (or restart) the JVM of a node. None when it runs; else the crash message.

        `conf` is the container's /etc/cassandra as `parse_config` takes it.
        """
        try:
            config = parse_config(ip, env, conf, image)
        except ValueError as e:
            # CassandraDaemon.activate's words for a start-up failure (sed's own when the entrypoint failed).
            message = str(e)
            if message.startswith("sed:"):
                return self._crash(node_id, message)
            return self._crash(node_id, "Exception (org.apache.cassandra.exceptions.ConfigurationException) "
                               f"encountered during startup: {message}")
        node = self.nodes.get(node_id)
        if node is not None and node.ring_id in self.rings:
            if node.config.dc != config.dc:
                return self._crash(
                    node_id,
                    f"Cannot start node if snitch's data center ({config.dc}) differs from previous data "
                    f"center ({node.config.dc}). Please fix the snitch configuration, decommission and "
                    "rebootstrap this node",
                )
            node.ip, node.config = ip, config
            node.note(*syslog.startup(self.clock.now()))
            return self._gossip_after(self._restart(node))
        node = Node(node_id, ip, config)
        self.nodes[node_id] = node
        node.note(*syslog.startup(self.clock.now()))
        return self._gossip_after(self._bootstrap(node))

    def _gossip_after(self, crash: str | None) -> str | None:
        if crash is None:  # a running node gossips at once with the seeds it resolved
            self.gossip(force=True)
        return crash

    def gossip(self, force: bool = False) -> None:
        """A gossip round between rings (see gossip.py), at most once per gossip interval unless forced.

        Called when a node starts, on every exec (lazily, like the role setups) and when the world
        heals a partition; cheap when each cluster name has one ring.
        """
        now = self.clock.now()
        if not force and now < self.gossip_due:
            return
        self.gossip_due = now + self.clock.scaled(GOSSIP_INTERVAL_S)
        with self.network.steady():
            gossip_round(self)

    def _crash(self, node_id: str, message: str) -> str:
        node = self.nodes.get(node_id)
        if node is not None:
            node.up = False
            node.note(syslog.line(self.clock.now(), "ERROR", "daemon", f"Exception encountered during startup: {message}"))
        return message

    def _seeds(self, node: Node) -> tuple[bool, list[Node], list[str]]:
        """(am I a seed, live reachable seed nodes in list order, why each other seed was not usable).

        Also Gossiper.buildSeedsList: the addresses resolved now are the node's seeds until it restarts.
        """
        is_seed, found, why = False, [], []
        resolved = resolve_seeds(self, node)
        node.seed_ips, node.seed_names = [], []
        remember_seeds(node, resolved)
        addresses = {seed: ip for seed, ip, _ in resolved}
        for seed in node.config.seeds:
            ip = addresses.get(seed)
            if ip is None:
                why.append(f"{seed}: name does not resolve from {node.ip}")
                continue
            if ip == node.ip:
                is_seed = True
                continue
            if ipaddress.ip_address(ip).is_loopback:  # the stock file's 127.0.0.1: this pod's own loopback
                why.append(f"{seed}: loopback, where this node does not listen")
                continue
            if not self.network.reachable(node.ip, ip):
                why.append(f"{seed} ({ip}): unreachable from {node.ip}")
                continue
            other = self.node_at(ip)
            if other is None or other.ring_id is None:
                why.append(f"{seed} ({ip}): no Cassandra node running there")
            elif other.config.cluster_name != node.config.cluster_name:
                # GossipDigestSynVerbHandler drops the SYN and says so in the seed's log.
                other.note(syslog.cluster_name_mismatch(
                    self.clock.now(), node.ip, node.config.cluster_name, other.config.cluster_name))
                why.append(f"{seed} ({ip}): ClusterName mismatch ({other.config.cluster_name!r})")
            else:
                found.append(other)
        return is_seed, found, why

    def _bootstrap(self, node: Node) -> str | None:
        is_seed, seeds, why = self._seeds(node)
        if seeds:
            ring = self.rings[seeds[0].ring_id or ""]
            members = self.members(ring.ring_id)
            joining = [m for m in members if m.up and self.state(m) == "J"]
            # StorageService.shouldBootstrap: auto_bootstrap and not a seed (and not bootstrapped before).
            bootstraps = not is_seed and node.config.auto_bootstrap
            if bootstraps and joining:
                # StorageService.prepareForBootstrap with cassandra.consistent.rangemovement=true.
                return self._crash(
                    node.node_id,
                    "Exception (java.lang.UnsupportedOperationException) encountered during startup: "
                    "Other bootstrapping/leaving/moving nodes detected, cannot bootstrap while "
                    "cassandra.consistent.rangemovement is true. Nodes detected, bootstrapping: "
                    f"{','.join(f'/{m.ip}:7000' for m in joining)}; leaving: ; moving: ;",
                )
            ring.members.append(node.node_id)
            node.ring_id, node.up, node.gossip_at = ring.ring_id, True, self.clock.now()
            self._gossip_up(node)
            if bootstraps:  # seeds and auto_bootstrap: false never stream; others do and stay UJ a while
                node.joining_until = self.clock.now() + self.clock.duration("node_bootstrap")
                node.note(syslog.line(self.clock.now(), "INFO", "storage", "JOINING: Starting to bootstrap..."))
                self._stream_to(node, None)
            self._schedule_role_setup(node)
            node.note(*syslog.serving(self.clock.now()))
            return None
        if not is_seed:
            detail = "; ".join(why) or "no seeds configured"
            node.note(*syslog.no_seeds(self.clock.now(), node.config.seeds))
            node.up = False
            return f"Unable to contact any seeds! ({detail})"
        ring = Ring(ring_id=str(uuid.uuid4()), cluster_name=node.config.cluster_name)
        ring.keyspaces = system_keyspaces()
        ring.members.append(node.node_id)
        self.rings[ring.ring_id] = ring
        node.ring_id, node.up = ring.ring_id, True
        self._schedule_role_setup(node)
        node.note(*syslog.serving(self.clock.now()))
        return None

    def _restart(self, node: Node) -> str | None:
        is_seed, seeds, why = self._seeds(node)
        if not is_seed and not seeds:
            # Gossiper.doShadowRound: no seed answered (a seed of another ring of this name would do:
            # the rings then merge, see gossip.py).
            return self._crash(node.node_id, f"Unable to gossip with any peers ({'; '.join(why)})")
        node.up = True
        self._gossip_up(node)
        self._schedule_role_setup(node)
        node.note(*syslog.serving(self.clock.now()))
        return None

    def _gossip_up(self, node: Node) -> None:
        """Each live peer and this node learn of each other through gossip."""
        now = self.clock.now()
        live = self.live_from(node)
        for peer in self.members(node.ring_id):
            if peer is not node and live(peer):
                node.note(*syslog.joined(now, peer.ip))
                peer.note(*syslog.joined(now, node.ip))

    def stop_node(self, node_id: str) -> None:
        node = self.nodes.get(node_id)
        if node is not None and node.up:
            node.up = False
            node.clients = []  # the JVM's sockets close with it; a driver reconnects to another node
            node.note(syslog.line(self.clock.now(), "INFO", "shutdown", "Announcing shutdown"))

    def remove_node(self, node_id: str) -> None:
        """Forget the node (volume deleted / removenode): it leaves its ring's membership."""
        node = self.nodes.pop(node_id, None)
        ring = self.rings.get(node.ring_id or "") if node else None
        if ring is not None:
            ring.members = [m for m in ring.members if m != node_id]
            if not ring.members:
                del self.rings[ring.ring_id]

    # ---- data movement -------------------------------------------------------------------------

    def _stream_to(self, node: Node, source_dc: str | None, keyspace: str | None = None) -> int:
        """Copy every partition this node replicates from live peers (bootstrap, rebuild, repair)."""
        ring = self.rings[node.ring_id or ""]
        members = self.members(ring.ring_id)
        live = self.live_from(node)
        peers = [m for m in members if m is not node and live(m) and source_dc in (None, m.config.dc)]
        copied = 0
        for ks_name, ks in ring.keyspaces.items():
            if keyspace not in (None, ks_name):
                continue
            for table in ks.tables:
                keys = {k for p in peers for k in p.data.get(ks_name, {}).get(table, {})}
                for key in keys:
                    if node not in replicas(ks, key, members):
                        continue
                    held = node.data.setdefault(ks_name, {}).setdefault(table, {})
                    merged = held.get(key)
                    for p in peers:
                        merged = storage.merge(merged, p.data.get(ks_name, {}).get(table, {}).get(key))
                    if merged is not None and merged != held.get(key):
                        held[key] = merged
                        copied += 1
        return copied

    def repair(self, node: Node, keyspace: str | None, full: bool) -> int:
        """Anti-entropy repair of this node's ranges: its live replicas end with the merged data.

        Full: every copy takes part. Incremental (nodetool's default): only copies not yet marked
        repaired on their replica do, and afterwards every replica marks what it holds as repaired,
        so data repaired once is never streamed again, even to a replica that a replication change
        added later (Cassandra docs, "Incremental and Full Repairs").
        """
        ring = self.rings[node.ring_id or ""]
        members = self.members(ring.ring_id)
        live = self.live_from(node)
        sources = [m for m in members if m is node or live(m)]
        copied = 0
        for ks_name, ks in ring.keyspaces.items():
            if keyspace not in (None, ks_name):
                continue
            for table in ks.tables:
                for key in {k for m in sources for k in m.data.get(ks_name, {}).get(table, {})}:
                    owners = [r for r in replicas(ks, key, members) if r in sources]
                    if node not in owners:
                        continue
                    mark = f"{ks_name}/{table}/{key}"
                    merged = None
                    for m in sources:
                        part = m.data.get(ks_name, {}).get(table, {}).get(key)
                        if part is not None and (full or storage.newest(part) > m.repaired.get(mark, -1)):
                            merged = storage.merge(merged, part)
                    if merged is None:
                        continue
                    for r in owners:
                        held = r.data.setdefault(ks_name, {}).setdefault(table, {})
                        new = storage.merge(held.get(key), merged)
                        if new != held.get(key):
                            held[key] = new
                            copied += 1
                        if not full and new is not None:
                            r.repaired[mark] = storage.newest(new)
        return copied

    def repair_seconds(self, node: Node, keyspace: str | None) -> float:
        """Length of a repair in Azure seconds: a session, plus the data compared and the DCs it crosses."""
        ring = self.rings[node.ring_id or ""]
        members = self.members(ring.ring_id)
        names = [k for k in ring.keyspaces if keyspace in (None, k)]
        size = sum(len(json.dumps(m.data.get(k, {}))) for m in members for k in names)
        remote = {m.config.dc for m in members} - {node.config.dc}
        return self.repair_slowdown * (
            AZURE_DURATIONS["repair_session"]
            + AZURE_DURATIONS["repair_per_mib"] * size / (1 << 20)
            + AZURE_DURATIONS["repair_per_remote_dc"] * len(remote)
        )

    def rebuild(self, node: Node, source_dc: str | None, keyspace: str | None = None) -> int:
        """`nodetool rebuild`: the node streams every range it replicates from the source DC's live nodes."""
        return self._stream_to(node, source_dc, keyspace)

    def _schedule_role_setup(self, node: Node) -> None:
        node.role_setup_at = self.clock.now() + self.clock.scaled(SUPERUSER_SETUP_DELAY_S) if node.config.auth else 0.0
        self.run_due_role_setups()

    def run_due_role_setups(self) -> None:
        """Run the role managers' setup tasks whose time has come (read lazily, on the simulated clock)."""
        now = self.clock.now()
        for node in self.nodes.values():
            if node.up and node.role_setup_at and node.role_setup_at <= now:
                node.role_setup_at = 0.0
                if not self._ensure_default_role(node):  # the real task retries after the same delay
                    node.role_setup_at = now + self.clock.scaled(SUPERUSER_SETUP_DELAY_S)

    def _ensure_default_role(self, node: Node) -> bool:
        """CassandraRoleManager.setupDefaultRole: create cassandra/cassandra when no role is found.

        Like the real check it looks only where reads look (replicas, at ONE then QUORUM), so a role
        left on a node that no longer owns its range does not count, and the default comes back.
        """
        if not node.config.auth:
            return True
        ring = self.rings[node.ring_id or ""]
        coord = self.coordinator(node)
        ks = ring.keyspaces["system_auth"]
        key = json.dumps("cassandra")
        try:
            if coord.read("system_auth", ks, "roles", key, "ONE") is not None:
                return True
            if any(coord.read("system_auth", ks, "roles", k, "QUORUM") for k in coord.keys("system_auth", "roles")):
                return True
            cells = default_role_cells()
            # Real Cassandra writes it USING TIMESTAMP 0 so that any later ALTER ROLE wins.
            coord.write("system_auth", ks, "roles", key, lambda p: storage.write(p, cells, 0, None), "QUORUM")
        except Unavailable:
            return False
        node.note(syslog.line(self.clock.now(), "INFO", "roles", "Created default superuser role 'cassandra'"))
        return True

    # ---- exec and state ------------------------------------------------------------------------

    def exec(self, node_id: str, argv: list[str], env: dict[str, str]) -> ExecResult:
        from sandbox.ring.commands import run_command  # commands import this module for types

        node = self.nodes.get(node_id)
        if node is None:
            return ExecResult(126, "", f"container for {node_id} is not running\n")
        self.gossip()
        self.run_due_role_setups()
        return run_command(self, node, argv, env)

    def dump(self) -> dict[str, Any]:
        return {
            "nodes": {k: n.to_dict() for k, n in self.nodes.items()},
            "rings": {k: r.to_dict() for k, r in self.rings.items()},
        }

    def load(self, state: dict[str, Any]) -> None:
        self.nodes = {k: Node.from_dict(v) for k, v in state.get("nodes", {}).items()}
        self.rings = {k: Ring.from_dict(v) for k, v in state.get("rings", {}).items()}
