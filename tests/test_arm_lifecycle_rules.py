"""ARM emulator, lifecycle: busy resources refuse writes, in-use ones refuse deletes, deletes and tunnels settle late."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import models as nm

from sandbox.arm import arm_in_thread
from sandbox.clock import Clock
from tests.arm_fixtures import (
    TIME_SCALE,
    Clients,
    connection_body,
    make_clients,
    make_gateway_poller,
    make_rg,
    make_vnet,
)

QUICK = {k: 1.0 for k in ("cluster", "connection", "public_ip", "vnet", "subnet", "peering")}
# A gateway takes 20 simulated minutes (0.6 s), the tunnel 30 (0.9 s), ARM's list 20 (0.6 s).
SLOW = {**QUICK, "gateway": 1200.0, "tunnel": 1800.0, "arm_cache": 1200.0}


@pytest.fixture
def emu(arm_state_dir: Path) -> Iterator[Clients]:  # noqa: F811
    with arm_in_thread(arm_state_dir, Clock(TIME_SCALE), durations=SLOW) as arm:
        yield make_clients(arm)


def two_gateways(c: Clients) -> None:
    make_rg(c, "rg1")
    make_rg(c, "rg2")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    make_vnet(c, "rg2", "dc2", "10.2.0.0/16", "10.2.0.0/20", "10.2.255.0/27")
    for p in [make_gateway_poller(c, "rg1", "dc1"), make_gateway_poller(c, "rg2", "dc2")]:
        p.result()


def code_of(exc: pytest.ExceptionInfo[HttpResponseError]) -> str:
    assert exc.value.error is not None
    return str(exc.value.error.code)


def test_deletes_are_refused_while_in_use(emu: Clients) -> None:
    c = emu
    two_gateways(c)
    c.network.virtual_network_gateway_connections.begin_create_or_update(
        "rg1", "dc1-to-dc2", connection_body(c, "rg1", "dc1-gw", "rg2", "dc2-gw")).result()
    with pytest.raises(HttpResponseError) as ip:
        c.network.public_ip_addresses.begin_delete("rg1", "dc1-gw-ip")
    assert code_of(ip) == "PublicIPAddressCannotBeDeleted" and "dc1-gw/ipConfigurations/default" in str(ip.value)
    with pytest.raises(HttpResponseError) as gw:
        c.network.virtual_network_gateways.begin_delete("rg2", "dc2-gw")
    assert code_of(gw) == "VirtualNetworkGatewayCannotBeDeleted" and "dc1-to-dc2" in str(gw.value)
    assert c.network.virtual_network_gateways.get("rg2", "dc2-gw").provisioning_state == "Succeeded"


def test_an_identical_gateway_put_starts_an_operation_and_a_second_write_is_refused(emu: Clients) -> None:
    c = emu
    two_gateways(c)
    gws = c.network.virtual_network_gateways
    again = gws.begin_create_or_update("rg1", "dc1-gw", gws.get("rg1", "dc1-gw"))
    assert gws.get("rg1", "dc1-gw").provisioning_state == "Updating"
    with pytest.raises(HttpResponseError) as busy:
        gws.begin_create_or_update("rg1", "dc1-gw", gws.get("rg1", "dc1-gw"))
    assert (busy.value.status_code, code_of(busy)) == (409, "AnotherOperationInProgress")
    # A connection written meanwhile is accepted, and its operation ends Failed with the same code.
    with pytest.raises(HttpResponseError) as conn:
        c.network.virtual_network_gateway_connections.begin_create_or_update(
            "rg2", "dc2-to-dc1", connection_body(c, "rg2", "dc2-gw", "rg1", "dc1-gw")).result()
    assert "AnotherOperationInProgress" in str(conn.value)
    assert again.result().provisioning_state == "Succeeded"


def test_a_busy_cluster_answers_operation_not_allowed(emu: Clients) -> None:
    c = emu
    make_rg(c, "rg1")
    body = {"location": "eastus", "identity": {"type": "SystemAssigned"},
            "properties": {"dnsPrefix": "c1", "agentPoolProfiles": [{"name": "system", "count": 1,
                                                                      "vmSize": "Standard_D4s_v5"}]}}
    mcs = c.aks.managed_clusters
    mcs.begin_create_or_update("rg1", "c1", body).result()
    c.arm.busy("c1", 600)
    with pytest.raises(HttpResponseError) as busy:
        mcs.begin_create_or_update("rg1", "c1", body)
    assert (busy.value.status_code, code_of(busy)) == (409, "OperationNotAllowed")
    assert "Another operation (Updating) is in progress" in str(busy.value)


def test_a_failed_resource_is_repaired_by_a_put_of_the_same_body(emu: Clients) -> None:
    c = emu
    make_rg(c, "rg1")
    vnet = make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    c.arm.mark_failed("dc1-vnet")
    assert c.network.virtual_networks.get("rg1", "dc1-vnet").provisioning_state == "Failed"
    again = c.network.virtual_networks.begin_create_or_update("rg1", "dc1-vnet", vnet).result()
    assert again.provisioning_state == "Succeeded"


def test_a_vnet_to_vnet_connection_is_connected_minutes_after_both_directions(emu: Clients) -> None:
    c = emu
    two_gateways(c)
    conns = c.network.virtual_network_gateway_connections
    conns.begin_create_or_update("rg1", "dc1-to-dc2", connection_body(c, "rg1", "dc1-gw", "rg2", "dc2-gw")).result()
    conns.begin_create_or_update("rg2", "dc2-to-dc1", connection_body(c, "rg2", "dc2-gw", "rg1", "dc1-gw")).result()
    both = time.monotonic()
    assert conns.get("rg1", "dc1-to-dc2").connection_status == "Connecting"
    while conns.get("rg1", "dc1-to-dc2").connection_status != "Connected":
        assert time.monotonic() - both < 30
        time.sleep(0.05)
    assert time.monotonic() - both >= 0.8 * SLOW["tunnel"] * TIME_SCALE


def test_a_deleted_resource_stays_in_its_group_list_until_arm_has_confirmed_it(emu: Clients) -> None:
    c = emu
    make_rg(c, "rg1")
    c.network.public_ip_addresses.begin_create_or_update(
        "rg1", "ip1", nm.PublicIPAddress(location="eastus", sku=nm.PublicIPAddressSku(name="Standard"),
                                         public_ip_allocation_method="Static")).result()
    c.network.public_ip_addresses.begin_delete("rg1", "ip1").result()
    listed = list(c.resource.resources.list_by_resource_group("rg1", expand="provisioningState"))
    assert [(r.name, r.provisioning_state) for r in listed] == [("ip1", "Deleting")]
    gone = time.monotonic() + 30
    while list(c.resource.resources.list_by_resource_group("rg1")):
        assert time.monotonic() < gone
        time.sleep(0.05)
