"""remove-dc on Azure datacenters: the removed DC's links, cluster, gateway, network, identity and group are gone
from the ARM emulator, the other DC's stay, and the ring keeps every row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes.client import CoreV1Api

from flows.full import multidc
from flows.remove_dc import remove_dc
from flows.spec_ref import SpecRef
from multidc.sandbox_cmd import sandbox_cloud
from multidc_core import naming
from multidc_core.load import load_spec
from sandbox.harness import ThreadedWorld, world_in_thread
from tests import ring_fixtures as rf
from tests.arm_fixtures import TEST_DEADLINE_S
from tests.paths import ROOT

pytestmark = pytest.mark.usefixtures("prefect_harness")
CLOUD = "remove-dc-sandbox"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[tuple[ThreadedWorld, Path]]:
    """examples/sandbox.yaml at 2 nodes per DC (customers_ks at 2 in each), built by multidc/full."""
    tmp = tmp_path_factory.mktemp("remove-azure")
    raw = yaml.safe_load((ROOT / "examples" / "sandbox.yaml").read_text())
    raw["name"] = "rmaz"
    for d in raw["datacenters"]:
        d["cassandra"]["nodes"] = 2
        d["cassandra"]["racks"] = d["cassandra"]["racks"][:2]
        d["azure"]["resource_group"] += "-rmaz"
    raw["keyspaces"] = [{"name": "customers_ks", "replication": {"dc1": 2, "dc2": 2}}]
    path = tmp / "rmaz.yaml"
    path.write_text(yaml.safe_dump(raw))
    with world_in_thread(tmp / "state", time_scale=0.001) as tw:
        assert tw.world.arm is not None
        block = sandbox_cloud({"arm_url": tw.world.arm.url, "ca_path": str(tw.world.arm.ca_path)},
                              deadline_s=TEST_DEADLINE_S)
        block.save(CLOUD, overwrite=True)  # type: ignore[attr-defined]
        state = multidc(spec=SpecRef(path=str(path)), cloud_block=CLOUD, verify=False, waits=rf.FAST,
                        return_state=True)
        assert state.is_completed(), state.message
        yield tw, path


def test_removing_an_azure_dc_deletes_its_resources_and_keeps_the_others_and_every_row(
    built: tuple[ThreadedWorld, Path],
) -> None:
    tw, path = built
    spec = load_spec(path.read_text())
    rows = " ".join(f"INSERT INTO customers_ks.rows (id) VALUES ('a{i}');" for i in range(20))  # noqa: S608
    rc, _, err = rf.cqlsh(spec, "dc1", '"$CASSANDRA_ADMIN_USER"', '"$CASSANDRA_ADMIN_PASSWORD"',
                          f"CREATE TABLE customers_ks.rows (id text PRIMARY KEY); CONSISTENCY EACH_QUORUM; {rows}")
    assert rc == 0, err
    state = remove_dc(spec=SpecRef(path=str(path)), dc="dc2", confirm="dc2", cloud_block=CLOUD,
                      waits=rf.FAST, return_state=True)
    assert state.is_completed(), state.message
    arm = tw.world.arm
    assert arm is not None
    gone = [naming.cluster_id(spec, "dc2"), naming.gateway_id(spec, "dc2"), naming.vnet_id(spec, "dc2"),
            naming.public_ip_id(spec, "dc2"), naming.identity_id(spec, "dc2"),
            naming.connection_id(spec, "dc1", "dc2"), naming.connection_id(spec, "dc2", "dc1")]
    assert [i for i in gone if arm.store.resource(i) is not None] == []
    dc2 = spec.dc("dc2").azure
    assert dc2 is not None
    assert arm.store.resource(naming.resource_group_id(dc2.subscription_id, dc2.resource_group)) is None
    kept = [naming.cluster_id(spec, "dc1"), naming.gateway_id(spec, "dc1"), naming.vnet_id(spec, "dc1")]
    assert [i for i in kept if arm.store.resource(i) is None] == []
    # dc1's CoreDNS no longer forwards dc2's zone.
    custom = CoreV1Api(rf.api(spec, "dc1")).read_namespaced_config_map("coredns-custom", "kube-system").data or {}
    assert naming.coredns_custom_key("dc2") not in custom
    status = rf.nodetool_status(spec, "dc1")
    assert {r.dc for r in status} == {"dc1"} and [r.status + r.state for r in status] == ["UN"] * 2
    rc, out, err = rf.cqlsh(spec, "dc1", '"$CASSANDRA_ADMIN_USER"', '"$CASSANDRA_ADMIN_PASSWORD"',
                            "CONSISTENCY LOCAL_QUORUM; SELECT id FROM customers_ks.rows")
    assert rc == 0, err
    assert sum(1 for line in out.splitlines() if line.strip().startswith("a")) == 20
