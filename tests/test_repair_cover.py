"""The repairs configure_auth runs reach every replica: checked on the simulated ring, not assumed."""

from __future__ import annotations

import pytest

from multidc_core.cql import repair_cover
from sandbox.ring.consistency import replicas
from sandbox.ring.testing import World, make_world

ROWS = 60


def moved_keyspace(nodes: int, rf: int) -> World:
    """A keyspace written while it lived on one replica, then given `rf` replicas in each of two DCs."""
    world = make_world(nodes=nodes)
    assert set(world.start().values()) == {None}
    pod = world.pod("dc1")
    create = (
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}; "
        "CREATE TABLE ks.t (id text PRIMARY KEY, v text);"
    )
    assert world.cql(pod, create).returncode == 0
    inserts = " ".join(f"INSERT INTO ks.t (id, v) VALUES ('k{i}', 'v{i}');" for i in range(ROWS))  # noqa: S608
    assert world.cql(pod, inserts).returncode == 0
    alter = f"ALTER KEYSPACE ks WITH replication = {{'class': 'NetworkTopologyStrategy', 'dc1': {rf}, 'dc2': {rf}}}"
    assert world.cql(pod, alter).returncode == 0
    return world


def repair(world: World, dc: str, count: int) -> None:
    for p in world.dc_pods(dc)[:count]:
        res = world.sim.exec(p.node_id, ["nodetool", "repair", "ks"], p.env)
        assert res.returncode == 0, res.stderr


def missing(world: World) -> list[tuple[str, str]]:
    """(key, node) for every replica that does not hold its row."""
    members = world.sim.members(world.sim.nodes[world.pod("dc1").node_id].ring_id)
    ks = world.sim.rings[members[0].ring_id or ""].keyspaces["ks"]
    keys = {k for m in members for k in m.data.get("ks", {}).get("t", {})}
    assert len(keys) == ROWS
    return [
        (k, r.ip) for k in sorted(keys) for r in replicas(ks, k, members) if k not in r.data.get("ks", {}).get("t", {})
    ]


@pytest.mark.parametrize(("nodes", "rf"), [(3, 3), (5, 2), (6, 3)])
def test_the_chosen_repairs_leave_every_replica_in_every_dc_holding_its_rows(nodes: int, rf: int) -> None:
    world = moved_keyspace(nodes, rf)
    assert missing(world)  # the ALTER moved no data: the new replicas are empty until repaired
    dc, count = repair_cover({"dc1": nodes, "dc2": nodes}, {"dc1": rf, "dc2": rf})
    assert count == (1 if rf >= nodes else nodes)
    repair(world, dc, count)
    assert missing(world) == []


def test_one_node_is_not_enough_where_it_does_not_hold_every_range() -> None:
    world = moved_keyspace(5, 2)
    repair(world, "dc2", 1)
    assert missing(world)


def test_the_dc_needing_fewest_repairs_is_chosen() -> None:
    assert repair_cover({"big": 9, "small": 3}, {"big": 3, "small": 3}) == ("small", 1)
    assert repair_cover({"a": 6, "b": 4}, {"a": 3, "b": 3}) == ("b", 4)
