"""A ring's shared state: members and schema (keyspaces, tables), kept as plain JSON-able data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

NTS = "org.apache.cassandra.locator.NetworkTopologyStrategy"
SIMPLE = "org.apache.cassandra.locator.SimpleStrategy"
LOCAL = "org.apache.cassandra.locator.LocalStrategy"
LOCAL_KEYSPACES = ("system", "system_schema")  # never replicated, never alterable
SYSTEM_KEYSPACES = (*LOCAL_KEYSPACES, "system_auth", "system_distributed", "system_traces")
ROLES_COLUMNS = {
    "role": "text",
    "can_login": "boolean",
    "is_superuser": "boolean",
    "member_of": "set<text>",
    "salted_hash": "text",
}


@dataclass
class Table:
    columns: dict[str, str]  # name -> CQL type, in declaration order
    key: str  # the (single-column) partition key


@dataclass
class Keyspace:
    replication: dict[str, str]  # as system_schema.keyspaces shows it: 'class' plus string options
    tables: dict[str, Table] = field(default_factory=dict)
    durable_writes: bool = True

    @property
    def strategy(self) -> str:
        return self.replication["class"]

    def dc_factors(self) -> dict[str, int]:
        """NetworkTopologyStrategy: rf per DC. Empty for other strategies."""
        if self.strategy != NTS:
            return {}
        return {dc: int(rf) for dc, rf in self.replication.items() if dc != "class"}

    def total_rf(self) -> int:
        if self.strategy == SIMPLE:
            return int(self.replication.get("replication_factor", "1"))
        return sum(self.dc_factors().values())


@dataclass
class Ring:
    """One gossip ring. Several can share a cluster name (a split) until gossip joins them (gossip.py)."""

    ring_id: str
    cluster_name: str
    members: list[str] = field(default_factory=list)  # node ids, in join order
    keyspaces: dict[str, Keyspace] = field(default_factory=dict)
    last_ts: int = 0  # write timestamps (microseconds) are strictly increasing per ring
    repairs: dict[str, float] = field(default_factory=dict)  # keyspace -> clock time its repair ends

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ring:
        d = dict(d)
        d["keyspaces"] = {
            name: Keyspace(
                replication=ks["replication"],
                tables={t: Table(**td) for t, td in ks["tables"].items()},
                durable_writes=ks.get("durable_writes", True),
            )
            for name, ks in d["keyspaces"].items()
        }
        return cls(**d)


def system_keyspaces() -> dict[str, Keyspace]:
    """The keyspaces a fresh ring has, with the replication real Cassandra gives them."""
    return {
        "system": Keyspace({"class": LOCAL}),
        "system_schema": Keyspace({"class": LOCAL}),
        "system_auth": Keyspace(
            {"class": SIMPLE, "replication_factor": "1"},
            tables={"roles": Table(dict(ROLES_COLUMNS), "role")},
        ),
        "system_distributed": Keyspace({"class": SIMPLE, "replication_factor": "3"}),
        "system_traces": Keyspace({"class": SIMPLE, "replication_factor": "2"}),
    }
