"""Rings form only where seeds resolve and are reachable; nodetool status shows what a node sees."""

import json

from multidc_core.nodetool import parse_status
from sandbox.clock import Clock
from sandbox.ring import RingSim
from sandbox.ring.testing import World, make_world


class FakeClock(Clock):
    def __init__(self, time_scale: float = 1.0) -> None:
        super().__init__(time_scale)
        self.t = 1_000_000.0

    def now(self) -> float:
        return self.t


def status(world: World, dc: str, i: int = 0) -> list:
    pod = world.pod(dc, i)
    res = world.sim.exec(pod.node_id, ["nodetool", "status"], pod.env)
    assert res.returncode == 0, res.stderr
    return parse_status(res.stdout)


def test_all_connected_every_node_sees_six_un_in_two_dcs() -> None:
    world = make_world()
    assert set(world.start().values()) == {None}
    assert len(world.sim.rings) == 1
    for pod in world.pods:
        assert world.sim.is_ready(pod.node_id)
        nodes = status(world, pod.dc, world.dc_pods(pod.dc).index(pod))
        assert [n.code for n in nodes] == ["UN"] * 6
        assert sorted({n.dc for n in nodes}) == ["dc1", "dc2"]
        assert {(n.address, n.rack) for n in nodes} == {(p.ip, p.env["CASSANDRA_RACK"]) for p in world.pods}


def test_dns_missing_splits_the_ring_and_says_why() -> None:
    world = make_world(dns=False)
    assert set(world.start().values()) == {None}  # every DC has seeds of its own: no crash, a split
    assert len(world.sim.rings) == 2
    assert {n.dc for n in status(world, "dc2")} == {"dc2"}
    assert {n.dc for n in status(world, "dc1")} == {"dc1"}
    log = "\n".join(world.sim.logs(world.pod("dc2").node_id))
    # The seed of dc2 cannot resolve dc1's seeds, warns as SimpleSeedProvider does, and starts alone.
    assert "WARN  [main]" in log and "SimpleSeedProvider.java:70 - Seed provider couldn't lookup host cassandra-rack0-0.cassandra.dc1.svc.cluster.local" in log
    assert not any(f"Node /{p.ip}:7000 is now part of the cluster" in log for p in world.dc_pods("dc1"))


def test_a_dc_started_before_the_link_exists_merges_with_the_other_once_restarted() -> None:
    world = make_world(connected=False)
    world.start("dc1")
    world.start("dc2")
    world.net.link("aks-dc1", "aks-dc2")
    assert len(world.sim.rings) == 2  # the seeds' names did not resolve at start and are not retried
    for pod in world.pods:  # rolling restart: each node resolves both DCs' seeds and gossips with them
        world.sim.stop_node(pod.node_id)
        assert world.sim.start_node(pod.node_id, pod.ip, pod.env, pod.yaml) is None
    assert len(world.sim.rings) == 1
    assert [n.code for n in status(world, "dc1")] == ["UN"] * 6


def test_non_seed_without_seeds_crash_loops_then_joins_when_the_network_is_fixed() -> None:
    world = make_world(connected=False)
    world.start("dc1")
    late = world.pod("dc2", 2)  # cassandra-rack2-0: not a seed
    err = world.sim.start_node(late.node_id, late.ip, late.env, late.yaml)
    assert err is not None and err.startswith("Unable to contact any seeds!")
    assert "does not resolve" in err and not world.sim.is_ready(late.node_id)
    res = world.sim.exec(late.node_id, ["nodetool", "status"], late.env)
    assert res.returncode == 1 and "Connection refused" in res.stderr
    world.net.link("aks-dc1", "aks-dc2")
    assert world.sim.start_node(late.node_id, late.ip, late.env, late.yaml) is None
    assert {n.dc for n in status(world, "dc1")} == {"dc1", "dc2"}


def test_cluster_name_mismatch_seed_is_ignored() -> None:
    world = make_world()
    world.start("dc1")
    late = world.pod("dc2", 2)
    env = dict(late.env, CASSANDRA_CLUSTER_NAME="other")
    err = world.sim.start_node(late.node_id, late.ip, env, late.yaml)
    assert err is not None and "ClusterName mismatch" in err


def test_snitch_other_than_gpfs_gives_datacenter1_rack1() -> None:
    world = make_world(dcs=("dc1",), snitch="SimpleSnitch")
    world.start()
    nodes = status(world, "dc1")
    assert {(n.dc, n.rack) for n in nodes} == {("datacenter1", "rack1")}


def test_stopped_node_is_dn_by_address_and_its_own_nodetool_fails() -> None:
    world = make_world()
    world.start()
    down = world.pod("dc1", 1)
    world.sim.stop_node(down.node_id)
    for dc in ("dc1", "dc2"):
        codes = {n.address: n.code for n in status(world, dc)}
        assert codes[down.ip] == "DN"
        assert sorted(codes.values()).count("UN") == 5
    res = world.sim.exec(down.node_id, ["nodetool", "status"], down.env)
    assert res.returncode == 1
    assert res.stderr.startswith("nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException")
    assert world.sim.start_node(down.node_id, down.ip, down.env, down.yaml) is None
    assert all(n.code == "UN" for n in status(world, "dc2"))


def test_partition_shows_the_other_dc_down() -> None:
    world = make_world()
    world.start()
    world.net.partition("aks-dc1", "aks-dc2")
    codes = {(n.dc, n.code) for n in status(world, "dc1")}
    assert codes == {("dc1", "UN"), ("dc2", "DN")}


def test_bootstrap_takes_time_and_one_node_at_a_time() -> None:
    clock = FakeClock(time_scale=0.01)  # node_bootstrap: 120 s of Azure time -> 1.2 s
    world = make_world(dcs=("dc1",), nodes=4, clock=clock)
    a, b, c, d = world.dc_pods("dc1")
    for seed in (a, b):
        assert world.sim.start_node(seed.node_id, seed.ip, seed.env, seed.yaml) is None
        assert world.sim.is_ready(seed.node_id)  # seeds do not bootstrap
    assert world.sim.start_node(c.node_id, c.ip, c.env, c.yaml) is None
    assert not world.sim.is_ready(c.node_id)
    clock.t += 0.1  # its gossip echo answered (gossip_echo: 1 s -> 0.01 s): Up, still Joining
    assert {n.address: n.code for n in status(world, "dc1")}[c.ip] == "UJ"
    err = world.sim.start_node(d.node_id, d.ip, d.env, d.yaml)
    assert err is not None and "Other bootstrapping" in err
    clock.t += 2
    assert world.sim.is_ready(c.node_id)
    assert world.sim.start_node(d.node_id, d.ip, d.env, d.yaml) is None


def test_changing_dc_of_an_existing_node_is_refused() -> None:
    world = make_world()
    world.start()
    pod = world.pod("dc1", 2)
    world.sim.stop_node(pod.node_id)
    err = world.sim.start_node(pod.node_id, pod.ip, dict(pod.env, CASSANDRA_DC="dc9"), pod.yaml)
    assert err is not None and "differs from previous data center" in err


def test_remove_node_leaves_the_ring() -> None:
    world = make_world()
    world.start()
    gone = world.pod("dc2", 2)
    world.sim.remove_node(gone.node_id)
    assert gone.ip not in {n.address for n in status(world, "dc1")}


def test_getent_uses_the_pods_dns_view() -> None:
    world = make_world(dns=False)
    world.start()
    pod = world.pod("dc2")
    own, other = world.pod("dc2", 1), world.pod("dc1")
    res = world.sim.exec(pod.node_id, ["getent", "hosts", own.fqdn], pod.env)
    assert (res.returncode, res.stdout) == (0, f"{own.ip}  {own.fqdn}\n")
    res = world.sim.exec(pod.node_id, ["getent", "hosts", other.fqdn], pod.env)
    assert (res.returncode, res.stdout) == (2, "")


def test_dump_and_load_keep_the_world() -> None:
    world = make_world(auth=True)
    world.start()
    pod = world.pod("dc1")
    stmts = (
        "CONSISTENCY ALL; CREATE KEYSPACE k WITH replication = {'class': 'NetworkTopologyStrategy', "
        "'dc1': 2, 'dc2': 2}; CREATE TABLE k.t (id int PRIMARY KEY, v text); INSERT INTO k.t (id, v) VALUES (1, 'x')"
    )
    assert world.cql(pod, stmts, "cassandra", "cassandra").returncode == 0
    state = json.loads(json.dumps(world.sim.dump()))
    again = RingSim(world.net)
    again.load(state)
    before = world.sim.exec(pod.node_id, ["nodetool", "status"], {}).stdout
    assert again.exec(pod.node_id, ["nodetool", "status"], {}).stdout == before
    res = again.exec(pod.node_id, ["cqlsh", "-u", "cassandra", "-p", "cassandra", "-e", "SELECT v FROM k.t WHERE id = 1"], {})
    assert res.returncode == 0 and "(1 rows)" in res.stdout
    hashes = [
        part["c"]["salted_hash"][0]
        for node in state["nodes"].values()
        for part in node["data"].get("system_auth", {}).get("roles", {}).values()
    ]
    assert hashes and all(h.startswith("$sandbox$") for h in hashes)  # never a clear-text password


def test_a_repair_takes_time_with_data_and_distance_and_a_second_one_meanwhile_is_refused() -> None:
    clock = FakeClock(time_scale=0.01)
    world = make_world(nodes=2, clock=clock)  # seeds only: none bootstraps
    assert set(world.start().values()) == {None}
    clock.t += 1
    pod = world.pod("dc1")

    def repair(*args: str) -> tuple[int, str, str, float]:
        res = world.sim.exec(pod.node_id, ["nodetool", "repair", *args], pod.env)
        return res.returncode, res.stdout, res.stderr, res.seconds

    rc, out, _, short = repair("-full", "system_auth")
    assert rc == 0 and "incremental: false" in out
    rc, _, err, _ = repair("system_auth")  # the first one is still running
    assert rc == 2 and "Cannot start multiple repair sessions over the same sstables" in err
    clock.t += short + 0.01
    row = "INSERT INTO k.t (id, v) VALUES ('{}', '" + "x" * 2000 + "');"
    rows = "".join(row.format(i) for i in range(200))
    ddl = "CREATE KEYSPACE k WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 2};"
    assert world.cql(pod, ddl + "CREATE TABLE k.t (id text PRIMARY KEY, v text);" + rows).returncode == 0
    rc, out, _, longer = repair("k")
    assert rc == 0 and "incremental: true" in out
    assert longer > short  # more data to compare
    alone = make_world(dcs=("dc1",), nodes=2, clock=clock)
    assert set(alone.start().values()) == {None}
    res = alone.sim.exec(alone.pod("dc1").node_id, ["nodetool", "repair", "-full", "system_auth"], pod.env)
    assert res.returncode == 0 and res.seconds < short  # no other DC to cross
