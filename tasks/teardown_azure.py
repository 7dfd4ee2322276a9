"""Azure half of teardown: delete, in dependency order, only what carries this ring's ownership tags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
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
from tasks import arm_kinds as kinds
from tasks.arm_ensure import ARM_TASK, Ensurer, run_logger
from tasks.arm_ops import ArmOps, tag_owner, to_wire
from tasks.arm_settle import settled_contents, until_accepted
from tasks.teardown_kube import Deletion
from tasks.vpn_key import forget_shared_key

# How many names of what keeps a resource group alive are worth a log line.
SHOW_AT_MOST = 5


def _or_none(fn: Callable[[], Any]) -> Callable[[], Any]:
    def call() -> Any:
        try:
            return fn()
        except ResourceNotFoundError:  # gone (or its parent is): nothing to do
            return None

    return call


def delete_if_owned(cloud: AzureCloud, target: ArmOps) -> Deletion:
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


def link_targets(cloud: AzureCloud, spec: RingSpec, dc: str, to: str | None = None) -> list[ArmOps]:
    """Gateway connections and peerings that start at `dc` (both kinds: the mode may have changed); only
    those that end at `to` when given."""
    out: list[ArmOps] = []
    for dst in (o for o in _others(spec, dc) if to in (None, o)):
        out += [kinds.connection(cloud, spec, dc, dst), kinds.peering(cloud, spec, dc, dst)]
    return out


def grant_targets(cloud: AzureCloud, spec: RingSpec, dc: str) -> list[ArmOps]:
    """The DC's Network Contributor grants, found on the node subnet by their description.

    A grant's name holds its principal (naming.role_assignment_name), which a re-created identity
    changes, and older runs named grants otherwise: the description is what marks them ours.
    """
    owner = kinds.description_owner(spec, dc)
    names = [str(g["name"]) for g in kinds.grants_at_scope(cloud, spec, dc, "atScope()") if owner(g) is None]
    if not names:
        placeholder = kinds.role_assignment(cloud, spec, dc, bodies.ROLE_ASSIGNMENT_ARTIFACT)
        return [replace(placeholder, get=lambda: None)]  # reported absent; nothing is called
    return [kinds.role_assignment(cloud, spec, dc, n) for n in names]


def base_targets(cloud: AzureCloud, spec: RingSpec, dc: str) -> list[ArmOps]:
    """What is left once cluster and gateway are gone, in order: IP, grant, identity, VNet last."""
    return [
        kinds.public_ip(cloud, spec, dc),
        *grant_targets(cloud, spec, dc),
        kinds.identity(cloud, spec, dc),
        # Last: its subnets are in use until the cluster and the gateway are gone, and for a
        # while after the cluster: AKS releases its node NICs from the subnet late (kinds.VNET_WAIT_OUT).
        kinds.vnet(cloud, spec, dc),
    ]


@task(**ARM_TASK)
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


@task(**ARM_TASK)
def delete_cluster(cloud: AzureCloud, spec: RingSpec, dc: str) -> Deletion:
    """Delete the DC's AKS cluster if it carries this ring's tags; waits up to the cluster deadline.

    Args:
        cloud: Where ARM is, how to authenticate; `cluster_deadline_seconds` bounds the wait.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        What was done.
    """
    return delete_if_owned(cloud, kinds.cluster(cloud, spec, dc))


@task(**ARM_TASK)
def delete_gateway(cloud: AzureCloud, spec: RingSpec, dc: str) -> Deletion:
    """Delete the DC's VPN gateway if it carries this ring's tags; waits up to the gateway deadline.

    Args:
        cloud: Where ARM is, how to authenticate; `gateway_deadline_seconds` bounds the wait.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        What was done.
    """
    return delete_if_owned(cloud, kinds.gateway(cloud, spec, dc))


@task(**ARM_TASK)
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


@task(**ARM_TASK)
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
    # Read once above: delete_if_owned checks the tags of what was read, not a second GET.
    target = replace(kinds.resource_group(cloud, spec, subscription_id, group), get=lambda: found)
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
