"""Nodes leaving a ring in the sandbox: decommission streams ranges away, removenode restores them from the
other replicas, cleanup drops what a node no longer owns, and a DC's last replicas die with its nodes."""

from __future__ import annotations

from sandbox.ring.testing import Pod, World, make_world

ROWS = 40


def four_nodes_with_rows(rf: int = 2) -> World:
    """dc1 of 4 nodes (one DC) holding ROWS rows in ks at replication `rf`."""
    world = make_world(dcs=("dc1",), nodes=4, racks=1)
    assert set(world.start().values()) == {None}
    create = ("CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': " + str(rf) + "}; "
              "CREATE TABLE ks.t (id text PRIMARY KEY);")
    inserts = " ".join(f"INSERT INTO ks.t (id) VALUES ('k{i}');" for i in range(ROWS))  # noqa: S608
    res = world.cql(world.pod("dc1"), create + " CONSISTENCY LOCAL_QUORUM; " + inserts)
    assert res.returncode == 0, res.stderr
    return world


def nodetool(world: World, pod: Pod, *args: str) -> tuple[int, str, str]:
    res = world.sim.exec(pod.node_id, ["nodetool", *args], pod.env)
    return res.returncode, res.stdout, res.stderr


def rows(world: World, pod: Pod, level: str) -> int:
    res = world.cql(pod, f"CONSISTENCY {level}; SELECT id FROM ks.t")  # noqa: S608
    assert res.returncode == 0, res.stderr
    return sum(1 for line in res.stdout.splitlines() if line.strip().startswith("k"))


def test_decommission_streams_the_nodes_ranges_so_every_row_stays_readable_at_local_quorum() -> None:
    world = four_nodes_with_rows(rf=1)  # every row on one node only: what the leaver held must move
    first, last = world.pod("dc1", 0), world.pod("dc1", 3)
    assert world.sim.nodes[last.node_id].data["ks"]["t"], "the leaving node holds rows"
    rc, _, err = nodetool(world, last, "decommission")
    assert rc == 0, err
    rc, out, _ = nodetool(world, first, "status")
    assert last.ip not in out and out.count("UN ") == 3
    world.sim.stop_node(last.node_id)  # the pod goes; its data streamed away first
    assert rows(world, first, "LOCAL_QUORUM") == ROWS


def test_decommission_is_refused_when_the_dc_would_keep_fewer_nodes_than_a_replication_factor() -> None:
    world = four_nodes_with_rows(rf=4)
    rc, _, err = nodetool(world, world.pod("dc1", 3), "decommission")
    assert rc == 2
    assert ("Not enough live nodes to maintain replication factor in keyspace ks (RF = 4, N = 4). "
            "Perform a forceful decommission to ignore.") in err
    rc, out, _ = nodetool(world, world.pod("dc1", 0), "status")
    assert out.count("UN ") == 4


def test_a_node_removed_without_decommission_loses_what_only_it_held_and_removenode_restores_the_rest() -> None:
    world = four_nodes_with_rows(rf=1)  # every row on one node only
    first, last = world.pod("dc1", 0), world.pod("dc1", 3)
    held = rows(world, first, "ONE")
    assert held == ROWS
    world.sim.stop_node(last.node_id)  # pod and volume deleted, no decommission
    host_id = world.sim.nodes[last.node_id].host_id
    rc, _, err = nodetool(world, first, "removenode", host_id)
    assert rc == 0, err
    assert rows(world, first, "ONE") < ROWS  # the rows only it held are gone for good


def test_cleanup_drops_partitions_the_node_no_longer_owns() -> None:
    world = make_world(dcs=("dc1",), nodes=4, racks=1)
    for p in world.dc_pods("dc1")[:3]:
        assert world.start_pod(p) is None
    create = ("CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 1}; "
              "CREATE TABLE ks.t (id text PRIMARY KEY);")
    inserts = " ".join(f"INSERT INTO ks.t (id) VALUES ('k{i}');" for i in range(ROWS))  # noqa: S608
    assert world.cql(world.pod("dc1"), create + inserts).returncode == 0
    assert world.start_pod(world.pod("dc1", 3)) is None  # bootstraps: takes over some ranges
    held = sum(len(world.sim.nodes[p.node_id].data.get("ks", {}).get("t", {})) for p in world.dc_pods("dc1"))
    for p in world.dc_pods("dc1")[:3]:
        assert nodetool(world, p, "cleanup")[0] == 0
    after = sum(len(world.sim.nodes[p.node_id].data.get("ks", {}).get("t", {})) for p in world.dc_pods("dc1"))
    assert held > ROWS and after == ROWS  # one copy of each row, on its owner
    assert rows(world, world.pod("dc1"), "ONE") == ROWS


def test_a_dc_removed_while_a_keyspace_replicates_only_there_takes_every_row_of_it() -> None:
    world = make_world(dcs=("dc1", "dc2"), nodes=2, racks=1)
    assert set(world.start().values()) == {None}
    create = ("CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc2': 2}; "
              "CREATE TABLE ks.t (id text PRIMARY KEY);")
    inserts = " ".join(f"INSERT INTO ks.t (id) VALUES ('k{i}');" for i in range(ROWS))  # noqa: S608
    assert world.cql(world.pod("dc2"), create + " CONSISTENCY LOCAL_QUORUM; " + inserts).returncode == 0
    first = world.pod("dc1")
    for p in world.dc_pods("dc2"):  # its cluster deleted: no decommission
        world.sim.stop_node(p.node_id)
    for p in world.dc_pods("dc2"):
        assert nodetool(world, first, "removenode", world.sim.nodes[p.node_id].host_id)[0] == 0
    alter = "ALTER KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2}"
    assert world.cql(first, alter).returncode == 0
    for p in world.dc_pods("dc1"):
        assert nodetool(world, p, "repair", "-full", "ks")[0] == 0
    assert rows(world, first, "LOCAL_QUORUM") == 0  # nothing left anywhere to stream from


def test_a_repair_fails_only_when_a_replica_of_the_repaired_keyspace_is_down() -> None:
    world = make_world(dcs=("dc1", "dc2"), nodes=2, racks=1)
    assert set(world.start().values()) == {None}
    create = ("CREATE KEYSPACE here WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2}; "
              "CREATE KEYSPACE both WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 2};")
    assert world.cql(world.pod("dc1"), create).returncode == 0
    for p in world.dc_pods("dc2"):
        world.sim.stop_node(p.node_id)
    first = world.pod("dc1")
    assert nodetool(world, first, "repair", "-full", "here")[0] == 0  # dc2 holds none of its replicas
    rc, _, err = nodetool(world, first, "repair", "-full", "both")
    assert rc == 2 and f"Endpoint not alive: /{world.pod('dc2').ip}:7000" in err
