"""ARM emulator, networking: VNets, subnets, gateways, connections, peerings, through the real SDK."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.network import models as nm
from tenacity import Retrying, stop_after_delay, wait_fixed

from sandbox.arm import arm_in_thread
from sandbox.clock import Clock
from tests.arm_fixtures import (
    TIME_SCALE,
    Clients,
    azure,  # noqa: F401 - fixture
    connection_body,
    gateway_body,
    make_clients,
    make_gateway_poller,
    make_rg,
    make_vnet,
    vnet_id,
)

# Every kind takes 1 Azure second: for tests about validation and bookkeeping, not about time.
FAST = {k: 1.0 for k in ("gateway", "cluster", "connection", "public_ip", "vnet", "subnet", "peering")}


@pytest.fixture
def fast(arm_state_dir: Path) -> Iterator[Clients]:  # noqa: F811
    with arm_in_thread(arm_state_dir, Clock(TIME_SCALE), durations=FAST) as arm:
        yield make_clients(arm)


def two_dcs(c: Clients, space2: str = "10.2.0.0/16") -> None:
    make_rg(c, "rg1")
    make_rg(c, "rg2", "westeurope")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    net2 = space2.split(".")[1]
    make_vnet(c, "rg2", "dc2", space2, f"10.{net2}.0.0/20", f"10.{net2}.255.0/27")


def status(c: Clients, rg: str, name: str) -> str:
    return c.network.virtual_network_gateway_connections.get(rg, name).connection_status


def wait_connected(c: Clients, *conns: tuple[str, str], within_s: float = 10.0) -> float:
    """Seconds until every connection reports Connected (the tunnel comes up after both sides)."""
    start = time.monotonic()
    for attempt in Retrying(stop=stop_after_delay(within_s), wait=wait_fixed(0.01), reraise=True):
        with attempt:
            assert [status(c, rg, name) for rg, name in conns] == ["Connected"] * len(conns)
    return time.monotonic() - start


def test_gateway_connections_connect_only_when_both_directions_exist_with_one_key(azure: Clients) -> None:  # noqa: F811
    c = azure
    two_dcs(c)
    # Both gateways provision concurrently, as the product's flow does (45 simulated minutes each).
    pollers = [make_gateway_poller(c, "rg1", "dc1"), make_gateway_poller(c, "rg2", "dc2")]
    assert [p.result().provisioning_state for p in pollers] == ["Succeeded", "Succeeded"]
    conns = c.network.virtual_network_gateway_connections

    conns.begin_create_or_update("rg1", "dc1-to-dc2", connection_body(c, "rg1", "dc1-gw", "rg2", "dc2-gw")).result()
    assert status(c, "rg1", "dc1-to-dc2") == "Connecting"
    assert not c.arm.vnets_connected(vnet_id("rg1", "dc1"), vnet_id("rg2", "dc2"))

    # The reverse connection with a different key: IKE fails, nothing connects.
    wrong = connection_body(c, "rg2", "dc2-gw", "rg1", "dc1-gw", key="another-key")
    conns.begin_create_or_update("rg2", "dc2-to-dc1", wrong).result()
    assert status(c, "rg1", "dc1-to-dc2") == "NotConnected"
    assert not c.arm.vnets_connected(vnet_id("rg1", "dc1"), vnet_id("rg2", "dc2"))

    conns.begin_create_or_update("rg2", "dc2-to-dc1", connection_body(c, "rg2", "dc2-gw", "rg1", "dc1-gw")).result()
    wait_connected(c, ("rg1", "dc1-to-dc2"), ("rg2", "dc2-to-dc1"))
    assert c.arm.vnets_connected(vnet_id("rg2", "dc2"), vnet_id("rg1", "dc1"))

    # The shared key never comes back in a GET, only through the getSharedKey action.
    got = conns.get("rg1", "dc1-to-dc2")
    assert got.shared_key is None
    assert all("sharedKey" not in r["properties"] for r in c.arm.resources("Microsoft.Network/connections"))
    assert conns.get_shared_key("rg1", "dc1-to-dc2").value == "s3cret-key"


def test_peering_initiated_until_both_sides_then_connected(fast: Clients) -> None:
    c = fast
    two_dcs(c)
    peerings = c.network.virtual_network_peerings

    def peer(rg: str, dc: str, remote: str) -> nm.VirtualNetworkPeering:
        body = nm.VirtualNetworkPeering(allow_virtual_network_access=True, allow_forwarded_traffic=True,
                                        remote_virtual_network=nm.SubResource(id=remote))
        return peerings.begin_create_or_update(rg, f"{dc}-vnet", f"{dc}-peer", body).result()

    first = peer("rg1", "dc1", vnet_id("rg2", "dc2"))
    assert first.peering_state == "Initiated"
    assert not c.arm.vnets_connected(vnet_id("rg1", "dc1"), vnet_id("rg2", "dc2"))
    peer("rg2", "dc2", vnet_id("rg1", "dc1"))
    for rg, dc in (("rg1", "dc1"), ("rg2", "dc2")):
        got = peerings.get(rg, f"{dc}-vnet", f"{dc}-peer")
        assert (got.peering_state, got.peering_sync_level) == ("Connected", "FullyInSync")
    assert c.arm.vnets_connected(vnet_id("rg1", "dc1"), vnet_id("rg2", "dc2"))
    # Peerings also show inline on the VNet, with the remote address space.
    vnet = c.network.virtual_networks.get("rg1", "dc1-vnet")
    assert [p.remote_address_space.address_prefixes for p in vnet.virtual_network_peerings] == [["10.2.0.0/16"]]


def test_idempotent_put_does_not_restart_provisioning(fast: Clients) -> None:
    c = fast
    make_rg(c, "rg1")
    first = make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    writes_before = c.arm.counts()["writes"]
    again = make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    # Read-modify-write with nothing modified is just as cheap.
    same = c.network.virtual_networks.begin_create_or_update("rg1", "dc1-vnet", again).result()
    # Network models carry no system_data attribute; the raw JSON does.
    stamps = [m["systemData"]["lastModifiedAt"] for m in (first, again, same)]
    assert stamps[0] == stamps[1] == stamps[2]
    assert first.etag == same.etag
    assert c.arm.counts()["writes"] == writes_before + 2
    puts = [e for e in c.arm.requests() if e["method"] == "PUT"][-2:]
    assert [e["status"] for e in puts] == [200, 200]
    # A real change does provision again.
    changed = nm.VirtualNetwork(location="eastus", tags={"managed-by": "multidc", "x": "y"},
                                address_space=nm.AddressSpace(address_prefixes=["10.1.0.0/16"]), subnets=same.subnets)
    after = c.network.virtual_networks.begin_create_or_update("rg1", "dc1-vnet", changed).result()
    assert after["systemData"]["lastModifiedAt"] > stamps[0]
    assert after["systemData"]["createdAt"] == first["systemData"]["createdAt"]


def test_subnets_inline_and_as_children_stay_in_sync(fast: Clients) -> None:
    c = fast
    make_rg(c, "rg1")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    c.network.subnets.begin_create_or_update("rg1", "dc1-vnet", "extra",
                                             nm.Subnet(address_prefix="10.1.16.0/24")).result()
    names = {s.name for s in c.network.virtual_networks.get("rg1", "dc1-vnet").subnets}
    assert names == {"nodes", "GatewaySubnet", "extra"}
    # A VNet PUT carries the whole subnet list, so one that leaves "extra" out deletes it, as in Azure.
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    assert {s.name for s in c.network.subnets.list("rg1", "dc1-vnet")} == {"nodes", "GatewaySubnet"}
    with pytest.raises(ResourceNotFoundError):
        c.network.subnets.get("rg1", "dc1-vnet", "extra")
    # ...but not a subnet a gateway uses.
    make_gateway_poller(c, "rg1", "dc1").result()
    with pytest.raises(HttpResponseError) as err:
        c.network.subnets.begin_delete("rg1", "dc1-vnet", "GatewaySubnet").result()
    assert err.value.error.code == "InUseSubnetCannotBeDeleted"


def code_of(call: object) -> str:
    with pytest.raises(HttpResponseError) as err:
        call()  # type: ignore[operator]
    assert err.value.error is not None
    return str(err.value.error.code)


def test_validation_answers_400_with_arm_codes(fast: Clients) -> None:
    c = fast
    make_rg(c, "rg1")
    assert code_of(lambda: make_vnet(c, "rg1", "bad", "10.1.0.0/16", "10.9.0.0/24", "10.1.255.0/27")) == \
        "NetcfgSubnetRangeOutsideVnet"
    assert code_of(lambda: make_vnet(c, "rg1", "bad", "10.1.0.0/16", "10.1.0.0/20", "10.1.0.0/27")) == \
        "NetcfgSubnetRangesOverlap"
    assert code_of(lambda: make_vnet(c, "nope", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")) == \
        "ResourceGroupNotFound"
    make_vnet(c, "rg1", "small", "10.7.0.0/16", "10.7.0.0/20", "10.7.255.0/28")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    gws = c.network.virtual_network_gateways
    assert code_of(lambda: make_gateway_poller(c, "rg1", "small")) == "GatewaySubnetTooSmallForGatewaySku"
    assert code_of(lambda: make_gateway_poller(c, "rg1", "dc1", sku="VpnGw1")) == "NonAzSkusNotAllowedForVpnGateway"
    body = gateway_body(c, "rg1", "dc1")
    body.ip_configurations[0].subnet = nm.SubResource(id=vnet_id("rg1", "dc1") + "/subnets/missing")
    assert code_of(lambda: gws.begin_create_or_update("rg1", "dc1-gw", body)) == "InvalidResourceReference"
    # VNets whose address spaces overlap can be neither peered nor connected.
    make_vnet(c, "rg1", "dc3", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    peering = nm.VirtualNetworkPeering(remote_virtual_network=nm.SubResource(id=vnet_id("rg1", "dc3")))
    assert code_of(lambda: c.network.virtual_network_peerings.begin_create_or_update(
        "rg1", "dc1-vnet", "p", peering)) == "VnetAddressSpacesOverlap"
    make_gateway_poller(c, "rg1", "dc1").result()
    make_gateway_poller(c, "rg1", "dc3").result()
    conn = connection_body(c, "rg1", "dc1-gw", "rg1", "dc3-gw")
    assert code_of(lambda: c.network.virtual_network_gateway_connections.begin_create_or_update(
        "rg1", "c", conn)) == "VnetAddressSpacesOverlap"
    with pytest.raises(ResourceNotFoundError) as nf:
        c.network.virtual_networks.get("rg1", "absent")
    assert nf.value.error.code == "ResourceNotFound"
    # Nothing that failed validation was stored.
    assert {r["name"] for r in c.arm.resources("Microsoft.Network/virtualNetworks")} == {"small-vnet", "dc1-vnet",
                                                                                          "dc3-vnet"}


def test_failed_gateway_raises_from_poller_then_succeeds_on_re_put(fast: Clients) -> None:
    c = fast
    make_rg(c, "rg1")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    c.arm.faults.fail_provisioning("dc1-gw", code="GatewayAllocationFailed")
    with pytest.raises(HttpResponseError) as err:
        make_gateway_poller(c, "rg1", "dc1").result()
    assert "GatewayAllocationFailed" in str(err.value)
    assert c.network.virtual_network_gateways.get("rg1", "dc1-gw").provisioning_state == "Failed"
    # The same body again: a Failed resource provisions again instead of being treated as unchanged.
    assert make_gateway_poller(c, "rg1", "dc1").result().provisioning_state == "Succeeded"


def test_throttling_and_server_errors_are_survived_by_the_sdk_retry_policy(fast: Clients) -> None:
    c = fast
    # azure-core retries one request at most 3 times on error statuses (retry_status=3), so the
    # faults here stay within that: 2 throttled answers then a 500, all on the first PUT.
    c.arm.faults.add_error_rate(429, rate=1.0, max_count=2, retry_after=0.01)
    c.arm.faults.add_error_rate(500, rate=1.0, max_count=1, methods=["PUT"])
    make_rg(c, "rg1")
    vnet = make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    assert vnet.provisioning_state == "Succeeded"
    counts = c.arm.counts()
    assert (counts["throttled"], counts["errors"]) == (2, 1)
    assert [e["status"] for e in c.arm.requests()[:4]] == [429, 429, 500, 201]
    assert all(f["fired"] == f["max_count"] for f in c.arm.faults.list())
