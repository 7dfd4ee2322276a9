"""ARM request bodies in REST wire format (camelCase JSON); secrets and run-time ids are left out."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from multidc_core import naming as n
from multidc_core.regions import zones_possible
from multidc_core.spec import AzureDC, InterconnectMode, RingSpec

Body = dict[str, Any]

SHARED_KEY_FIELD = "sharedKey"
# Stands in for the identity's principalId, which exists only once the identity is created.
PRINCIPAL_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
ROLE_ASSIGNMENT_ARTIFACT = "network-contributor"
PUBLIC_IP_ZONES = ["1", "2", "3"]
AGENT_POOL_NAME = "system"


def _az(spec: RingSpec, dc: str) -> AzureDC:
    az = spec.dc(dc).azure
    if az is None:
        raise ValueError(f"datacenter {dc!r} is not an azure datacenter")
    return az


def _tracked(spec: RingSpec, dc: str) -> Body:
    return {"location": _az(spec, dc).location, "tags": n.tags(spec.name, dc)}


def resource_group(spec: RingSpec, dc: str) -> Body:
    """A group has one location; DCs sharing one in several regions all ask for the first one's.

    Resources may sit in other regions than their group, so each DC's resources keep its own.
    """
    az = _az(spec, dc)
    home = next(
        d.azure.location
        for d in spec.azure_dcs
        if d.azure is not None
        and (d.azure.subscription_id, d.azure.resource_group.lower()) == (az.subscription_id, az.resource_group.lower())
    )
    return {**_tracked(spec, dc), "location": home}


def virtual_network(spec: RingSpec, dc: str) -> Body:
    az = _az(spec, dc)
    return {
        **_tracked(spec, dc),
        "properties": {
            "addressSpace": {"addressPrefixes": [str(az.vnet_cidr)]},
            # Subnets inline: a later PUT of the VNet without them would delete them.
            "subnets": [
                {"name": n.NODE_SUBNET, "properties": {"addressPrefix": str(az.node_subnet)}},
                {"name": n.GATEWAY_SUBNET, "properties": {"addressPrefix": str(az.gateway_subnet)}},
            ],
        },
    }


def public_ip(spec: RingSpec, dc: str) -> Body:
    body: Body = {
        **_tracked(spec, dc),
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"},
    }
    # Zone-redundant where the region has zones; elsewhere Azure refuses any zones on the IP.
    if zones_possible(_az(spec, dc).location):
        body["zones"] = list(PUBLIC_IP_ZONES)
    return body


def virtual_network_gateway(spec: RingSpec, dc: str) -> Body:
    sku = spec.interconnect.gateway_sku
    return {
        **_tracked(spec, dc),
        "properties": {
            "gatewayType": "Vpn",
            "vpnType": "RouteBased",
            "enableBgp": False,
            "activeActive": False,
            "sku": {"name": sku, "tier": sku},
            "ipConfigurations": [
                {
                    "name": "default",
                    "properties": {
                        "privateIPAllocationMethod": "Dynamic",
                        "subnet": {"id": n.subnet_id(spec, dc, n.GATEWAY_SUBNET)},
                        "publicIPAddress": {"id": n.public_ip_id(spec, dc)},
                    },
                }
            ],
        },
    }


def connection(spec: RingSpec, src: str, dst: str) -> Body:
    """Vnet2Vnet connection src -> dst, without `sharedKey`: add it with `with_shared_key`."""
    return {
        **_tracked(spec, src),
        "properties": {
            "connectionType": "Vnet2Vnet",
            "connectionProtocol": "IKEv2",
            "enableBgp": False,
            # The API requires gateway objects; id plus empty properties is the smallest it accepts.
            "virtualNetworkGateway1": {"id": n.gateway_id(spec, src), "properties": {}},
            "virtualNetworkGateway2": {"id": n.gateway_id(spec, dst), "properties": {}},
        },
    }


def with_shared_key(body: Body, shared_key: str) -> Body:
    """A copy of a connection body with the shared key set; call at run time only."""
    out = copy.deepcopy(body)
    out["properties"][SHARED_KEY_FIELD] = shared_key
    return out


def peering(spec: RingSpec, src: str, dst: str) -> Body:
    """Peering on src's VNet towards dst's (a child resource: ARM takes no location or tags)."""
    return {
        "properties": {
            "allowVirtualNetworkAccess": True,
            "allowForwardedTraffic": True,
            "allowGatewayTransit": False,
            "useRemoteGateways": False,
            "remoteVirtualNetwork": {"id": n.vnet_id(spec, dst)},
        }
    }


def user_assigned_identity(spec: RingSpec, dc: str) -> Body:
    return _tracked(spec, dc)


def role_assignment(spec: RingSpec, dc: str, principal_id: str = PRINCIPAL_ID_PLACEHOLDER) -> Body:
    """Network Contributor for the cluster identity on the node subnet (the scope is the URL).

    Role assignments take no tags, so ownership is written into `description`.
    """
    return {
        "properties": {
            "roleDefinitionId": n.role_definition_id(_az(spec, dc).subscription_id),
            "principalId": principal_id,
            "principalType": "ServicePrincipal",
            "description": f"{n.TAG_MANAGED_BY}={n.MANAGED_BY} {n.TAG_RING}={spec.name} {n.TAG_DC}={dc}",
        }
    }


def with_principal_id(body: Body, principal_id: str) -> Body:
    out = copy.deepcopy(body)
    out["properties"]["principalId"] = principal_id
    return out


def managed_cluster(spec: RingSpec, dc: str) -> Body:
    az = _az(spec, dc)
    pool: Body = {
        "name": AGENT_POOL_NAME,
        "mode": "System",
        "type": "VirtualMachineScaleSets",
        "osType": "Linux",
        "count": az.node_count,
        "vmSize": az.vm_size,
        "vnetSubnetID": n.subnet_id(spec, dc, n.NODE_SUBNET),
        "tags": n.tags(spec.name, dc),
    }
    if az.zones:
        pool["availabilityZones"] = list(az.zones)
    props: Body = {
        "dnsPrefix": n.dns_prefix(spec.name, dc),
        "enableRBAC": True,
        "agentPoolProfiles": [pool],
        "networkProfile": {
            "networkPlugin": "azure",
            # Without a policy engine the rendered NetworkPolicy would be stored but not enforced.
            "networkPolicy": "calico",
            "serviceCidr": str(az.service_cidr),
            "dnsServiceIP": str(az.dns_service_ip),
            # Zonal node pools and reaching an internal LB over global peering both need Standard.
            "loadBalancerSku": "standard",
            "outboundType": "loadBalancer",
        },
    }
    if az.kubernetes_version:
        props["kubernetesVersion"] = az.kubernetes_version
    return {
        **_tracked(spec, dc),
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {n.identity_id(spec, dc): {}}},
        "properties": props,
    }


@dataclass(frozen=True)
class AzureArtifact:
    """One ARM PUT: `kind` is also the step kind in the plan; `dc` owns the resource group."""

    dc: str
    kind: str
    name: str
    body: Body
    peer: str | None = None


def mesh(spec: RingSpec) -> list[tuple[str, str]]:
    """Ordered pairs (src, dst) of Azure DCs: both directions of every pair, since neither
    gateway connections nor peerings are transitive."""
    names = [dc.name for dc in spec.azure_dcs]
    return list(itertools.permutations(names, 2))


def azure_artifacts(spec: RingSpec) -> list[AzureArtifact]:
    """Every ARM body of the ring, grouped by DC in creation order."""
    out: list[AzureArtifact] = []
    r = spec.name
    mode = spec.interconnect.mode
    pairs = mesh(spec)
    for dc in spec.azure_dcs:
        d = dc.name
        az = _az(spec, d)
        out += [
            AzureArtifact(d, "resource_group", az.resource_group, resource_group(spec, d)),
            AzureArtifact(d, "identity", n.identity_name(r, d), user_assigned_identity(spec, d)),
            AzureArtifact(d, "vnet", n.vnet_name(r, d), virtual_network(spec, d)),
            # The grant's name depends on the identity's principalId, known only once it exists.
            AzureArtifact(d, "role_assignment", ROLE_ASSIGNMENT_ARTIFACT, role_assignment(spec, d)),
        ]
        if mode is InterconnectMode.VPN_GATEWAY:
            out += [
                AzureArtifact(d, "public_ip", n.public_ip_name(r, d), public_ip(spec, d)),
                AzureArtifact(d, "gateway", n.gateway_name(r, d), virtual_network_gateway(spec, d)),
            ]
        out.append(AzureArtifact(d, "cluster", n.cluster_name(r, d), managed_cluster(spec, d)))
        for src, dst in pairs:
            if src != d:
                continue
            if mode is InterconnectMode.VPN_GATEWAY:
                out.append(
                    AzureArtifact(
                        d, "connection", n.connection_name(r, d, dst), connection(spec, d, dst), dst
                    )
                )
            elif mode is InterconnectMode.GLOBAL_PEERING:
                out.append(AzureArtifact(d, "peering", n.peering_name(r, d, dst), peering(spec, d, dst), dst))
    return out
