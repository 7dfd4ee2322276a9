"""Per-type behaviour: LRO or not, simulated duration, read-only and generated fields, defaults, checks."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.arm import validate
from sandbox.arm.errors import bad_request
from sandbox.arm.store import Store

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

Props = dict[str, Any]


def _uuid_for(*parts: str) -> str:
    # Stable per resource id, so a dump/load or a re-create gives the same generated values.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts).lower()))


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.lower().encode()).hexdigest()[:8]


@dataclass(frozen=True)
class TypeSpec:
    type_name: str
    duration_kind: str | None  # key in AZURE_DURATIONS; None = the PUT completes synchronously
    read_only: frozenset[str] = frozenset()  # properties a client may echo back but cannot set
    generated: Callable[[dict[str, Any]], Props] | None = None  # minted once at creation, kept on update
    defaults: Callable[[dict[str, Any], Props], None] | None = None  # fill defaults in place
    check: Callable[[Store, dict[str, Any]], None] | None = None
    secrets: tuple[str, ...] = ()  # properties stored apart and never returned by GET
    has_state: bool = True  # properties.provisioningState exists
    has_location: bool = True
    creating_state: str = "Updating"  # Network reports Updating for create and update
    top_level: tuple[str, ...] = field(default=("sku", "zones", "identity", "kind", "extendedLocation", "managedBy"))


def _vnet_defaults(r: dict[str, Any], p: Props) -> None:
    p.setdefault("enableDdosProtection", False)


def _pip_defaults(r: dict[str, Any], p: Props) -> None:
    r.setdefault("sku", {"name": "Standard", "tier": "Regional"})
    basic = (r["sku"].get("name") or "").lower() == "basic"
    p.setdefault("publicIPAddressVersion", "IPv4")
    p.setdefault("publicIPAllocationMethod", "Dynamic" if basic else "Static")
    p.setdefault("idleTimeoutInMinutes", 4)


def _pip_generated(r: dict[str, Any]) -> Props:
    h = hashlib.sha256(r["id"].lower().encode()).digest()
    # 20.0.0.0/8 is Microsoft space: an address that looks like Azure's and routes nowhere here.
    return {"ipAddress": f"20.{h[0]}.{h[1]}.{max(h[2], 1)}", "resourceGuid": _uuid_for(r["id"])}


def _gw_defaults(r: dict[str, Any], p: Props) -> None:
    p.setdefault("gatewayType", "Vpn")
    p.setdefault("vpnType", "RouteBased")
    p.setdefault("activeActive", False)
    p.setdefault("enableBgp", False)
    p.setdefault("bgpSettings", {"asn": 65515, "peerWeight": 0})
    for cfg in p.get("ipConfigurations") or []:
        name = cfg.get("name") or "default"
        cfg["name"] = name
        cfg["id"] = f"{r['id']}/ipConfigurations/{name}"
        cfg.setdefault("properties", {}).setdefault("privateIPAllocationMethod", "Dynamic")


def _conn_defaults(r: dict[str, Any], p: Props) -> None:
    for side in ("virtualNetworkGateway1", "virtualNetworkGateway2", "localNetworkGateway2"):
        if isinstance(p.get(side), dict) and p[side].get("id"):
            # Clients send whole gateway objects; Azure keeps (and returns) the reference only.
            p[side] = {"id": p[side]["id"], "properties": {}}
    p.setdefault("connectionProtocol", "IKEv2")
    p.setdefault("connectionMode", "Default")
    p.setdefault("routingWeight", 0)
    p.setdefault("enableBgp", False)
    p.setdefault("usePolicyBasedTrafficSelectors", False)
    p.setdefault("dpdTimeoutSeconds", 45)
    p.setdefault("ipsecPolicies", [])
    p.setdefault("trafficSelectorPolicies", [])


def _peering_defaults(r: dict[str, Any], p: Props) -> None:
    p.setdefault("allowVirtualNetworkAccess", True)
    p.setdefault("allowForwardedTraffic", False)
    p.setdefault("allowGatewayTransit", False)
    p.setdefault("useRemoteGateways", False)


def _identity_generated(r: dict[str, Any]) -> Props:
    # Random, as in Azure: a re-created identity is a new principal, and old grants do not follow it.
    return {"tenantId": TENANT_ID, "principalId": str(uuid.uuid4()), "clientId": str(uuid.uuid4())}


def _mc_defaults(r: dict[str, Any], p: Props) -> None:
    version = p.setdefault("kubernetesVersion", "1.33.2")
    p.setdefault("dnsPrefix", r["name"][:40] + "-dns")
    p.setdefault("enableRBAC", True)
    rg = r["id"].split("/")[4]
    p.setdefault("nodeResourceGroup", f"MC_{rg}_{r['name']}_{r['location']}")
    npf = p.setdefault("networkProfile", {})
    plugin = npf.setdefault("networkPlugin", "azure")
    npf.setdefault("loadBalancerSku", "standard")
    npf.setdefault("outboundType", "loadBalancer")
    npf.setdefault("ipFamilies", ["IPv4"])
    # AKS's defaults, which collide with a VNet in 10.0.0.0/16, as they do in Azure.
    npf.setdefault("serviceCidr", "10.0.0.0/16")
    npf.setdefault("dnsServiceIP", "10.0.0.10")
    npf.setdefault("serviceCidrs", [npf["serviceCidr"]])
    for pool in p.get("agentPoolProfiles") or []:
        pool.setdefault("mode", "System")
        pool.setdefault("osType", "Linux")
        pool.setdefault("type", "VirtualMachineScaleSets")
        pool.setdefault("count", 3)
        pool.setdefault("maxPods", 30 if plugin == "azure" else 110)
        pool.setdefault("orchestratorVersion", version)
    ident = r.get("identity")
    if not ident and not p.get("servicePrincipalProfile"):
        r["identity"] = {"type": "SystemAssigned"}


def _mc_generated(r: dict[str, Any]) -> Props:
    prefix = r["properties"].get("dnsPrefix") or r["name"]
    host = f"{prefix}-{_short_hash(r['id'])}"
    loc = r["location"]
    return {
        "fqdn": f"{host}.hcp.{loc}.azmk8s.io",
        "azurePortalFQDN": f"{host}.portal.hcp.{loc}.azmk8s.io",
        "identityProfile": {
            "kubeletidentity": {
                "resourceId": f"/subscriptions/{r['id'].split('/')[2]}/resourceGroups/"
                f"{r['properties'].get('nodeResourceGroup', 'MC')}/providers/Microsoft.ManagedIdentity/"
                f"userAssignedIdentities/{r['name']}-agentpool",
                "clientId": _uuid_for(r["id"], "kubelet-client"),
                "objectId": _uuid_for(r["id"], "kubelet-object"),
            }
        },
        "resourceUID": _short_hash(r["id"]) * 3,
    }


def _ra_defaults(r: dict[str, Any], p: Props) -> None:
    if not p.get("roleDefinitionId") or not p.get("principalId"):
        raise bad_request("InvalidRequestFormat", "roleDefinitionId and principalId are required.")
    p["scope"] = r["id"].rsplit("/providers/", 1)[0] or "/"


_NET_RO = frozenset({"provisioningState", "resourceGuid", "etag"})

SPECS: dict[str, TypeSpec] = {
    s.type_name.lower(): s
    for s in (
        TypeSpec("Microsoft.Resources/resourceGroups", None, frozenset({"provisioningState"})),
        TypeSpec("Microsoft.Network/virtualNetworks", "vnet", _NET_RO | {"virtualNetworkPeerings"},
                 lambda r: {"resourceGuid": _uuid_for(r["id"])}, _vnet_defaults),
        TypeSpec("Microsoft.Network/virtualNetworks/subnets", "subnet",
                 _NET_RO | {"ipConfigurations", "purpose"}, has_location=False),
        TypeSpec("Microsoft.Network/virtualNetworks/virtualNetworkPeerings", "peering",
                 _NET_RO | {"peeringState", "peeringSyncLevel", "remoteAddressSpace",
                            "remoteVirtualNetworkAddressSpace", "remoteBgpCommunities"},
                 lambda r: {"resourceGuid": _uuid_for(r["id"])}, _peering_defaults, validate.check_peering,
                 has_location=False),
        TypeSpec("Microsoft.Network/publicIPAddresses", "public_ip", _NET_RO | {"ipAddress", "ipConfiguration"},
                 _pip_generated, _pip_defaults, validate.check_public_ip),
        TypeSpec("Microsoft.Network/virtualNetworkGateways", "gateway", _NET_RO | {"inboundDnsForwardingEndpoint"},
                 lambda r: {"resourceGuid": _uuid_for(r["id"])}, _gw_defaults, validate.check_gateway),
        TypeSpec("Microsoft.Network/connections", "connection",
                 _NET_RO | {"connectionStatus", "tunnelConnectionStatus", "egressBytesTransferred",
                            "ingressBytesTransferred"},
                 lambda r: {"resourceGuid": _uuid_for(r["id"])}, _conn_defaults, validate.check_connection,
                 secrets=("sharedKey",)),
        TypeSpec("Microsoft.ManagedIdentity/userAssignedIdentities", None,
                 frozenset({"principalId", "clientId", "tenantId"}), _identity_generated, has_state=False),
        TypeSpec("Microsoft.Authorization/roleAssignments", None,
                 frozenset({"scope", "createdOn", "updatedOn", "createdBy", "updatedBy"}),
                 defaults=_ra_defaults, has_state=False, has_location=False),
        TypeSpec("Microsoft.ContainerService/managedClusters", "cluster",
                 frozenset({"provisioningState", "powerState", "fqdn", "azurePortalFQDN", "privateFQDN",
                            "currentKubernetesVersion", "maxAgentPools", "identityProfile", "resourceUID"}),
                 _mc_generated, _mc_defaults, validate.check_cluster, secrets=(), creating_state="Creating"),
    )
}


def spec_for(type_name: str) -> TypeSpec | None:
    return SPECS.get(type_name.lower())


def build(spec: TypeSpec, resource_id: str, name: str, body: dict[str, Any],
          existing: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resource a PUT asks for (defaults applied, generated fields kept), and its secrets."""
    if not isinstance(body, dict):
        raise bad_request("InvalidRequestContent", "The request content must be a JSON object.")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise bad_request("InvalidRequestContent", "'properties' must be a JSON object.")
    props = {k: v for k, v in props.items() if k not in spec.read_only}
    secrets = {k: props.pop(k) for k in spec.secrets if k in props}
    r: dict[str, Any] = {"id": resource_id, "name": name, "type": spec.type_name}
    if spec.has_location:
        location = body.get("location") or (existing or {}).get("location")
        if not location:
            raise bad_request("LocationRequired", "The location property is required for this definition.")
        r["location"] = str(location).replace(" ", "").lower()
    if body.get("tags") is not None:
        r["tags"] = dict(body["tags"])
    for k in spec.top_level:
        if body.get(k) is not None:
            r[k] = body[k]
    r["properties"] = props
    if spec.defaults:
        spec.defaults(r, props)
    if spec.generated:
        old = (existing or {}).get("properties") or {}
        fresh = spec.generated(r)
        props.update({k: old.get(k, v) for k, v in fresh.items()})
    return r, secrets
