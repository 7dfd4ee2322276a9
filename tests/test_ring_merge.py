"""Two rings of one cluster name merge once a node reaches a seed of the other (Gossiper); other names never do."""

from multidc_core.nodetool import parse_status
from sandbox.ring.testing import Pod, World, make_world

KS = "CREATE KEYSPACE k WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3};"
TABLE = "CREATE TABLE k.t (id text PRIMARY KEY, v text);"
READ = "CONSISTENCY LOCAL_QUORUM; SELECT v FROM k.t WHERE id = 'r1';"


def split_world(seeds_by_address: bool = True, other_name: str | None = None) -> World:
    """dc1 and dc2 started with no link between them: two rings. Seeds as addresses unless told."""
    world = make_world(connected=False)
    if seeds_by_address:
        seeds = ",".join(p.ip for dc in ("dc1", "dc2") for p in world.dc_pods(dc)[:2])
        for p in world.pods:
            p.env["CASSANDRA_SEEDS"] = seeds
    if other_name:
        for p in world.dc_pods("dc2"):
            p.env["CASSANDRA_CLUSTER_NAME"] = other_name
    assert set(world.start().values()) == {None}
    assert len(world.sim.rings) == 2
    return world


def status(world: World, pod: Pod) -> dict[str, str]:
    res = world.sim.exec(pod.node_id, ["nodetool", "status"], pod.env)
    assert res.returncode == 0, res.stderr
    return {f"{n.dc}/{n.address}": n.code for n in parse_status(res.stdout)}


def test_same_named_rings_merge_when_a_link_reaches_a_seed_and_rows_stay_where_they_were() -> None:
    world = split_world()
    p1, p2 = world.pod("dc1"), world.pod("dc2")
    write = "CONSISTENCY LOCAL_QUORUM; INSERT INTO k.t (id, v) VALUES ('r1', 'before-merge');"
    assert world.cql(p1, KS + TABLE + write).returncode == 0
    assert len(status(world, p2)) == 3
    world.net.link("aks-dc1", "aks-dc2", dns=False)  # seeds are addresses: nothing to resolve
    seen = status(world, p2)  # the next gossip round crossed the link
    assert len(world.sim.rings) == 1
    assert sorted(seen.values()) == ["UN"] * 6 and {k.split("/")[0] for k in seen} == {"dc1", "dc2"}
    assert f"Node /{p2.ip}:7000 is now part of the cluster" in "\n".join(world.sim.logs(p1.node_id))
    # The schema came over; the rows did not: dc2 is a replica now but was never streamed to.
    alter = "ALTER KEYSPACE k WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 3};"
    assert world.cql(p2, alter).returncode == 0
    res = world.cql(p2, READ)
    assert res.returncode == 0 and "(0 rows)" in res.stdout
    assert "before-merge" in world.cql(p1, READ).stdout  # still there in its own half
    repair = world.sim.exec(p1.node_id, ["nodetool", "repair", "-full", "k"], p1.env)
    assert repair.returncode == 0, repair.stderr
    assert "before-merge" in world.cql(p2, READ).stdout


def test_rings_of_different_cluster_names_stay_apart_and_the_seed_logs_the_mismatch() -> None:
    world = split_world(other_name="other")
    world.net.link("aks-dc1", "aks-dc2", dns=False)
    assert set(status(world, world.pod("dc1"))) == {f"dc1/{p.ip}" for p in world.dc_pods("dc1")}
    assert set(status(world, world.pod("dc2"))) == {f"dc2/{p.ip}" for p in world.dc_pods("dc2")}
    assert len(world.sim.rings) == 2
    log = world.sim.logs(world.pod("dc2").node_id)
    warn = f"GossipDigestSynVerbHandler.java:58 - ClusterName mismatch from /{world.pod('dc1').ip}:7000 ring1!=other"
    assert any(line.startswith("WARN  [GossipStage:1]") and line.endswith(warn) for line in log)
    status(world, world.pod("dc2"))
    assert sum(line.endswith(warn) for line in world.sim.logs(world.pod("dc2").node_id)) == 1  # once per pair


def test_seed_names_unresolved_at_start_are_not_retried_until_reloadseeds() -> None:
    world = split_world(seeds_by_address=False)
    world.net.link("aks-dc1", "aks-dc2")  # routes and DNS forwarding both, now
    p2 = world.pod("dc2")
    assert len(status(world, p2)) == 3 and len(world.sim.rings) == 2  # the names were dropped at start
    res = world.sim.exec(p2.node_id, ["nodetool", "reloadseeds"], p2.env)
    assert res.returncode == 0
    shown = [f"{p.fqdn}/{p.ip}:7000" for p in (world.pod("dc1"), world.pod("dc1", 1), world.pod("dc2", 1))]
    assert res.stdout == "Updated seed node IP list, excluding the current node's IP: " + " ".join(shown) + "\n"
    assert len(world.sim.rings) == 1 and len(status(world, world.pod("dc1", 2))) == 6


def test_a_partition_at_start_leaves_two_rings_that_merge_when_it_heals() -> None:
    world = make_world()
    seeds = ",".join(p.ip for dc in ("dc1", "dc2") for p in world.dc_pods(dc)[:2])
    for p in world.pods:
        p.env["CASSANDRA_SEEDS"] = seeds
    world.net.partition("aks-dc1", "aks-dc2")
    assert set(world.start().values()) == {None} and len(world.sim.rings) == 2
    world.net.heal("aks-dc1", "aks-dc2")
    assert sorted(status(world, world.pod("dc1", 2)).values()) == ["UN"] * 6
    assert len(world.sim.rings) == 1
