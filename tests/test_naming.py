"""Deterministic names, ids, seeds and rack placement (DESIGN.md "Names")."""

from __future__ import annotations

import uuid

import pytest

from multidc_core import naming as n
from multidc_core.spec import CassandraDC, Datacenter, Rack
from tests.render_support import load_example


def test_azure_names_follow_the_design() -> None:
    assert n.vnet_name("r", "d") == "r-d-vnet"
    assert n.public_ip_name("r", "d") == "r-d-gw-ip"
    assert n.gateway_name("r", "d") == "r-d-gw"
    assert n.connection_name("r", "d", "e") == "r-d-to-e"
    assert n.peering_name("r", "d", "e") == "r-d-to-e"
    assert n.identity_name("r", "d") == "r-d-aks-id"
    assert n.cluster_name("r", "d") == "r-d-aks"
    assert n.role_assignment_name("/S/x", "P", "/R") == str(uuid.uuid5(uuid.NAMESPACE_URL, "/s/x/p//r"))
    assert n.role_assignment_name("/S/x", "P", "/R") == n.role_assignment_name("/s/X", "p", "/r")  # ARM ids ignore case
    assert n.role_assignment_name("/s/x", "p", "/r") != n.role_assignment_name("/s2/x", "p", "/r")


def test_tags_and_labels() -> None:
    assert n.tags("r", "d") == {"multidc-ring": "r", "multidc-dc": "d", "managed-by": "multidc"}
    assert n.labels("r", "d") == {
        "multidc.io/ring": "r",
        "multidc.io/dc": "d",
        "app.kubernetes.io/managed-by": "multidc",
    }


def test_arm_ids() -> None:
    assert n.arm_id("S", "G", "Microsoft.Network/virtualNetworks", "v") == (
        "/subscriptions/S/resourceGroups/G/providers/Microsoft.Network/virtualNetworks/v"
    )
    assert n.arm_id("S", "G", "Microsoft.Network/virtualNetworks", "v", "subnets", "nodes").endswith(
        "/virtualNetworks/v/subnets/nodes"
    )
    spec = load_example("two-dc-vpn")
    sub = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/multidc-eastus/providers/"
    assert n.subnet_id(spec, "dc-eastus", "GatewaySubnet") == (
        sub + "Microsoft.Network/virtualNetworks/multidc-dc-eastus-vnet/subnets/GatewaySubnet"
    )
    assert (
        n.gateway_id(spec, "dc-eastus")
        == sub + "Microsoft.Network/virtualNetworkGateways/multidc-dc-eastus-gw"
    )
    assert n.identity_id(spec, "dc-eastus") == (
        sub + "Microsoft.ManagedIdentity/userAssignedIdentities/multidc-dc-eastus-aks-id"
    )
    assert n.peering_id(spec, "dc-eastus", "dc-southcentralus").endswith(
        "/virtualNetworks/multidc-dc-eastus-vnet/virtualNetworkPeerings/multidc-dc-eastus-to-dc-southcentralus"
    )
    assert n.role_definition_id("S") == (
        "/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"
    )


def test_ids_refuse_a_kubeconfig_dc() -> None:
    with pytest.raises(ValueError, match="not an azure datacenter"):
        n.vnet_id(load_example("existing-clusters"), "aws-1")


def _dc(nodes: int, racks: list[str]) -> Datacenter:
    return Datacenter.model_validate(
        {
            "name": "d",
            "namespace": "ns",
            "provider": "kubeconfig",
            "kubeconfig": {"path": "p", "context": "c"},
            "cassandra": CassandraDC(nodes=nodes, racks=[Rack(name=r) for r in racks]).model_dump(),
        }
    )


@pytest.mark.parametrize(
    ("nodes", "racks", "replicas"),
    [
        (3, ["a", "b", "c"], [1, 1, 1]),
        (5, ["a", "b", "c"], [2, 2, 1]),
        (2, ["a", "b", "c"], [1, 1, 0]),
        (4, ["a"], [4]),
    ],
)
def test_round_robin_over_racks(nodes: int, racks: list[str], replicas: list[int]) -> None:
    dc = _dc(nodes, racks)
    assert [(rn.statefulset, rn.replicas) for rn in n.rack_nodes(dc)] == [
        (f"cassandra-{r}", c) for r, c in zip(racks, replicas, strict=True)
    ]
    assert len(n.pods(dc)) == nodes


def test_seeds_are_the_first_two_pods_of_every_dc() -> None:
    assert n.pods(_dc(5, ["a", "b", "c"])) == [
        "cassandra-a-0",
        "cassandra-b-0",
        "cassandra-c-0",
        "cassandra-a-1",
        "cassandra-b-1",
    ]
    assert n.dc_seeds(_dc(3, ["a"])) == [
        "cassandra-a-0.cassandra.ns.svc.cluster.local",
        "cassandra-a-1.cassandra.ns.svc.cluster.local",
    ]
    assert n.dc_seeds(_dc(1, ["a", "b"])) == ["cassandra-a-0.cassandra.ns.svc.cluster.local"]
    spec = load_example("three-dc-vpn")
    seeds = n.seeds_csv(spec).split(",")
    assert len(seeds) == 6
    assert seeds[0] == n.pod_fqdn("cassandra-rack1-0", spec.datacenters[0].namespace)


def test_zone_label_is_aks_style_for_azure_zones_only() -> None:
    spec = load_example("two-dc-vpn")
    dc = spec.datacenters[0]
    assert n.zone_label(dc, dc.cassandra.racks[1]) == "eastus-2"
    assert n.zone_label(_dc(1, ["a"]), Rack(name="a", zone="us-east-1a")) == "us-east-1a"
    assert n.zone_label(_dc(1, ["a"]), Rack(name="a")) is None


def test_coredns_key_and_zone() -> None:
    assert n.coredns_custom_key("dc2") == "multidc-dc2.server"
    assert n.namespace_zone("dc2") == "dc2.svc.cluster.local"
