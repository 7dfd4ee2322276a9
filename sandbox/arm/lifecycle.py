"""Azure's lifecycle rules: a busy resource refuses writes, an in-use one refuses deletes, deletes settle late.

Sources (docs/DESIGN.md, "Azure lifecycle: provisioning states, conflicts, deletes, connections"):
AnotherOperationInProgress and ReferencedResourceNotProvisioned as Network RP words them in public
reports (microsoft/AzureTRE#2222, hashicorp/terraform-provider-azurerm#2605); AKS OperationNotAllowed
from Microsoft's AKS troubleshooting article; PublicIPAddressCannotBeDeleted and
InUseSubnetCannotBeDeleted from public reports (terraform-provider-azurerm#2566, #688);
VirtualNetworkGatewayCannotBeDeleted from public reports (code only; the message is ours); ARM's
cache dropping a deleted resource only after a confirming GET from Microsoft's
"Azure Resource Manager resource group and resource deletion".
"""

from __future__ import annotations

from typing import Any

from sandbox.arm import derived
from sandbox.arm.errors import ArmError, bad_request
from sandbox.arm.ids import key
from sandbox.arm.store import Store

BUSY = ("Creating", "Updating", "Deleting")
# The only resources whose PUT with an unchanged body still starts an operation of its own.
ALWAYS_OPERATE = (derived.GATEWAY, derived.CLUSTER)


def busy_state(store: Store, rid: str) -> str | None:
    state = derived.state(store.resource(rid))
    return state if state in BUSY else None


def another_operation(rid: str) -> dict[str, Any]:
    return {"code": "AnotherOperationInProgress",
            "message": f"Another operation on this or dependent resource is in progress. Resource {rid} is busy; "
                       "retry once the running operation has finished."}


def check_write(store: Store, rid: str, type_key: str) -> None:
    """A second write to a resource whose own operation is still running is refused at once."""
    state = busy_state(store, rid)
    if state is None:
        return
    if type_key == derived.CLUSTER:
        raise ArmError(409, "OperationNotAllowed", f"Operation is not allowed: Another operation ({state}) is in "
                       "progress, please wait for it to finish before starting a new operation. See "
                       "https://aka.ms/aks-pending-operation for more details")
    if type_key.startswith("microsoft.network/"):
        err = another_operation(rid)
        raise ArmError(409, err["code"], err["message"])


def dependency_conflict(store: Store, resource: dict[str, Any]) -> dict[str, Any] | None:
    """The error an accepted write ends Failed with when a resource it depends on is busy."""
    t = resource["type"].lower()
    props = resource.get("properties") or {}
    if t in (derived.SUBNET, derived.PEERING):
        parent = resource["id"].rsplit("/", 2)[0]
        if busy_state(store, parent):
            return another_operation(parent)
    if t == derived.PEERING:
        remote = (props.get("remoteVirtualNetwork") or {}).get("id", "")
        state = busy_state(store, remote)
        if state:
            return {"code": "ReferencedResourceNotProvisioned",
                    "message": f"Cannot proceed with operation because resource {remote} used by resource "
                               f"{resource['id']} is not in Succeeded state. Resource is in {state} state and the "
                               "last operation that updated/is updating the resource is PutVirtualNetworkOperation."}
    if t == derived.CONNECTION:
        for side in ("virtualNetworkGateway1", "virtualNetworkGateway2"):
            gw = (props.get(side) or {}).get("id", "")
            if gw and busy_state(store, gw):
                return another_operation(gw)
    return None


def check_delete(store: Store, r: dict[str, Any]) -> None:
    """Deletes Network refuses while something still uses the resource."""
    t = r["type"].lower()
    if t == derived.PUBLIC_IP:
        for gw in store.of_type(derived.GATEWAY):
            for cfg in gw["properties"].get("ipConfigurations") or []:
                pip = ((cfg.get("properties") or {}).get("publicIPAddress") or {}).get("id", "")
                if key(pip) == key(r["id"]):
                    raise bad_request(
                        "PublicIPAddressCannotBeDeleted",
                        f"Public IP address {r['id']} can not be deleted since it is still allocated to resource "
                        f"{cfg.get('id') or gw['id']}. In order to delete the public IP, disassociate/detach the "
                        "Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.")
    elif t == derived.GATEWAY:
        users = [c["id"] for c in store.of_type(derived.CONNECTION)
                 if any(key((c["properties"].get(side) or {}).get("id") or "") == key(r["id"])
                        for side in ("virtualNetworkGateway1", "virtualNetworkGateway2"))]
        if users:
            raise bad_request("VirtualNetworkGatewayCannotBeDeleted",
                              f"Virtual network gateway {r['id']} cannot be deleted because it is used by "
                              f"connection(s) {', '.join(users)}. Delete the connections first.")


def release_cluster_nics(store: Store, cluster: dict[str, Any], until: float) -> None:
    """After a cluster delete its node NICs stay attached to the subnet for a while."""
    props = cluster.get("properties") or {}
    node_rg = props.get("nodeResourceGroup") or f"MC_{cluster['name']}"
    sub = cluster["id"].split("/")[2]
    for pool in props.get("agentPoolProfiles") or []:
        sid = pool.get("vnetSubnetID")
        if sid:
            nic = (f"/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Network/networkInterfaces/"
                   f"aks-{pool.get('name', 'nodepool')}-vmss/ipConfigurations/ipconfig1")
            old, _ = store.lingering.get(key(sid), ([], 0.0))
            store.lingering[key(sid)] = ([*old, nic], until)


def keep_listed(store: Store, r: dict[str, Any], until: float) -> None:
    """A deleted top-level resource stays in its group's resource list until ARM confirms it gone."""
    if r["type"].count("/") != 1 or r["type"].lower() == "microsoft.resources/resourcegroups":
        return
    entry: dict[str, Any] = {k: r[k] for k in ("id", "name", "type", "location", "tags") if k in r}
    store.listed_after_delete[key(r["id"])] = ({**entry, "provisioningState": "Deleting"}, until)


def still_listed(store: Store, group_id: str) -> list[dict[str, Any]]:
    now, prefix = store.now(), key(group_id) + "/"
    for k, (_, until) in list(store.listed_after_delete.items()):
        if until <= now or store.get(k) is not None:
            store.listed_after_delete.pop(k, None)
    return [entry for k, (entry, _) in store.listed_after_delete.items() if k.startswith(prefix)]


def forget_group(store: Store, group_id: str) -> None:
    prefix = key(group_id) + "/"
    for k in [k for k in store.listed_after_delete if k.startswith(prefix)]:
        store.listed_after_delete.pop(k, None)
    for k in [k for k in store.lingering if k.startswith(prefix)]:
        store.lingering.pop(k, None)
