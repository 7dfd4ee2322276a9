"""CQL through cqlsh in simulated pods: replication, consistency levels, TTL, errors, sh -c."""

from sandbox.clock import Clock
from sandbox.ring.cqlsh import SCHEMA_MISMATCH
from sandbox.ring.testing import World, make_world

KS = (
    "CREATE KEYSPACE IF NOT EXISTS verify WITH replication = "
    "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 3}; "
    "CREATE TABLE IF NOT EXISTS verify.sentinel (id text PRIMARY KEY, dc text, n int, at timestamp)"
)


class FakeClock(Clock):
    def __init__(self) -> None:
        super().__init__(0.0)
        self.t = 2_000_000.0

    def now(self) -> float:
        return self.t


def unescaped(stderr: str) -> str:
    # cqlsh prints the driver's exception repr, so quotes inside Unavailable('...') come out as \'.
    return stderr.replace("\\'", "'")


def ready(**kw: object) -> World:
    world = make_world(**kw)  # type: ignore[arg-type]
    assert set(world.start().values()) == {None}
    res = world.cql(world.pod("dc1"), KS)
    assert res.returncode == 0, res.stderr
    return world


def write(world: World, dc: str, level: str, key: str, i: int = 0):
    # Keys are test constants, so plain formatting is fine here.
    insert = "INSERT INTO verify.sentinel (id, dc, n, at) VALUES ('{}', '{}', 7, toTimestamp(now()))"
    stmt = f"CONSISTENCY {level}; " + insert.format(key, dc)
    return world.cql(world.pod(dc, i), stmt)


def read(world: World, dc: str, level: str, key: str, i: int = 0):
    select = "SELECT id, dc, n FROM verify.sentinel WHERE id = '{}'"
    return world.cql(world.pod(dc, i), f"CONSISTENCY {level}; " + select.format(key))


def test_each_quorum_write_in_dc1_is_read_at_local_quorum_in_dc2() -> None:
    world = ready()
    res = write(world, "dc1", "EACH_QUORUM", "s-1")
    assert res.returncode == 0 and res.stdout == "Consistency level set to EACH_QUORUM.\n"
    for i in range(3):
        res = read(world, "dc2", "LOCAL_QUORUM", "s-1", i)
        assert res.returncode == 0, res.stderr
        assert res.stdout == (
            "Consistency level set to LOCAL_QUORUM.\n\n id  | dc  | n\n-----+-----+---\n s-1 | dc1 | 7\n\n(1 rows)\n"
        )


def test_split_ring_cannot_create_the_keyspace_nor_read_across() -> None:
    world = make_world(dns=False)
    world.start()
    res = world.cql(world.pod("dc1"), KS)
    assert res.returncode == 2
    assert "ConfigurationException" in res.stderr and "Unrecognized strategy option {dc2}" in res.stderr
    res = read(world, "dc2", "LOCAL_QUORUM", "s-1")
    assert res.returncode == 2 and "Keyspace 'verify' doesn't exist" in res.stderr


def test_one_node_down_local_quorum_still_works_with_rf3() -> None:
    world = ready()
    world.sim.stop_node(world.pod("dc2", 1).node_id)
    assert write(world, "dc1", "EACH_QUORUM", "s-2").returncode == 0
    assert "s-2" in read(world, "dc2", "LOCAL_QUORUM", "s-2").stdout
    world.sim.stop_node(world.pod("dc2", 2).node_id)
    res = read(world, "dc2", "LOCAL_QUORUM", "s-2")
    assert res.returncode == 2
    assert "Unavailable" in res.stderr and "'required_replicas': 2, 'alive_replicas': 1" in unescaped(res.stderr)


def test_partition_makes_each_quorum_unavailable_and_nothing_is_written() -> None:
    world = ready()
    world.net.partition("aks-dc1", "aks-dc2")
    res = write(world, "dc1", "EACH_QUORUM", "s-3")
    assert res.returncode == 2
    assert res.stderr.startswith("<stdin>:1:NoHostAvailable: ('Unable to complete the operation against any hosts'")
    assert "Cannot achieve consistency level EACH_QUORUM" in res.stderr
    assert "'consistency': 'EACH_QUORUM', 'required_replicas': 2, 'alive_replicas': 0" in unescaped(res.stderr)
    assert "(0 rows)" in read(world, "dc1", "LOCAL_QUORUM", "s-3").stdout
    # LOCAL_QUORUM writes are still served; the other DC misses them until repaired.
    assert write(world, "dc1", "LOCAL_QUORUM", "s-4").returncode == 0
    world.net.heal("aks-dc1", "aks-dc2")
    assert "(0 rows)" in read(world, "dc2", "LOCAL_QUORUM", "s-4").stdout
    pod = world.pod("dc1")
    assert world.sim.exec(pod.node_id, ["nodetool", "repair", "verify"], pod.env).returncode == 0
    for p in world.dc_pods("dc1")[1:]:
        world.sim.exec(p.node_id, ["nodetool", "repair", "verify"], p.env)
    assert "(1 rows)" in read(world, "dc2", "LOCAL_QUORUM", "s-4").stdout


def test_quorum_and_all_count_every_dc() -> None:
    world = ready()
    world.sim.stop_node(world.pod("dc2", 0).node_id)
    assert write(world, "dc1", "QUORUM", "q").returncode == 0
    res = write(world, "dc1", "ALL", "q")
    assert "'required_replicas': 6, 'alive_replicas': 5" in unescaped(res.stderr)


def test_ttl_expires_with_the_clock_and_delete_hides_the_row() -> None:
    clock = FakeClock()
    world = ready(clock=clock)
    pod = world.pod("dc1")
    stmt = "INSERT INTO verify.sentinel (id, n) VALUES ('t', 1) USING TTL 60; SELECT n FROM verify.sentinel WHERE id = 't'"
    assert "(1 rows)" in world.cql(pod, stmt).stdout
    clock.t += 61
    assert "(0 rows)" in world.cql(pod, "SELECT n FROM verify.sentinel WHERE id = 't'").stdout
    world.cql(pod, "INSERT INTO verify.sentinel (id, n) VALUES ('d', 1)")
    world.cql(pod, "DELETE FROM verify.sentinel WHERE id = 'd'")
    assert "(0 rows)" in world.cql(pod, "CONSISTENCY ALL; SELECT * FROM verify.sentinel WHERE id = 'd'").stdout


def test_newest_write_wins_across_replicas() -> None:
    world = ready()
    world.sim.stop_node(world.pod("dc1", 2).node_id)
    world.cql(world.pod("dc1"), "CONSISTENCY LOCAL_QUORUM; INSERT INTO verify.sentinel (id, n) VALUES ('w', 1)")
    p2 = world.pod("dc1", 2)
    world.sim.start_node(p2.node_id, p2.ip, p2.env, p2.yaml)
    world.cql(world.pod("dc1"), "CONSISTENCY LOCAL_QUORUM; INSERT INTO verify.sentinel (id, n) VALUES ('w', 2)")
    res = world.cql(p2, "CONSISTENCY ALL; SELECT n FROM verify.sentinel WHERE id = 'w'")
    assert " 2\n" in res.stdout and "(1 rows)" in res.stdout


def test_errors_look_like_cqlsh() -> None:
    world = ready()
    pod = world.pod("dc1")
    res = world.cql(pod, "SELECT * FROM verify.nope WHERE id = 'x'")
    assert (res.returncode, res.stderr) == (
        2,
        '<stdin>:1:InvalidRequest: Error from server: code=2200 [Invalid query] message="table nope does not exist"\n',
    )
    res = world.cql(pod, "INSERT INTO verify.sentinel (id, n) VALUES ('x', 'seven')")
    assert 'Invalid STRING constant (seven) for "n" of type int' in res.stderr
    res = world.cql(pod, "SELEKT 1")
    assert res.returncode == 2 and "SyntaxException" in res.stderr
    res = world.cql(pod, KS.replace(" IF NOT EXISTS", "", 1))
    assert "<stdin>:1:AlreadyExists: Keyspace 'verify' already exists" in res.stderr
    res = world.cql(pod, "CONSISTENCY; CONSISTENCY bogus")
    assert res.stdout == "Current consistency level is ONE.\n" and "Improper CONSISTENCY command." in res.stderr


def test_system_schema_and_alter_keyspace() -> None:
    world = ready()
    pod = world.pod("dc2")
    stmts = (
        "ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 3}; "
        "SELECT keyspace_name, replication FROM system_schema.keyspaces WHERE keyspace_name = 'system_auth'"
    )
    res = world.cql(pod, stmts)
    assert res.returncode == 0, res.stderr
    assert "{'class': 'org.apache.cassandra.locator.NetworkTopologyStrategy', 'dc1': '3', 'dc2': '3'}" in res.stdout
    assert "(1 rows)" in res.stdout
    assert world.cql(pod, "DROP KEYSPACE verify").returncode == 0
    assert "(0 rows)" in world.cql(pod, "SELECT * FROM system_schema.keyspaces WHERE keyspace_name = 'verify'").stdout
    res = world.cql(pod, "ALTER KEYSPACE system WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
    assert res.returncode == 2


def test_sh_c_expands_env_without_evaluating_anything() -> None:
    world = ready()
    pod = world.pod("dc1")
    res = world.sh(pod, 'cqlsh "$POD_IP" -e "SELECT data_center FROM system.local" && echo "${CASSANDRA_DC}"-ok')
    assert res.returncode == 0 and " dc1\n" in res.stdout and res.stdout.endswith("dc1-ok\n")
    assert world.sh(pod, "echo '$POD_IP'").stdout == "$POD_IP\n"  # single quotes: no expansion
    assert world.sh(pod, "echo $(id)").returncode == 2
    assert world.sh(pod, "rm -rf /").returncode == 127


def test_cqlsh_connection_errors() -> None:
    world = ready()
    pod = world.pod("dc1")
    other = world.pod("dc2")
    world.sim.stop_node(pod.node_id)
    res = world.sim.exec(pod.node_id, ["cqlsh", "-e", "SELECT * FROM system.local"], pod.env)
    assert res.returncode == 1 and "ConnectionRefusedError(111" in res.stderr and "'127.0.0.1:9042'" in res.stderr
    res = world.sim.exec(pod.node_id, ["cqlsh", other.fqdn, "-e", "CONSISTENCY"], pod.env)
    assert res.returncode == 0  # another node, reached by name, answers
    world.net.partition("aks-dc1", "aks-dc2")
    res = world.sim.exec(pod.node_id, ["cqlsh", other.ip, "-e", "CONSISTENCY"], pod.env)
    assert res.returncode == 1 and "timed out" in res.stderr


def test_ddl_while_a_dc_is_unreachable_is_made_but_cqlsh_warns_of_the_schema_mismatch_and_exits_2() -> None:
    world = ready()
    pod = world.pod("dc1")
    world.net.partition("aks-dc1", "aks-dc2")
    ddl = "CREATE KEYSPACE IF NOT EXISTS m WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 1};"
    res = world.cql(pod, ddl)
    assert res.returncode == 2
    assert res.stderr == SCHEMA_MISMATCH + "\n"
    assert "m" in world.sim.ring_of(pod.node_id).keyspaces  # type: ignore[union-attr]
    assert world.cql(pod, ddl).returncode == 0  # nothing changed: no schema agreement to wait for
    world.net.heal("aks-dc1", "aks-dc2")
    again = ddl.replace("IF NOT EXISTS m", "IF NOT EXISTS m2")
    assert world.cql(pod, again).returncode == 0
