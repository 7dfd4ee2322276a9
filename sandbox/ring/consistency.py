"""Replica placement and consistency levels: who holds a key, who must answer, what a read returns."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.ring import storage
from sandbox.ring.model import NTS, SIMPLE, Keyspace
from sandbox.ring.node import Node

LEVELS = ("ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")


class Unavailable(Exception):
    """Not enough live replicas: raised before anything is written (a simplification of real C*)."""

    def __init__(self, level: str, required: int, alive: int) -> None:
        super().__init__(f"Cannot achieve consistency level {level}")
        self.level, self.required, self.alive = level, required, alive


def _score(key: str, node: Node) -> str:
    # Rendezvous hashing: each key picks its replicas independently of join order, so adding a node
    # moves only the keys it now wins (like token ranges moving to a bootstrapping node).
    return hashlib.sha256(f"{key}|{node.host_id}".encode()).hexdigest()


def replicas(ks: Keyspace, key: str, members: list[Node]) -> list[Node]:
    """All replicas of a partition key in this ring, per the keyspace's replication."""
    ranked = sorted(members, key=lambda n: _score(key, n), reverse=True)
    if ks.strategy == SIMPLE:
        return ranked[: ks.total_rf()]
    if ks.strategy != NTS:
        return []
    out: list[Node] = []
    for dc, rf in ks.dc_factors().items():
        out.extend([n for n in ranked if n.config.dc == dc][:rf])
    return out


def _rf_by_dc(ks: Keyspace, reps: list[Node]) -> dict[str, int]:
    if ks.strategy == NTS:
        return {dc: rf for dc, rf in ks.dc_factors().items() if rf > 0}
    dcs: dict[str, int] = {}
    for n in reps:
        dcs[n.config.dc] = dcs.get(n.config.dc, 0) + 1
    return dcs


def _local_rf(ks: Keyspace, dc: str) -> int:
    # Cassandra's localQuorumFor: the DC's factor under NTS, the whole factor otherwise.
    return ks.dc_factors().get(dc, 0) if ks.strategy == NTS else ks.total_rf()


def quorum(rf: int) -> int:
    return rf // 2 + 1


def select_contacts(
    level: str, ks: Keyspace, coord: Node, reps: list[Node], live: Callable[[Node], bool]
) -> list[Node]:
    """The replicas that must answer at this level (local DC first); raises Unavailable."""
    alive = sorted(
        (n for n in reps if live(n)), key=lambda n: (n.config.dc != coord.config.dc, n is not coord, n.token)
    )
    local = [n for n in alive if n.config.dc == coord.config.dc]
    total = ks.total_rf()
    if level == "EACH_QUORUM" and ks.strategy == NTS:
        chosen: list[Node] = []
        for dc, rf in sorted(_rf_by_dc(ks, reps).items()):
            in_dc = [n for n in alive if n.config.dc == dc]
            if len(in_dc) < quorum(rf):
                raise Unavailable(level, quorum(rf), len(in_dc))
            chosen.extend(in_dc[: quorum(rf)])
        return chosen
    need: dict[str, int] = {
        "ANY": 1,
        "ONE": 1,
        "TWO": 2,
        "THREE": 3,
        "QUORUM": quorum(total),
        "EACH_QUORUM": quorum(total),  # SimpleStrategy: Cassandra treats it as QUORUM
        "ALL": total,
        "LOCAL_ONE": 1,
        "LOCAL_QUORUM": quorum(_local_rf(ks, coord.config.dc)),
    }
    required = need[level]
    pool = local if level.startswith("LOCAL_") else alive
    if len(pool) < required:
        raise Unavailable(level, required, len(pool))
    return pool[:required]


@dataclass
class Coordinator:
    """A node acting for a client: knows the ring members and which of them it can talk to now."""

    node: Node
    members: list[Node]
    live: Callable[[Node], bool]
    now: float

    def write(self, ks_name: str, ks: Keyspace, table: str, key: str, apply: Callable[[Any], Any], level: str) -> None:
        """Apply a mutation to every live replica, after checking the level can be met."""
        reps = replicas(ks, key, self.members)
        select_contacts(level, ks, self.node, reps, self.live)
        for n in reps:
            if self.live(n):
                part = n.data.setdefault(ks_name, {}).setdefault(table, {})
                part[key] = apply(part.get(key))

    def read(self, ks_name: str, ks: Keyspace, table: str, key: str, level: str) -> dict[str, Any] | None:
        """Merge what the contacted replicas hold; repair the contacted ones when they disagree."""
        reps = replicas(ks, key, self.members)
        contacts = select_contacts(level, ks, self.node, reps, self.live)
        versions = [n.data.get(ks_name, {}).get(table, {}).get(key) for n in contacts]
        merged: storage.Partition | None = None
        for v in versions:
            merged = storage.merge(merged, v)
        if merged is not None and len(contacts) > 1 and any(v != merged for v in versions):
            for n in contacts:  # blocking read repair, as Cassandra does on a digest mismatch
                n.data.setdefault(ks_name, {}).setdefault(table, {})[key] = merged
        return storage.visible(merged, self.now)

    def keys(self, ks_name: str, table: str) -> list[str]:
        """Every partition key any live node holds for the table (for an unrestricted SELECT)."""
        found: set[str] = set()
        for n in self.members:
            if self.live(n):
                found.update(n.data.get(ks_name, {}).get(table, {}))
        return sorted(found)
