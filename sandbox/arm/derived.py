"""What GET shows beyond what was PUT: inline children, connection status, peering state, no secrets."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.arm import validate
from sandbox.arm.ids import key
from sandbox.arm.store import Store

VNET = "microsoft.network/virtualnetworks"
SUBNET = "microsoft.network/virtualnetworks/subnets"
PEERING = "microsoft.network/virtualnetworks/virtualnetworkpeerings"
GATEWAY = "microsoft.network/virtualnetworkgateways"
PUBLIC_IP = "microsoft.network/publicipaddresses"
CONNECTION = "microsoft.network/connections"
CLUSTER = "microsoft.containerservice/managedclusters"
IDENTITY = "microsoft.managedidentity/userassignedidentities"
ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments"


def state(r: dict[str, Any] | None) -> str | None:
    return ((r or {}).get("properties") or {}).get("provisioningState")


def children(store: Store, parent_id: str, child_type: str) -> list[dict[str, Any]]:
    return [rec["resource"] for rec in store.under(parent_id)
            if rec["resource"]["type"].lower() == child_type]


def connection_status(store: Store, conn: dict[str, Any]) -> str:
    """Connected only when the reverse connection exists with the same key and both gateways are up."""
    rec = store.get(conn["id"])
    if state(conn) != "Succeeded" or rec is None:
        return "Unknown"
    p = conn["properties"]
    if p.get("connectionType") != "Vnet2Vnet":
        return "NotConnected"  # no on-premises side exists in the sandbox
    gw1 = (p.get("virtualNetworkGateway1") or {}).get("id", "")
    gw2 = (p.get("virtualNetworkGateway2") or {}).get("id", "")
    if state(store.resource(gw1)) != "Succeeded" or state(store.resource(gw2)) != "Succeeded":
        return "Connecting"
    for other in store.records():
        o = other["resource"]
        if o["type"].lower() != CONNECTION or state(o) != "Succeeded":
            continue
        op = o["properties"]
        if (key((op.get("virtualNetworkGateway1") or {}).get("id", "")) == key(gw2)
                and key((op.get("virtualNetworkGateway2") or {}).get("id", "")) == key(gw1)):
            if other["secrets"].get("sharedKey") != rec["secrets"].get("sharedKey"):
                return "NotConnected"  # IKE fails on a key mismatch; the tunnel never comes up
            # The tunnel comes up some minutes after the later of the two directions is provisioned.
            up_at = max(rec.get("up_at", 0.0), other.get("up_at", 0.0))
            return "Connected" if store.now() >= up_at else "Connecting"
    return "Connecting"


def peering_local_vnet(peering_id: str) -> str:
    return peering_id[: key(peering_id).rfind("/virtualnetworkpeerings/")]


def reverse_peering(store: Store, peering: dict[str, Any]) -> dict[str, Any] | None:
    remote = (peering["properties"].get("remoteVirtualNetwork") or {}).get("id", "")
    local = key(peering_local_vnet(peering["id"]))
    for p in children(store, remote, PEERING):
        if key((p["properties"].get("remoteVirtualNetwork") or {}).get("id", "")) == local:
            return p
    return None


def peering_state(store: Store, peering: dict[str, Any]) -> str:
    remote_id = (peering["properties"].get("remoteVirtualNetwork") or {}).get("id", "")
    if store.resource(remote_id) is None:
        return "Disconnected"  # the remote VNet was deleted: Azure shows Disconnected
    rev = reverse_peering(store, peering)
    return "Connected" if rev is not None and state(rev) == "Succeeded" else "Initiated"


def render(store: Store, resource: dict[str, Any]) -> dict[str, Any]:
    """The JSON a GET returns for a stored resource."""
    r = copy.deepcopy(resource)
    t = r["type"].lower()
    p = r.setdefault("properties", {})
    if t == VNET:
        p["subnets"] = [render(store, s) for s in children(store, r["id"], SUBNET)]
        p["virtualNetworkPeerings"] = [render(store, s) for s in children(store, r["id"], PEERING)]
    elif t == SUBNET:
        users = validate.subnet_users(store, r["id"])
        if users:
            p["ipConfigurations"] = [{"id": u} for u in users]
    elif t == PEERING:
        p["peeringState"] = peering_state(store, r)
        p["peeringSyncLevel"] = "FullyInSync" if p["peeringState"] == "Connected" else "RemoteNotInSync"
        remote = store.resource((p.get("remoteVirtualNetwork") or {}).get("id", ""))
        if remote is not None:
            space = copy.deepcopy(remote["properties"].get("addressSpace") or {"addressPrefixes": []})
            p["remoteAddressSpace"] = space
            p["remoteVirtualNetworkAddressSpace"] = copy.deepcopy(space)
    elif t == CONNECTION:
        p["connectionStatus"] = connection_status(store, r)
        p.setdefault("ingressBytesTransferred", 0)
        p.setdefault("egressBytesTransferred", 0)
    elif t == CLUSTER:
        p["currentKubernetesVersion"] = p.get("kubernetesVersion")
        p["powerState"] = {"code": "Running"}
        p["maxAgentPools"] = 100
        for pool in p.get("agentPoolProfiles") or []:
            pool["provisioningState"] = p.get("provisioningState")
            pool["currentOrchestratorVersion"] = pool.get("orchestratorVersion")
            pool["powerState"] = {"code": "Running"}
        uai = (r.get("identity") or {}).get("userAssignedIdentities") or {}
        for ident_id in uai:
            ident = store.resource(ident_id) or {"properties": {}}
            uai[ident_id] = {"principalId": ident["properties"].get("principalId"),
                             "clientId": ident["properties"].get("clientId")}
    return r


def gateways_in_vnet(store: Store, vnet_id: str) -> list[str]:
    return [g["id"] for g in store.of_type(GATEWAY) if key(validate.gateway_vnet(store, g["id"]) or "") == key(vnet_id)]


def vnets_connected(store: Store, a: str, b: str) -> bool:
    """Gateway connections Connected both ways, or peerings Connected both ways."""
    for pa in children(store, a, PEERING):
        if key((pa["properties"].get("remoteVirtualNetwork") or {}).get("id", "")) == key(b):
            rev = reverse_peering(store, pa)
            if peering_state(store, pa) == "Connected" and rev is not None and peering_state(store, rev) == "Connected":
                return True
    gws_a = {key(g) for g in gateways_in_vnet(store, a)}
    gws_b = {key(g) for g in gateways_in_vnet(store, b)}
    ab = ba = False
    for c in store.of_type(CONNECTION):
        p = c["properties"]
        g1 = key((p.get("virtualNetworkGateway1") or {}).get("id", ""))
        g2 = key((p.get("virtualNetworkGateway2") or {}).get("id", ""))
        if connection_status(store, c) != "Connected":
            continue
        ab = ab or (g1 in gws_a and g2 in gws_b)
        ba = ba or (g1 in gws_b and g2 in gws_a)
    return ab and ba
