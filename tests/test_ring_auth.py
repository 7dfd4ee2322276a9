"""PasswordAuthenticator in the simulated ring: default superuser, new roles, QUORUM logins."""

import json
import time

from sandbox.clock import Clock
from sandbox.ring.consistency import replicas
from sandbox.ring.testing import World, make_world

ADMIN = 'cqlsh "$POD_IP" -u "$CASSANDRA_ADMIN_USER" -p "$CASSANDRA_ADMIN_PASSWORD" -e "{stmts}"'


def system_auth_replicas(world: World, role: str) -> list:
    node = world.sim.nodes[world.pod("dc1").node_id]
    ring = world.sim.rings[node.ring_id or ""]
    return replicas(ring.keyspaces["system_auth"], json.dumps(role), world.sim.members(ring.ring_id))


def auth_world() -> World:
    world = make_world(auth=True)
    assert set(world.start().values()) == {None}
    return world


def test_default_superuser_logs_in_everywhere_and_others_are_refused() -> None:
    world = auth_world()
    for pod in world.pods:
        assert world.cql(pod, "CONSISTENCY", "cassandra", "cassandra").returncode == 0
    pod = world.pod("dc2")
    res = world.cql(pod, "CONSISTENCY", "cassandra", "wrong")
    assert res.returncode == 1
    assert res.stderr.splitlines()[-1] == (
        f"Connection error: ('Unable to connect to any servers', {{'{pod.ip}:9042': AuthenticationFailed('Failed "
        f"to authenticate to {pod.ip}:9042: Error from server: code=0100 [Bad credentials] message=\"Provided "
        "username cassandra and/or password are incorrect\"')})"
    )
    res = world.cql(pod, "CONSISTENCY")
    assert res.returncode == 1 and "AuthenticationFailed('Remote end requires authentication')" in res.stderr


def nts_system_auth(world: World) -> None:
    """The documented multi-DC step: system_auth to NetworkTopologyStrategy, then repair it everywhere."""
    alter = "ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 3}"
    assert world.cql(world.pod("dc1"), alter, "cassandra", "cassandra").returncode == 0
    for p in world.pods:
        res = world.sim.exec(p.node_id, ["nodetool", "repair", "system_auth"], p.env)
        assert res.returncode == 0, res.stderr


def test_admin_takes_over_from_cassandra() -> None:
    world = auth_world()
    nts_system_auth(world)
    pod = world.pod("dc1")
    create = "CREATE ROLE IF NOT EXISTS admin WITH PASSWORD = 's3cr3t pass' AND SUPERUSER = true AND LOGIN = true"
    assert world.cql(pod, create, "cassandra", "cassandra").returncode == 0
    admin = ADMIN.format(stmts="ALTER ROLE cassandra WITH SUPERUSER = false AND LOGIN = false")
    res = world.sh(pod, admin)
    assert res.returncode == 0, res.stderr
    res = world.cql(pod, "CONSISTENCY", "cassandra", "cassandra")
    assert res.returncode == 1 and 'message="cassandra is not permitted to log in"' in res.stderr
    for p in world.pods:
        assert world.sh(p, ADMIN.format(stmts="CONSISTENCY")).returncode == 0


def test_other_roles_log_in_at_local_quorum_so_simple_system_auth_fails_in_the_other_dc() -> None:
    # The real multi-DC gotcha: system_auth keeps SimpleStrategy rf 1, a non-default role is read at
    # LOCAL_QUORUM (LOCAL_ONE before 4.1), and a DC without a replica cannot log it in until system_auth
    # is altered and repaired.
    world = auth_world()
    [replica] = system_auth_replicas(world, "admin")
    other_dc = ({"dc1", "dc2"} - {replica.config.dc}).pop()
    create = "CREATE ROLE admin WITH PASSWORD = 'pw' AND LOGIN = true"
    res = world.cql(world.pod(other_dc), create, "cassandra", "cassandra")
    assert "Cannot achieve consistency level LOCAL_QUORUM" in res.stderr  # its existence check fails there
    assert world.cql(world.pod(replica.config.dc), create, "cassandra", "cassandra").returncode == 0
    assert world.cql(world.pod(replica.config.dc), "CONSISTENCY", "admin", "pw").returncode == 0
    res = world.cql(world.pod(other_dc), "CONSISTENCY", "admin", "pw")
    assert res.returncode == 1
    assert "Unable to perform authentication: Cannot achieve consistency level LOCAL_QUORUM" in res.stderr


def test_non_superuser_cannot_make_superusers() -> None:
    world = auth_world()
    nts_system_auth(world)
    pod = world.pod("dc1")
    world.cql(pod, "CREATE ROLE app WITH PASSWORD = 'pw' AND LOGIN = true", "cassandra", "cassandra")
    res = world.cql(pod, "CREATE ROLE boss WITH PASSWORD = 'x' AND SUPERUSER = true AND LOGIN = true", "app", "pw")
    assert res.returncode == 2 and "Only superusers can create a role with superuser status" in res.stderr
    res = world.cql(pod, "ALTER ROLE cassandra WITH SUPERUSER = false", "cassandra", "cassandra")
    assert "You aren't allowed to alter your own superuser status" in res.stderr
    res = world.cql(pod, "CREATE ROLE app WITH PASSWORD = 'pw'", "cassandra", "cassandra")
    assert 'message="app already exists"' in res.stderr


def test_cassandra_login_needs_quorum_of_system_auth_replicas() -> None:
    world = auth_world()
    [replica] = system_auth_replicas(world, "cassandra")
    holder = next(p for p in world.pods if p.node_id == replica.node_id)
    world.sim.stop_node(holder.node_id)
    other = next(p for p in world.pods if p is not holder)
    res = world.cql(other, "CONSISTENCY", "cassandra", "cassandra")
    assert res.returncode == 1
    assert "Unable to perform authentication: Cannot achieve consistency level QUORUM" in res.stderr


def test_with_nts_system_auth_each_dc_logs_in_alone() -> None:
    world = auth_world()
    nts_system_auth(world)
    stmt = "CREATE ROLE admin WITH PASSWORD = 'pw' AND SUPERUSER = true AND LOGIN = true"
    assert world.cql(world.pod("dc1"), stmt, "cassandra", "cassandra").returncode == 0
    world.net.partition("aks-dc1", "aks-dc2")
    for p in world.dc_pods("dc2"):  # LOCAL_QUORUM for non-default roles: dc2 alone suffices
        assert world.cql(p, "CONSISTENCY", "admin", "pw").returncode == 0


def test_auth_off_needs_no_credentials() -> None:
    world = make_world(dcs=("dc1",))
    world.start()
    assert world.cql(world.pod("dc1"), "CONSISTENCY").returncode == 0


def test_the_default_superuser_appears_about_ten_seconds_after_the_node_starts() -> None:
    world = make_world(("dc1",), nodes=1, auth=True, clock=Clock(time_scale=0.02))  # 10 s -> 0.2 s
    pod = world.pod("dc1")
    assert world.start_pod(pod) is None
    res = world.cql(pod, "CONSISTENCY", "cassandra", "cassandra")
    assert res.returncode == 1 and "Provided username cassandra and/or password are incorrect" in res.stderr
    time.sleep(0.3)
    assert world.cql(pod, "CONSISTENCY", "cassandra", "cassandra").returncode == 0


def test_roles_are_written_at_each_quorum_so_a_dc_down_to_one_node_refuses_create_role() -> None:
    world = auth_world()
    nts_system_auth(world)
    for p in world.dc_pods("dc2")[1:]:
        world.sim.stop_node(p.node_id)
    # cassandra still logs in (QUORUM: 4 of 6 replicas up); the new role's write needs 2 of 3 in each DC.
    res = world.cql(world.pod("dc1"), "CREATE ROLE app WITH PASSWORD = 'pw' AND LOGIN = true", "cassandra", "cassandra")
    assert res.returncode == 2 and "Cannot achieve consistency level EACH_QUORUM" in res.stderr
