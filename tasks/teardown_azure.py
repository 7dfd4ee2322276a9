"""Azure half of teardown: delete, in dependency order, only what carries this ring's ownership tags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.core.polling import LROPoller
from azure.mgmt.resource.resources.models import ResourceGroupPatchable
from prefect import task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import ObjectNotFound

from blocks.azure import AzureCloud
from blocks.kube import DatacenterKubeconfig, forget_kubeconfig
from multidc_core import azure_bodies as bodies
from multidc_core import naming
from multidc_core.spec import RingSpec
from tasks.arm_ensure import Ensurer, Wire, run_logger, tag_owner, to_wire
from tasks.arm_errors import retry_condition
from tasks.arm_settle import settled_contents, until_accepted
from tasks.azure_network import az
from tasks.teardown_kube import Deletion
from tasks.vpn_key import forget_shared_key

# Deletes are retried inside (call_arm); a task-level retry is the last resort for a poll that
# kept failing transiently, as for the ensure tasks.
TASK_RETRIES = 2
TASK_RETRY_DELAY_S: list[float] = [10.0, 60.0]
# How many names of what keeps a resource group alive are worth a log line.
SHOW_AT_MOST = 5


@dataclass(frozen=True)
class Doomed:
    """One resource teardown may delete: how to read it, delete it and tell that it is ours."""

    kind: str
    name: str
    get: Callable[[], Any]
    delete: Callable[[], Any]  # an LROPoller, or the SDK's answer for synchronous deletes
    owner: Callable[[Wire], str | None]  # None when ours, else why not
    deadline_s: float
    # Refusals that end by themselves: a subnet keeps a deleted cluster's NICs for a while
    # (InUseSubnetCannotBeDeleted); the delete is sent again until `deadline_s`.
    wait_out: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


def _or_none(fn: Callable[[], Any]) -> Callable[[], Any]:
    def call() -> Any:
        try:
            return fn()
        except ResourceNotFoundError:  # gone (or its parent is): nothing to do
            return None

    return call


def delete_if_owned(cloud: AzureCloud, target: Doomed) -> Deletion:
    """GET; absent is done; not ours is kept; ours is deleted and waited for under its deadline."""
    ensurer = Ensurer(cloud)
    found = ensurer.call(target.label, _or_none(target.get))
    if found is None:
        return Deletion(system="azure", kind=target.kind, name=target.name, action="absent")
    problem = target.owner(to_wire(found))
    if problem:
        ensurer.log.warning("kept %s: %s; multidc deletes only what it created", target.label, problem)
        return Deletion(system="azure", kind=target.kind, name=target.name, action="kept", reason=problem)
    ensurer.log.info("%s: deleting", target.label)

    started = until_accepted(cloud, ensurer, target.label, target.wait_out, target.deadline_s)(
        ensurer.call, target.label, _or_none(target.delete)
    )
    if isinstance(started, LROPoller):
        ensurer.wait_poller(target.label, started, target.deadline_s)
    ensurer.log.info("deleted %s", target.label)
    return Deletion(system="azure", kind=target.kind, name=target.name, action="deleted")


def _others(spec: RingSpec, dc: str) -> list[str]:
    return [d.name for d in spec.azure_dcs if d.name != dc]


def _vnet_owner(cloud: AzureCloud, spec: RingSpec, dc: str) -> Callable[[Wire], str | None]:
    """Peerings take no tags: one is ours when the VNet carrying it is."""
    a = az(spec, dc)
    vnets = cloud.network_client(a.subscription_id).virtual_networks
    name = naming.vnet_name(spec.name, dc)

    def check(_: Wire) -> str | None:
        vnet = Ensurer(cloud).call(
            f"virtual network {name}", _or_none(partial(vnets.get, a.resource_group, name))
        )
        if vnet is None:
            return f"its virtual network {name} is gone"
        problem = tag_owner(spec.name, dc)(to_wire(vnet))
        return f"its virtual network {name}: {problem}" if problem else None

    return check


def link_targets(cloud: AzureCloud, spec: RingSpec, dc: str, to: str | None = None) -> list[Doomed]:
    """Gateway connections and peerings that start at `dc` (both kinds: the mode may have changed); only
    those that end at `to` when given."""
    a = az(spec, dc)
    net = cloud.network_client(a.subscription_id)
    vnet = naming.vnet_name(spec.name, dc)
    out: list[Doomed] = []
    for dst in (o for o in _others(spec, dc) if to in (None, o)):
        conn = naming.connection_name(spec.name, dc, dst)
        api = net.virtual_network_gateway_connections
        out.append(
            Doomed(
                "gateway connection",
                conn,
                partial(api.get, a.resource_group, conn),
                partial(api.begin_delete, a.resource_group, conn),
                tag_owner(spec.name, dc),
                cloud.connection_deadline_seconds,
            )
        )
        peer = naming.peering_name(spec.name, dc, dst)
        papi = net.virtual_network_peerings
        out.append(
            Doomed(
                "VNet peering",
                peer,
                partial(papi.get, a.resource_group, vnet, peer),
                partial(papi.begin_delete, a.resource_group, vnet, peer),
                _vnet_owner(cloud, spec, dc),
                cloud.resource_deadline_seconds,
            )
        )
    return out


def cluster_target(cloud: AzureCloud, spec: RingSpec, dc: str) -> Doomed:
    a = az(spec, dc)
    api = cloud.containerservice_client(a.subscription_id).managed_clusters
    name = naming.cluster_name(spec.name, dc)
    return Doomed(
        "AKS cluster",
        name,
        partial(api.get, a.resource_group, name),
        partial(api.begin_delete, a.resource_group, name),
        tag_owner(spec.name, dc),
        cloud.cluster_deadline_seconds,
    )


def gateway_target(cloud: AzureCloud, spec: RingSpec, dc: str) -> Doomed:
    a = az(spec, dc)
    api = cloud.network_client(a.subscription_id).virtual_network_gateways
    name = naming.gateway_name(spec.name, dc)
    return Doomed(
        "VPN gateway",
        name,
        partial(api.get, a.resource_group, name),
        partial(api.begin_delete, a.resource_group, name),
        tag_owner(spec.name, dc),
        cloud.gateway_deadline_seconds,
    )


def _description_owner(spec: RingSpec, dc: str) -> Callable[[Wire], str | None]:
    want = bodies.role_assignment(spec, dc)["properties"]["description"]

    def check(wire: Wire) -> str | None:
        # Role assignments take no tags; provisioning writes the ownership into the description.
        have = (wire.get("properties") or {}).get("description") or wire.get("description")
        return None if have == want else f"its description is {have!r}, not {want!r}"

    return check


def grant_targets(cloud: AzureCloud, spec: RingSpec, dc: str) -> list[Doomed]:
    """The DC's Network Contributor grants, found on the node subnet by their description.

    A grant's name holds its principal (naming.role_assignment_name), which a re-created identity
    changes, and older runs named grants otherwise: the description is what marks them ours.
    """
    a = az(spec, dc)
    grants = cloud.authorization_client(a.subscription_id).role_assignments
    scope = naming.role_assignment_scope(spec, dc)
    owner = _description_owner(spec, dc)

    def ours() -> list[str]:
        try:
            return [g.name for g in grants.list_for_scope(scope, filter="atScope()") if owner(to_wire(g)) is None]
        except ResourceNotFoundError:  # the subnet is gone, and its grants with it
            return []

    names = Ensurer(cloud).call(f"role assignments at {scope}", ours)
    if not names:
        return [Doomed("role assignment", bodies.ROLE_ASSIGNMENT_ARTIFACT, lambda: None, lambda: None, owner, 0)]
    quick = cloud.resource_deadline_seconds
    return [
        Doomed("role assignment", n, partial(grants.get, scope, n), partial(grants.delete, scope, n), owner, quick)
        for n in names
    ]


def base_targets(cloud: AzureCloud, spec: RingSpec, dc: str) -> list[Doomed]:
    """What is left once cluster and gateway are gone, in order: IP, grant, identity, VNet last."""
    a = az(spec, dc)
    rg, ring = a.resource_group, spec.name
    ips = cloud.network_client(a.subscription_id).public_ip_addresses
    ids = cloud.msi_client(a.subscription_id).user_assigned_identities
    vnets = cloud.network_client(a.subscription_id).virtual_networks
    ip = naming.public_ip_name(ring, dc)
    ident, vnet = naming.identity_name(ring, dc), naming.vnet_name(ring, dc)
    owner = tag_owner(ring, dc)
    quick = cloud.resource_deadline_seconds
    return [
        Doomed("public IP", ip, partial(ips.get, rg, ip), partial(ips.begin_delete, rg, ip), owner, quick),
        *grant_targets(cloud, spec, dc),
        Doomed(
            "managed identity",
            ident,
            partial(ids.get, rg, ident),
            partial(ids.delete, rg, ident),
            owner,
            quick,
        ),
        # Last: its subnets are in use until the cluster and the gateway are gone, and for a
        # while after the cluster: AKS releases its node NICs from the subnet late.
        Doomed(
            "virtual network",
            vnet,
            partial(vnets.get, rg, vnet),
            partial(vnets.begin_delete, rg, vnet),
            owner,
            quick,
            wait_out=frozenset({"InUseSubnetCannotBeDeleted"}),
        ),
    ]


_DEFAULTS: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retries": TASK_RETRIES,
    "retry_delay_seconds": TASK_RETRY_DELAY_S,
    "retry_condition_fn": retry_condition,
}


@task(**_DEFAULTS)
def delete_links(cloud: AzureCloud, spec: RingSpec, dc: str, to: str | None = None) -> list[Deletion]:
    """Delete the gateway connections and peerings that start at `dc`, if they are this ring's.

    Args:
        cloud: Where ARM is, how to authenticate and how long to wait.
        spec: The ring spec.
        dc: An azure datacenter of the spec.
        to: Only the links that end at this datacenter (removing one DC); every link when None.

    Returns:
        One entry per link considered, with what was done.
    """
    return [delete_if_owned(cloud, t) for t in link_targets(cloud, spec, dc, to)]


@task(**_DEFAULTS)
def delete_cluster(cloud: AzureCloud, spec: RingSpec, dc: str) -> Deletion:
    """Delete the DC's AKS cluster if it carries this ring's tags; waits up to the cluster deadline.

    Args:
        cloud: Where ARM is, how to authenticate; `cluster_deadline_seconds` bounds the wait.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        What was done.
    """
    return delete_if_owned(cloud, cluster_target(cloud, spec, dc))


@task(**_DEFAULTS)
def delete_gateway(cloud: AzureCloud, spec: RingSpec, dc: str) -> Deletion:
    """Delete the DC's VPN gateway if it carries this ring's tags; waits up to the gateway deadline.

    Args:
        cloud: Where ARM is, how to authenticate; `gateway_deadline_seconds` bounds the wait.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        What was done.
    """
    return delete_if_owned(cloud, gateway_target(cloud, spec, dc))


@task(**_DEFAULTS)
def delete_dc_base(cloud: AzureCloud, spec: RingSpec, dc: str) -> list[Deletion]:
    """Delete the DC's public IP, role assignment, identity and VNet, when they are this ring's.

    Run after `delete_cluster` and `delete_gateway`: the VNet's subnets are theirs until then.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        One entry per resource considered, with what was done.
    """
    return [delete_if_owned(cloud, t) for t in base_targets(cloud, spec, dc)]


@task(**_DEFAULTS)
def delete_resource_group(cloud: AzureCloud, spec: RingSpec, subscription_id: str, group: str) -> Deletion:
    """Delete a resource group only if it carries this ring's tags and nothing else is left in it.

    Deleting a group deletes everything in it, so one resource multidc did not delete keeps
    the group. Such a group is released instead: this ring's tags are taken off it (other
    tags stay), so nothing claims the ring any more and the log names what is left. A group
    without this ring's tags is never touched.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        subscription_id: Subscription of the group.
        group: Resource group name.

    Returns:
        What was done: deleted, absent, or kept (with the reason).
    """
    rc = cloud.resource_client(subscription_id)
    ensurer = Ensurer(cloud)
    label = f"resource group {group}"
    found = ensurer.call(label, _or_none(partial(rc.resource_groups.get, group)))
    if found is None:
        return Deletion(system="azure", kind="resource group", name=group, action="absent")
    left = settled_contents(cloud, ensurer, subscription_id, group)
    tags = dict(to_wire(found).get("tags") or {})
    if left and tag_owner(spec.name, None)({"tags": tags}) is None:
        shown = ", ".join(left[:SHOW_AT_MOST]) + (" ..." if len(left) > SHOW_AT_MOST else "")
        reason = (
            f"it holds {len(left)} resource(s) multidc did not create: {shown}; released (ring tags removed)"
        )
        rest = {
            k: v for k, v in tags.items() if k not in (naming.TAG_RING, naming.TAG_DC, naming.TAG_MANAGED_BY)
        }
        ensurer.call(label, rc.resource_groups.update, group, ResourceGroupPatchable(tags=rest))
        ensurer.log.warning("kept %s: %s", label, reason)
        return Deletion(system="azure", kind="resource group", name=group, action="kept", reason=reason)
    target = Doomed(
        "resource group",
        group,
        lambda: found,
        partial(rc.resource_groups.begin_delete, group),
        tag_owner(spec.name, None),
        cloud.resource_deadline_seconds,
    )
    return delete_if_owned(cloud, target)


def secret_block_names(spec: RingSpec) -> list[tuple[type[Any], str]]:
    """The ring's Prefect blocks: VPN shared key, Cassandra admin, one kubeconfig per DC."""
    out: list[tuple[type[Any], str]] = [
        (Secret, naming.shared_key_block_name(spec.name)),
        (Secret, naming.admin_block_name(spec.name)),
    ]
    out += [(DatacenterKubeconfig, naming.kubeconfig_block_name(spec.name, d.name)) for d in spec.datacenters]
    return out


@task(cache_policy=NO_CACHE)
def delete_secret_blocks(spec: RingSpec) -> list[Deletion]:
    """Delete the ring's Prefect blocks that hold secrets (shared key, admin credentials, kubeconfigs).

    Run last: the kubeconfigs are how a re-run reaches the clusters. Values are never read.

    Args:
        spec: The ring spec.

    Returns:
        One entry per block name, deleted or absent.
    """
    logger = run_logger()
    out: list[Deletion] = []
    forget_shared_key(spec.name)
    for block_type, name in secret_block_names(spec):
        kind = "Secret block" if block_type is Secret else "kubeconfig block"
        forget_kubeconfig(name)
        try:
            block_type.delete(name)
        except (ObjectNotFound, ValueError):
            out.append(Deletion(system="prefect", kind=kind, name=name, action="absent"))
            continue
        logger.info("deleted %s %s", kind, name)
        out.append(Deletion(system="prefect", kind=kind, name=name, action="deleted"))
    return out
