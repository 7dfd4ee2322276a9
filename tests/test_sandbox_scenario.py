"""The seeds' runbook against the sandbox, through the real clients: a ring forms only when it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from multidc_core.load import load_spec
from multidc_core.nodetool import parse_status
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld
from tests import sandbox_steps as steps

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "test-admin-password"
CREATE_VERIFY = (
    "CREATE KEYSPACE verify WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 3};"
    "CREATE TABLE verify.sentinel (id text PRIMARY KEY, v text);"
    "CONSISTENCY EACH_QUORUM; INSERT INTO verify.sentinel (id, v) VALUES ('k1', 'from-dc1');"
)


@pytest.fixture()
def spec() -> RingSpec:
    return load_spec((EXAMPLES / "sandbox.yaml").read_text())


def build_ring(
    tw: ThreadedWorld,
    spec: RingSpec,
    *,
    dns: bool = True,
    connections: list[tuple[str, str]] | None = None,
    peering: bool = False,
) -> dict:
    assert tw.world.arm is not None
    az = steps.azure_clients(tw.world.arm.url, str(tw.world.arm.ca_path))
    steps.provision(az, spec, connections=connections, peering=peering)
    apis = {dc.name: steps.kube_for(az, spec, dc.name) for dc in spec.datacenters}
    dns_ips = {dc: steps.expose_dns(api, spec, dc) for dc, api in apis.items()}
    if dns:
        for dc, api in apis.items():
            steps.forward_dns(api, spec, dc, {o: ip for o, ip in dns_ips.items() if o != dc})
    for dc in spec.datacenters:
        steps.deploy_cassandra(apis[dc.name], spec, dc.name, PASSWORD)
        steps.start_nodes(apis[dc.name], spec, dc.name)
        steps.eventually(
            lambda dc=dc: steps.ready_pods(apis[dc.name], dc.namespace) == dc.cassandra.nodes, 60
        )
    return apis


def nodetool(apis: dict, spec: RingSpec, dc: str) -> list:
    pod = steps.pods_of(spec, dc)[0]
    rc, out, err = steps.exec_in(apis[dc], spec.dc(dc).namespace, pod, ["nodetool", "status"])
    assert rc == 0, err
    return parse_status(out)


def test_full_runbook_forms_one_ring_and_replicates_across_dcs(
    sandbox: ThreadedWorld, spec: RingSpec
) -> None:
    apis = build_ring(sandbox, spec)
    for dc in ("dc1", "dc2"):
        nodes = nodetool(apis, spec, dc)
        assert sorted({n.dc for n in nodes}) == ["dc1", "dc2"]
        assert [n.status + n.state for n in nodes] == ["UN"] * 6
        assert {n.rack for n in nodes} == {"rack1", "rack2", "rack3"}
    p1, p2 = steps.pods_of(spec, "dc1")[0], steps.pods_of(spec, "dc2")[0]
    rc, out, err = steps.cql(apis["dc1"], "dc1", p1, CREATE_VERIFY)
    assert rc == 0, err
    rc, out, err = steps.cql(
        apis["dc2"], "dc2", p2, "CONSISTENCY LOCAL_QUORUM; SELECT v FROM verify.sentinel WHERE id = 'k1';"
    )
    assert rc == 0, err
    assert "from-dc1" in out and "(1 rows)" in out


def assert_split(apis: dict, spec: RingSpec) -> None:
    """Two rings of one DC each: DC1 cannot even name DC2, and DC2 never sees DC1's writes."""
    assert {n.dc for n in nodetool(apis, spec, "dc1")} == {"dc1"}
    assert {n.dc for n in nodetool(apis, spec, "dc2")} == {"dc2"}
    p1, p2 = steps.pods_of(spec, "dc1")[0], steps.pods_of(spec, "dc2")[0]
    rc, _, err = steps.cql(apis["dc1"], "dc1", p1, CREATE_VERIFY)
    assert rc != 0 and "Unrecognized strategy option {dc2}" in err
    rc, _, err = steps.cql(
        apis["dc1"],
        "dc1",
        p1,
        "CREATE KEYSPACE verify WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3};"
        "CREATE TABLE verify.sentinel (id text PRIMARY KEY, v text);"
        "CONSISTENCY LOCAL_QUORUM; INSERT INTO verify.sentinel (id, v) VALUES ('k1', 'from-dc1');",
    )
    assert rc == 0, err
    rc, out, err = steps.cql(
        apis["dc2"], "dc2", p2, "CONSISTENCY LOCAL_QUORUM; SELECT v FROM verify.sentinel WHERE id = 'k1';"
    )
    assert rc != 0 and "from-dc1" not in out


def test_without_dns_forwarding_dc2_forms_its_own_ring(sandbox: ThreadedWorld, spec: RingSpec) -> None:
    assert_split(build_ring(sandbox, spec, dns=False), spec)


def test_with_one_connection_missing_the_vnets_do_not_connect(sandbox: ThreadedWorld, spec: RingSpec) -> None:
    apis = build_ring(sandbox, spec, connections=[("dc1", "dc2")])
    assert_split(apis, spec)


def test_global_peering_forms_one_ring(sandbox: ThreadedWorld) -> None:
    spec = load_spec(
        (EXAMPLES / "sandbox.yaml").read_text().replace("mode: vpn-gateway", "mode: global-peering")
    )
    apis = build_ring(sandbox, spec, peering=True)
    assert [n.code for n in nodetool(apis, spec, "dc2")] == ["UN"] * 6
