"""Azure networking tasks: resource groups, VNets, gateways, connections and peerings."""

from __future__ import annotations

import time
from dataclasses import replace

from azure.mgmt.network.models import ConnectionSharedKey
from prefect import task
from pydantic import BaseModel, Field

from blocks.azure import AzureCloud
from multidc_core import azure_bodies as bodies
from multidc_core import naming
from multidc_core.spec import InterconnectMode, RingSpec
from tasks import arm_kinds as kinds
from tasks.arm_ensure import ARM_TASK, Ensurer, ResourceResult, ensure_described, result
from tasks.arm_errors import PermanentAzureError
from tasks.arm_kinds import az
from tasks.arm_ops import Wire
from tasks.vpn_key import shared_key

__all__ = [
    "LinkResult",
    "az",
    "ensure_gateway",
    "ensure_gateway_connection",
    "ensure_peering",
    "ensure_public_ip",
    "ensure_resource_group",
    "ensure_vnet",
    "wait_connected",
]


class LinkResult(BaseModel):
    """State of one directed interconnect link (gateway connection or peering)."""

    name: str = Field(description="Connection or peering name (src-to-dst).")
    kind: str = Field(description="gateway connection or peering.")
    status: str = Field(description="connectionStatus or peeringState at the end of the wait.")


def _norm_location(location: object) -> str:
    return str(location or "").replace(" ", "").lower()


def _no_tags(_: Wire) -> str | None:
    # Child resources (peerings) take no tags; they are ours because their parent VNet is.
    return None


@task(**ARM_TASK)
def ensure_resource_group(cloud: AzureCloud, spec: RingSpec, dc: str) -> ResourceResult:
    """Guarantee the DC's resource group exists, tagged for this ring.

    Several DCs may share a group, so ownership is checked on the ring tag only.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        The group's id and what was done.
    """
    a = az(spec, dc)
    sharers = [d.name for d in spec.azure_dcs if az(spec, d.name).resource_group == a.resource_group]
    ops = kinds.resource_group(cloud, spec, a.subscription_id, a.resource_group, dc)
    desired = ops.desired()
    found = Ensurer(cloud).read(ops)
    if found and _norm_location(found.get("location")) != _norm_location(desired["location"]):
        # A group's location is fixed at creation (a PUT with another answers 409
        # InvalidResourceGroupLocation); resources may live in other regions than their group.
        desired = {**desired, "location": found["location"]}
    compare = desired
    if len(sharers) > 1:
        # The first DC's tag stays on a shared group; comparing it would rewrite it every run.
        compare = {**desired, "tags": {k: v for k, v in desired["tags"].items() if k != naming.TAG_DC}}
    return result(ops, Ensurer(cloud).ensure(ops, desired, compare))


@task(**ARM_TASK)
def ensure_vnet(cloud: AzureCloud, spec: RingSpec, dc: str) -> ResourceResult:
    """Guarantee the DC's VNet exists with its address space and subnets `nodes` and `GatewaySubnet`.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        The VNet's id, provisioning state and what was done.
    """
    return ensure_described(cloud, kinds.vnet(cloud, spec, dc))


@task(**ARM_TASK)
def ensure_public_ip(cloud: AzureCloud, spec: RingSpec, dc: str) -> ResourceResult:
    """Guarantee the gateway's Standard, static, zone-redundant public IP exists.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        The public IP's id, provisioning state and what was done.
    """
    return ensure_described(cloud, kinds.public_ip(cloud, spec, dc))


@task(**ARM_TASK)
def ensure_gateway(cloud: AzureCloud, spec: RingSpec, dc: str) -> ResourceResult:
    """Guarantee the DC's route-based VPN gateway exists; waits up to the gateway deadline.

    A gateway whose provisioning Failed is reconciled (a PUT of the same body); if it stays
    Failed it is replaced only when no connection uses it, and the run fails otherwise.

    Args:
        cloud: Where ARM is and how to authenticate; `gateway_deadline_seconds` bounds the wait.
        spec: The ring spec (gateway SKU in `interconnect.gateway_sku`).
        dc: An azure datacenter of the spec.

    Returns:
        The gateway's id, provisioning state and what was done.
    """
    return ensure_described(cloud, kinds.gateway(cloud, spec, dc))


@task(**ARM_TASK)
def ensure_gateway_connection(cloud: AzureCloud, spec: RingSpec, src: str, dst: str) -> ResourceResult:
    """Guarantee the Vnet2Vnet connection from src's gateway to dst's, with the ring's shared key.

    The key lives in the Secret block `multidc-<ring>-vpn-shared-key` (created on first
    use); it is never a parameter, never logged and never returned.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        src: DC whose resource group and gateway the connection starts from.
        dst: DC whose gateway it goes to.

    Returns:
        The connection's id, provisioning state and what was done.
    """
    ops = kinds.connection(cloud, spec, src, dst)
    key = shared_key(spec.name)
    # sharedKey is write-only to ARM, so the comparison ignores it; only a write carries it.
    desired = bodies.with_shared_key(bodies.connection(spec, src, dst), key)
    done = result(ops, Ensurer(cloud).ensure(ops, desired))
    if _repair_shared_key(cloud, spec, src, dst, key) and done.action == "unchanged":
        done = done.model_copy(update={"action": "updated"})
    return done


def _repair_shared_key(cloud: AzureCloud, spec: RingSpec, src: str, dst: str, key: str) -> bool:
    """Read the connection's key back (GET never shows it) and set the ring's if it drifted.

    A link whose two sides hold different keys never connects: without this, a key changed by
    hand or by another tool costs the whole connection deadline (30 minutes) and then fails.
    """
    a = az(spec, src)
    api = cloud.network_client(a.subscription_id).virtual_network_gateway_connections
    name = naming.connection_name(spec.name, src, dst)
    label, ensurer = f"gateway connection {name}", Ensurer(cloud)
    have = ensurer.call(label, api.get_shared_key, a.resource_group, name)
    if have.value == key:
        return False
    ensurer.log.warning("%s: its shared key is not the ring's; setting the ring's again", label)
    started = ensurer.call(label, api.begin_set_shared_key, a.resource_group, name, ConnectionSharedKey(value=key))
    ensurer.wait_poller(label, started, cloud.connection_deadline_seconds)
    return True


@task(**ARM_TASK)
def ensure_peering(cloud: AzureCloud, spec: RingSpec, src: str, dst: str) -> ResourceResult:
    """Guarantee the global peering on src's VNet towards dst's VNet.

    The VNet must exist and be ours (the peering has no tags of its own). A peering left
    Disconnected (the remote side was deleted) is replaced.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        src: DC whose VNet carries the peering.
        dst: DC whose VNet it points to.

    Returns:
        The peering's id, provisioning state and what was done.
    """
    ensurer = Ensurer(cloud)
    vnet_ops = kinds.vnet(cloud, spec, src)
    vnet = ensurer.read(vnet_ops)
    if vnet is None or vnet_ops.owner(vnet):
        raise PermanentAzureError(
            f"VNet peering {naming.peering_name(spec.name, src, dst)}",
            "ParentNotReady",
            f"its VNet {vnet_ops.name} is missing or not owned by multidc; run ensure_vnet first",
        )
    # The VNet was just checked: the peering's own owner check (which reads it again) is not needed.
    ops = replace(kinds.peering(cloud, spec, src, dst), owner=_no_tags)
    actual = ensurer.read(ops)
    if actual is not None and (actual.get("properties") or {}).get("peeringState") == "Disconnected":
        ensurer.log.warning("%s: Disconnected (remote side was re-created); replacing it", ops.label)
        ensurer.remove(ops)
        outcome = ensurer.ensure(ops, ops.desired())
        outcome.action = "replaced"
        return result(ops, outcome)
    return result(ops, ensurer.ensure(ops, ops.desired()))


@task(**ARM_TASK)
def wait_connected(cloud: AzureCloud, spec: RingSpec, src: str, dst: str) -> LinkResult:
    """Wait until the link src -> dst reports Connected (connection or peering, by interconnect mode).

    Polls every `poll_interval_seconds` and fails after `connection_deadline_seconds` with
    the link's last state.

    Args:
        cloud: Where ARM is, how to authenticate, how often to poll and for how long.
        spec: The ring spec.
        src: DC the link starts from.
        dst: DC the link goes to.

    Returns:
        The link's name and final status.
    """
    start = time.monotonic()
    mode = spec.interconnect.mode
    if mode is InterconnectMode.VPN_GATEWAY:
        ops = kinds.connection(cloud, spec, src, dst)
        key = "connectionStatus"
    elif mode is InterconnectMode.GLOBAL_PEERING:
        ops = kinds.peering(cloud, spec, src, dst)
        key = "peeringState"
    else:
        raise ValueError(f"interconnect mode {mode.value!r} has no Azure links to wait for")
    wire = Ensurer(cloud).wait_for_state(
        ops, lambda w: (w.get("properties") or {}).get(key) == "Connected", cloud.connection_deadline_seconds
    )
    status = str((wire.get("properties") or {}).get(key))
    Ensurer(cloud).log.info("%s: %s after %.0fs", ops.label, status, time.monotonic() - start)
    return LinkResult(name=ops.name, kind=ops.kind, status=status)
