"""ARM bodies: valid against the OpenAPI definitions, and carrying the facts FIELD-NOTES lists."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

import pytest

from multidc_core import azure_bodies as ab
from multidc_core import naming as n
from multidc_core.plan import render_files
from tests.render_support import check_body, example_names, load_example

AZURE_EXAMPLES = [e for e in example_names() if load_example(e).azure_dcs]


def test_examples_with_azure_exist() -> None:
    assert {"two-dc-vpn", "two-dc-peering", "three-dc-vpn"} <= set(AZURE_EXAMPLES)


@pytest.mark.parametrize("example", AZURE_EXAMPLES)
def test_every_body_matches_its_openapi_definition(example: str) -> None:
    problems = {
        f"{a.kind} {a.name}": check_body(a.kind, a.body) for a in ab.azure_artifacts(load_example(example))
    }
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize(
    ("kind", "mutate", "expected"),
    [
        ("vnet", lambda b: b["properties"].update(bogus=1), "properties.bogus: unknown property"),
        ("gateway", lambda b: b["properties"].update(vpnType="Sideways"), "not in"),
        ("gateway", lambda b: b["properties"]["sku"].update(name="VpnGw9AZ"), "not in"),
        (
            "cluster",
            lambda b: b["properties"]["networkProfile"].update(networkPlugn="azure"),
            "unknown property",
        ),
        ("public_ip", lambda b: b.update(provisioningState="x"), "unknown property"),
        ("connection", lambda b: b["properties"].pop("connectionType"), "missing required connectionType"),
        ("peering", lambda b: b["properties"].update(provisioningState="Succeeded"), "read-only"),
        ("role_assignment", lambda b: b["properties"].update(principalType="Robot"), "not in"),
        ("identity", lambda b: b.update(tags=["a"]), "array where object expected"),
    ],
)
def test_the_checker_catches_mistakes(
    kind: str, mutate: Callable[[dict[str, Any]], object], expected: str
) -> None:
    spec = load_example("two-dc-peering" if kind == "peering" else "two-dc-vpn")
    body = next(a.body for a in ab.azure_artifacts(spec) if a.kind == kind)
    mutate(body)
    assert any(expected in p for p in check_body(kind, body)), check_body(kind, body)


def test_vpn_facts() -> None:
    spec = load_example("two-dc-vpn")
    d, e = (dc.name for dc in spec.datacenters)
    gw = ab.virtual_network_gateway(spec, d)["properties"]
    assert gw["sku"] == {"name": "VpnGw1AZ", "tier": "VpnGw1AZ"}
    assert (gw["gatewayType"], gw["vpnType"], gw["enableBgp"]) == ("Vpn", "RouteBased", False)
    ipconf = gw["ipConfigurations"][0]["properties"]
    assert ipconf["subnet"]["id"].endswith("/subnets/GatewaySubnet")
    assert ipconf["publicIPAddress"]["id"] == n.public_ip_id(spec, d)
    ip = ab.public_ip(spec, d)
    assert ip["sku"]["name"] == "Standard"
    assert ip["properties"]["publicIPAllocationMethod"] == "Static"
    assert ip["zones"] == ["1", "2", "3"]
    subnets = {
        s["name"]: s["properties"]["addressPrefix"]
        for s in ab.virtual_network(spec, d)["properties"]["subnets"]
    }
    assert set(subnets) == {"nodes", "GatewaySubnet"}
    assert ipaddress.ip_network(subnets["GatewaySubnet"]).prefixlen <= 27
    there, back = ab.connection(spec, d, e)["properties"], ab.connection(spec, e, d)["properties"]
    assert there["connectionType"] == back["connectionType"] == "Vnet2Vnet"
    assert (
        there["virtualNetworkGateway1"]["id"] == back["virtualNetworkGateway2"]["id"] == n.gateway_id(spec, d)
    )


def test_the_shared_key_is_never_rendered_but_can_be_added() -> None:
    spec = load_example("two-dc-vpn")
    d, e = (dc.name for dc in spec.datacenters)
    body = ab.connection(spec, d, e)
    assert ab.SHARED_KEY_FIELD not in body["properties"]
    keyed = ab.with_shared_key(body, "s3cret")
    assert keyed["properties"]["sharedKey"] == "s3cret"
    assert ab.SHARED_KEY_FIELD not in body["properties"]
    assert check_body("connection", keyed) == []
    assert not any('"sharedKey":' in text for text in render_files(spec).values())


def test_peering_full_mesh_and_no_gateways() -> None:
    spec = load_example("two-dc-peering")
    kinds = [a.kind for a in ab.azure_artifacts(spec)]
    assert "gateway" not in kinds and "public_ip" not in kinds and "connection" not in kinds
    assert kinds.count("peering") == 2
    d, e = (dc.name for dc in spec.datacenters)
    p = ab.peering(spec, d, e)["properties"]
    assert p["allowVirtualNetworkAccess"] and p["allowForwardedTraffic"]
    assert p["remoteVirtualNetwork"]["id"] == n.vnet_id(spec, e)


def test_three_dcs_get_a_full_mesh_of_connections() -> None:
    arts = ab.azure_artifacts(load_example("three-dc-vpn"))
    pairs = {(a.dc, a.peer) for a in arts if a.kind == "connection"}
    assert len(pairs) == 6
    assert all((b, a) in pairs for a, b in pairs)


def test_identity_role_and_cluster() -> None:
    spec = load_example("two-dc-vpn")
    d = spec.datacenters[0].name
    az = spec.datacenters[0].azure
    assert az is not None
    role = ab.role_assignment(spec, d)["properties"]
    assert role["roleDefinitionId"].endswith("/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7")
    assert role["principalType"] == "ServicePrincipal"
    assert role["principalId"] == ab.PRINCIPAL_ID_PLACEHOLDER
    assert ab.with_principal_id(ab.role_assignment(spec, d), "p")["properties"]["principalId"] == "p"
    assert n.role_assignment_scope(spec, d) == n.subnet_id(spec, d, "nodes")
    mc = ab.managed_cluster(spec, d)
    assert mc["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {n.identity_id(spec, d): {}}}
    net = mc["properties"]["networkProfile"]
    assert net["networkPlugin"] == "azure"
    assert (net["serviceCidr"], net["dnsServiceIP"]) == (str(az.service_cidr), str(az.dns_service_ip))
    assert net["loadBalancerSku"] == "standard"
    (pool,) = mc["properties"]["agentPoolProfiles"]
    assert pool["mode"] == "System"
    assert pool["vnetSubnetID"] == n.subnet_id(spec, d, "nodes")
    assert (pool["count"], pool["vmSize"], pool["availabilityZones"]) == (az.node_count, az.vm_size, az.zones)


@pytest.mark.parametrize("example", AZURE_EXAMPLES)
def test_every_tracked_body_carries_the_ownership_tags(example: str) -> None:
    spec = load_example(example)
    for a in ab.azure_artifacts(spec):
        if a.kind in ("peering", "role_assignment"):  # child/extension resources: ARM takes no tags
            continue
        assert a.body["tags"] == n.tags(spec.name, a.dc), a.name


def test_rendered_json_is_the_body() -> None:
    spec = load_example("two-dc-vpn")
    files = render_files(spec)
    body = json.loads(files["azure/dc-eastus/06-gateway-multidc-dc-eastus-gw.json"])
    assert body == ab.virtual_network_gateway(spec, "dc-eastus")
