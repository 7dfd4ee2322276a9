"""Each Azure resource kind described once: its SDK operations, body, ownership check and deadline.

The ensure tasks (azure_network, identity, aks) write with these and teardown_azure deletes with
them, so a kind's SDK calls are bound in one place only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.containerservice.models import ManagedCluster
from azure.mgmt.network.models import (
    PublicIPAddress,
    VirtualNetwork,
    VirtualNetworkGateway,
    VirtualNetworkGatewayConnection,
    VirtualNetworkPeering,
)
from azure.mgmt.resource.resources.models import ResourceGroup

from blocks.azure import AzureCloud
from multidc_core import azure_bodies as bodies
from multidc_core import naming
from multidc_core.spec import AzureDC, RingSpec
from tasks.arm_ensure import Ensurer
from tasks.arm_ops import ArmOps, Wire, tag_owner, to_wire

# A subnet keeps a deleted cluster's node NICs for a while; the VNet's delete is refused meanwhile.
VNET_WAIT_OUT = frozenset({"InUseSubnetCannotBeDeleted"})


def az(spec: RingSpec, dc: str) -> AzureDC:
    """The Azure settings of an azure DC; anything else is a bug in the caller."""
    settings = spec.dc(dc).azure
    if settings is None:
        raise ValueError(f"datacenter {dc!r} is not an azure datacenter")
    return settings


def _ops(
    kind: str,
    api: Any,
    path: tuple[str, ...],
    model: Any,
    owner: Callable[[Wire], str | None],
    deadline_s: float,
    *,
    put: str = "begin_create_or_update",
    delete: str = "begin_delete",
    **more: Any,
) -> ArmOps:
    """ArmOps of the resource at `path` (its parent's names, then its own) in one operations group."""
    return ArmOps(
        kind,
        path[-1],
        get=partial(api.get, *path),
        put=partial(getattr(api, put), *path),
        delete=partial(getattr(api, delete), *path),
        model=model,
        owner=owner,
        deadline_s=deadline_s,
        **more,
    )


def resource_group(
    cloud: AzureCloud, spec: RingSpec, subscription_id: str, group: str, dc: str | None = None
) -> ArmOps:
    """A resource group; shared by DCs, so it is ours by the ring tag alone. `dc`: whose body to write."""
    api = cloud.resource_client(subscription_id).resource_groups
    body = None if dc is None else partial(bodies.resource_group, spec, dc)
    return _ops("resource group", api, (group,), ResourceGroup, tag_owner(spec.name, None),
                cloud.resource_deadline_seconds, put="create_or_update", body=body)  # fmt: skip


def vnet(cloud: AzureCloud, spec: RingSpec, dc: str) -> ArmOps:
    """The DC's VNet with its `nodes` and `GatewaySubnet` subnets; deleted last, once they are free."""
    a = az(spec, dc)
    api = cloud.network_client(a.subscription_id).virtual_networks
    return _ops("virtual network", api, (a.resource_group, naming.vnet_name(spec.name, dc)), VirtualNetwork,
                tag_owner(spec.name, dc), cloud.resource_deadline_seconds,
                body=partial(bodies.virtual_network, spec, dc), wait_out=VNET_WAIT_OUT)  # fmt: skip


def public_ip(cloud: AzureCloud, spec: RingSpec, dc: str) -> ArmOps:
    """The gateway's Standard, static, zone-redundant public IP."""
    a = az(spec, dc)
    api = cloud.network_client(a.subscription_id).public_ip_addresses
    return _ops("public IP", api, (a.resource_group, naming.public_ip_name(spec.name, dc)), PublicIPAddress,
                tag_owner(spec.name, dc), cloud.resource_deadline_seconds, body=partial(bodies.public_ip, spec, dc))  # fmt: skip


def gateway(cloud: AzureCloud, spec: RingSpec, dc: str) -> ArmOps:
    """The DC's route-based VPN gateway; replaced (never just deleted) only when no connection uses it."""
    a = az(spec, dc)
    api = cloud.network_client(a.subscription_id).virtual_network_gateways
    return _ops("VPN gateway", api, (a.resource_group, naming.gateway_name(spec.name, dc)), VirtualNetworkGateway,
                tag_owner(spec.name, dc), cloud.gateway_deadline_seconds,
                body=partial(bodies.virtual_network_gateway, spec, dc),
                users_if_replaced=partial(gateway_users, cloud, spec, dc))  # fmt: skip


def gateway_users(cloud: AzureCloud, spec: RingSpec, dc: str) -> list[str]:
    """Connections, in any of the ring's resource groups, with the DC's gateway at either end."""
    gw = naming.gateway_name(spec.name, dc).lower()
    groups = {(az(spec, d.name).subscription_id, az(spec, d.name).resource_group) for d in spec.azure_dcs}
    ensurer = Ensurer(cloud)
    users: list[str] = []
    for sub, rg in sorted(groups):
        listing = partial(cloud.network_client(sub).virtual_network_gateway_connections.list, rg)
        for conn in ensurer.call(f"connections in {rg}", lambda fn=listing: list(fn())):
            ends = [conn.virtual_network_gateway1, conn.virtual_network_gateway2]
            if any(
                e is not None and (e.id or "").lower().endswith(f"/virtualnetworkgateways/{gw}") for e in ends
            ):
                users.append(str(conn.name))
    return users


def connection(cloud: AzureCloud, spec: RingSpec, src: str, dst: str) -> ArmOps:
    """The Vnet2Vnet connection from src's gateway to dst's (in src's group); its body has no key."""
    a = az(spec, src)
    api = cloud.network_client(a.subscription_id).virtual_network_gateway_connections
    return _ops("gateway connection", api, (a.resource_group, naming.connection_name(spec.name, src, dst)),
                VirtualNetworkGatewayConnection, tag_owner(spec.name, src), cloud.connection_deadline_seconds,
                body=partial(bodies.connection, spec, src, dst))  # fmt: skip


def vnet_owner(cloud: AzureCloud, spec: RingSpec, dc: str) -> Callable[[Wire], str | None]:
    """Peerings take no tags: one is ours when the VNet carrying it is (read at check time)."""
    parent = vnet(cloud, spec, dc)

    def check(_: Wire) -> str | None:
        found = Ensurer(cloud).read(parent)
        if found is None:
            return f"its virtual network {parent.name} is gone"
        problem = parent.owner(found)
        return f"its virtual network {parent.name}: {problem}" if problem else None

    return check


def peering(cloud: AzureCloud, spec: RingSpec, src: str, dst: str) -> ArmOps:
    """The global peering on src's VNet towards dst's VNet."""
    a = az(spec, src)
    api = cloud.network_client(a.subscription_id).virtual_network_peerings
    path = (a.resource_group, naming.vnet_name(spec.name, src), naming.peering_name(spec.name, src, dst))
    return _ops("VNet peering", api, path, VirtualNetworkPeering, vnet_owner(cloud, spec, src),
                cloud.resource_deadline_seconds, body=partial(bodies.peering, spec, src, dst))  # fmt: skip


def identity(cloud: AzureCloud, spec: RingSpec, dc: str) -> ArmOps:
    """The AKS cluster's user-assigned identity (quick: no long-running operation)."""
    a = az(spec, dc)
    api = cloud.msi_client(a.subscription_id).user_assigned_identities
    return _ops("managed identity", api, (a.resource_group, naming.identity_name(spec.name, dc)),
                api.models.Identity, tag_owner(spec.name, dc), cloud.resource_deadline_seconds,
                put="create_or_update", delete="delete", body=partial(bodies.user_assigned_identity, spec, dc))  # fmt: skip


def description_owner(spec: RingSpec, dc: str) -> Callable[[Wire], str | None]:
    """Role assignments take no tags; azure_bodies writes the ownership into the description."""
    want = bodies.role_assignment(spec, dc)["properties"]["description"]

    def check(wire: Wire) -> str | None:
        have = (wire.get("properties") or {}).get("description") or wire.get("description")
        return None if have == want else f"its description is {have!r}, not {want!r}"

    return check


def role_assignment(
    cloud: AzureCloud, spec: RingSpec, dc: str, name: str, principal_id: str | None = None
) -> ArmOps:
    """A Network Contributor grant on the DC's node subnet; cannot change in place, so it is replaced."""
    a = az(spec, dc)
    api = cloud.authorization_client(a.subscription_id).role_assignments
    body = None
    if principal_id is not None:
        body = partial(lambda p: bodies.with_principal_id(bodies.role_assignment(spec, dc), p), principal_id)
    return _ops("role assignment", api, (naming.role_assignment_scope(spec, dc), name),
                api.models.RoleAssignmentCreateParameters, description_owner(spec, dc),
                cloud.resource_deadline_seconds, put="create", delete="delete", replace_on_change=True, body=body)  # fmt: skip


def grants_at_scope(cloud: AzureCloud, spec: RingSpec, dc: str, odata_filter: str) -> list[Wire]:
    """Role assignments at the DC's node subnet that match `odata_filter` (ARM's $filter)."""
    a = az(spec, dc)
    api = cloud.authorization_client(a.subscription_id).role_assignments
    scope = naming.role_assignment_scope(spec, dc)

    def listing() -> list[Wire]:
        try:
            return [to_wire(g) for g in api.list_for_scope(scope, filter=odata_filter)]
        except ResourceNotFoundError:  # the subnet is gone, and its grants with it
            return []

    return Ensurer(cloud).call(f"role assignments at {scope}", listing)


def cluster(cloud: AzureCloud, spec: RingSpec, dc: str) -> ArmOps:
    """The DC's AKS cluster: Azure CNI in the node subnet, the DC's identity."""
    a = az(spec, dc)
    api = cloud.containerservice_client(a.subscription_id).managed_clusters
    return _ops("AKS cluster", api, (a.resource_group, naming.cluster_name(spec.name, dc)), ManagedCluster,
                tag_owner(spec.name, dc), cloud.cluster_deadline_seconds, body=partial(bodies.managed_cluster, spec, dc))  # fmt: skip
