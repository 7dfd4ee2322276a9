"""Checks the real services make before accepting a PUT (address spaces, gateway rules, AKS CIDRs).

Codes confirmed from public error reports: NetcfgSubnetRangeOutsideVnet, NetcfgSubnetRangesOverlap,
NetcfgInvalidSubnet, InvalidResourceReference, ServiceCidrOverlapExistingSubnetsCidr,
VnetAddressSpacesOverlap, InUseSubnetCannotBeDeleted, LocationRequired. Chosen to look like Azure's (unconfirmed):
GatewaySubnetTooSmallForGatewaySku (after GatewaySubnetTooSmallForExpressrouteUltraPerformanceGatewaySku),
NonAzSkusNotAllowedForVpnGateway, InvalidGatewaySubnet, InvalidPublicIpSkuForGateway, DnsServiceIpOutOfServiceCidr.
Zones: LocationNotSupportAvailabilityZones (public IPs, confirmed; reused for AZ gateway SKUs, unconfirmed) and
AKS AvailabilityZoneNotSupported (confirmed), in regions multidc_core.regions knows have no zones.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from multidc_core.regions import zones_possible
from sandbox.arm.errors import ArmError, bad_request, invalid_reference
from sandbox.arm.ids import key
from sandbox.arm.store import Store

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

# AKS naming rules: 1-54 letters, digits and hyphens, starting and ending with a letter or digit.
AKS_DNS_PREFIX = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")
NON_AZ_VPN_SKUS = {"vpngw1", "vpngw2", "vpngw3", "vpngw4", "vpngw5", "standard", "highperformance"}
AKS_RESERVED = [ipaddress.ip_network(n) for n in ("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24")]


def _within(a: Any, b: Any) -> bool:
    return bool(a.version == b.version and a.subnet_of(b))


def _overlaps(a: Any, b: Any) -> bool:
    return bool(a.version == b.version and a.overlaps(b))


def net(prefix: Any, what: str, code: str = "InvalidAddressPrefixFormat") -> Net:
    try:
        return ipaddress.ip_network(str(prefix), strict=True)
    except ValueError as e:
        raise bad_request(code, f"{what} '{prefix}' is not a valid CIDR address prefix: {e}") from e


def vnet_prefixes(vnet: dict[str, Any]) -> list[Net]:
    props = vnet.get("properties", {})
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
    return [net(p, "Address prefix") for p in prefixes]


def subnet_prefixes(subnet: dict[str, Any]) -> list[Net]:
    props = subnet.get("properties", {})
    raw = props.get("addressPrefixes") or ([props["addressPrefix"]] if props.get("addressPrefix") else [])
    name = subnet.get("name", "?")
    return [net(p, f"Subnet '{name}' address prefix", "NetcfgInvalidSubnet") for p in raw]


def check_vnet(vnet: dict[str, Any], subnets: list[dict[str, Any]]) -> None:
    """Address space well formed; every subnet inside it; no two subnets overlap."""
    spaces = vnet_prefixes(vnet)
    if not spaces:
        raise bad_request("InvalidRequestFormat", "Virtual network must have at least one address prefix.",
                          "properties.addressSpace.addressPrefixes")
    seen: list[tuple[str, Net]] = []
    for s in subnets:
        prefixes = subnet_prefixes(s)
        if not prefixes:
            raise bad_request("NetcfgInvalidSubnet", f"Subnet '{s.get('name')}' has no address prefix.")
        for p in prefixes:
            if not any(_within(p, sp) for sp in spaces):
                raise bad_request(
                    "NetcfgSubnetRangeOutsideVnet",
                    f"Subnet '{s.get('name')}' is not valid because its IP address range is outside the IP "
                    f"address range of virtual network '{vnet['name']}'.",
                )
            for other_name, q in seen:
                if _overlaps(p, q):
                    raise bad_request(
                        "NetcfgSubnetRangesOverlap",
                        f"Subnet '{s.get('name')}' is not valid because its IP address range overlaps with "
                        f"that of an existing subnet '{other_name}' in virtual network '{vnet['name']}'.",
                    )
            seen.append((s.get("name", "?"), p))


def overlapping(a: list[Net], b: list[Net]) -> list[str]:
    return [str(x) for x in a for y in b if _overlaps(x, y)]


def check_vnets_disjoint(store: Store, vnet_a: str, vnet_b: str, what: str) -> None:
    a, b = store.resource(vnet_a), store.resource(vnet_b)
    if a is None or b is None:
        return
    both = overlapping(vnet_prefixes(a), vnet_prefixes(b))
    if both:
        raise bad_request(
            "VnetAddressSpacesOverlap",
            f"Cannot create or update {what}. Virtual networks {a['id']} and {b['id']} cannot be joined because "
            f"their address spaces overlap. Overlapping address prefixes: {', '.join(both)}.",
        )


def ref(store: Store, ref_id: str | None, referrer: str, expect_type: str | None = None) -> dict[str, Any]:
    if not ref_id:
        raise bad_request("InvalidRequestFormat", f"Resource {referrer} is missing a required resource reference.")
    found = store.resource(ref_id)
    if found is None or (expect_type and found["type"].lower() != expect_type.lower()):
        raise invalid_reference(ref_id, referrer)
    return found


def vnet_id_of_subnet(subnet_id: str) -> str:
    return subnet_id[: key(subnet_id).rfind("/subnets/")]


def no_zones_here(resource: dict[str, Any]) -> ArmError:
    """Network RP's answer to zones in a region without them (seen for public IPs and NAT gateways)."""
    return bad_request(
        "LocationNotSupportAvailabilityZones",
        f"The resource '{resource['type']}/{resource['name']}' does not support availability zones at location "
        f"'{resource.get('location')}'.",
    )


def check_public_ip(store: Store, pip: dict[str, Any]) -> None:
    if pip.get("zones") and not zones_possible(pip.get("location") or ""):
        raise no_zones_here(pip)


def check_gateway(store: Store, gw: dict[str, Any]) -> None:
    props = gw["properties"]
    sku = ((gw.get("sku") or props.get("sku") or {}).get("name") or "").strip()
    if not sku:
        raise bad_request("InvalidRequestFormat", "A virtual network gateway needs a SKU.", "properties.sku")
    if sku.lower().endswith("az") and not zones_possible(gw.get("location") or ""):
        raise no_zones_here(gw)  # the AZ SKUs exist in regions with zones only
    if sku.lower() in NON_AZ_VPN_SKUS:
        raise bad_request(
            "NonAzSkusNotAllowedForVpnGateway",
            f"The SKU '{sku}' can no longer be used to create a VPN gateway. Use the AZ SKUs (VpnGw1AZ-VpnGw5AZ).",
            "properties.sku.name",
        )
    configs = props.get("ipConfigurations") or []
    if not configs:
        raise bad_request("InvalidRequestFormat", "A virtual network gateway needs an IP configuration.",
                          "properties.ipConfigurations")
    for cfg in configs:
        cprops = cfg.get("properties") or {}
        subnet = ref(store, (cprops.get("subnet") or {}).get("id"), gw["id"], "Microsoft.Network/virtualNetworks/subnets")
        if subnet["name"].lower() != "gatewaysubnet":
            raise bad_request("InvalidGatewaySubnet",
                              f"Subnet {subnet['id']} referenced by {gw['id']} must be named GatewaySubnet.")
        prefix_len = max(p.prefixlen for p in subnet_prefixes(subnet))
        if sku.lower() != "basic" and prefix_len > 27:
            raise bad_request(
                "GatewaySubnetTooSmallForGatewaySku",
                f"To deploy a virtual network gateway with SKU {sku}, the GatewaySubnet {subnet['id']} must be "
                f"/27 or larger (it is /{prefix_len}).",
            )
        pip = ref(store, (cprops.get("publicIPAddress") or {}).get("id"), gw["id"],
                  "Microsoft.Network/publicIPAddresses")
        pip_sku = ((pip.get("sku") or {}).get("name") or "Basic").lower()
        alloc = (pip["properties"].get("publicIPAllocationMethod") or "").lower()
        if sku.lower().endswith("az") and (pip_sku != "standard" or alloc != "static"):
            raise bad_request("InvalidPublicIpSkuForGateway",
                              f"Gateway SKU {sku} needs a Standard SKU public IP with Static allocation; "
                              f"{pip['id']} is {pip_sku}/{alloc or 'unset'}.")


def gateway_vnet(store: Store, gw_id: str) -> str | None:
    gw = store.resource(gw_id)
    if not gw:
        return None
    for cfg in gw["properties"].get("ipConfigurations") or []:
        sid = ((cfg.get("properties") or {}).get("subnet") or {}).get("id")
        if sid:
            return vnet_id_of_subnet(sid)
    return None


def check_connection(store: Store, conn: dict[str, Any]) -> None:
    props = conn["properties"]
    ctype = props.get("connectionType")
    if ctype not in ("Vnet2Vnet", "IPsec", "ExpressRoute", "VPNClient"):
        raise bad_request("InvalidRequestFormat", f"Invalid connectionType '{ctype}'.", "properties.connectionType")
    gw1 = ref(store, (props.get("virtualNetworkGateway1") or {}).get("id"), conn["id"],
              "Microsoft.Network/virtualNetworkGateways")
    if ctype == "Vnet2Vnet":
        gw2 = ref(store, (props.get("virtualNetworkGateway2") or {}).get("id"), conn["id"],
                  "Microsoft.Network/virtualNetworkGateways")
        va, vb = gateway_vnet(store, gw1["id"]), gateway_vnet(store, gw2["id"])
        if va and vb:
            check_vnets_disjoint(store, va, vb, f"connection {conn['id']}")


def check_peering(store: Store, peering: dict[str, Any]) -> None:
    remote = ref(store, (peering["properties"].get("remoteVirtualNetwork") or {}).get("id"), peering["id"],
                 "Microsoft.Network/virtualNetworks")
    local = peering["id"][: key(peering["id"]).rfind("/virtualnetworkpeerings/")]
    check_vnets_disjoint(store, local, remote["id"], f"peering {peering['id']}")


def check_cluster(store: Store, mc: dict[str, Any]) -> None:
    props = mc["properties"]
    prefix = props.get("dnsPrefix") or ""
    if not AKS_DNS_PREFIX.match(prefix):
        raise bad_request("InvalidParameter", "The value of parameter dnsPrefix is invalid. Please see "
                          "https://aka.ms/aks-naming-rules for more details.", "dnsPrefix")
    vnet_ids = set()
    for pool in props.get("agentPoolProfiles") or []:
        zones = pool.get("availabilityZones") or []
        if zones and not zones_possible(mc.get("location") or ""):
            raise bad_request(
                "AvailabilityZoneNotSupported",
                f"The zone(s) '{','.join(zones)}' for resource '{pool.get('name')}' is not supported. The supported "
                f"zones for location '{mc.get('location')}' are ''.",
            )
        sid = pool.get("vnetSubnetID")
        if sid:
            ref(store, sid, mc["id"], "Microsoft.Network/virtualNetworks/subnets")
            vnet_ids.add(vnet_id_of_subnet(sid))
    for ident in ((mc.get("identity") or {}).get("userAssignedIdentities") or {}):
        ref(store, ident, mc["id"], "Microsoft.ManagedIdentity/userAssignedIdentities")
    npf = props.get("networkProfile") or {}
    if not npf.get("serviceCidr"):
        return
    svc = net(npf["serviceCidr"], "Service CIDR", "InvalidParameter")
    for vid in vnet_ids:
        vnet = store.resource(vid)
        if vnet and overlapping([svc], vnet_prefixes(vnet)):
            raise bad_request(
                "ServiceCidrOverlapExistingSubnetsCidr",
                f"The specified service CIDR {svc} is conflicted with the address space of virtual network {vid}.",
                "networkProfile.serviceCIDR",
            )
    if overlapping([svc], AKS_RESERVED):
        raise bad_request("InvalidParameter", f"The service CIDR {svc} overlaps a range AKS reserves.",
                          "networkProfile.serviceCIDR")
    dns = npf.get("dnsServiceIP")
    if dns:
        try:
            ip = ipaddress.ip_address(dns)
        except ValueError as e:
            raise bad_request("InvalidParameter", f"dnsServiceIP '{dns}' is not an IP address.",
                              "networkProfile.dnsServiceIP") from e
        if ip not in svc or ip == svc.network_address or ip == svc.network_address + 1:
            raise bad_request(
                "DnsServiceIpOutOfServiceCidr",
                f"The DNS service IP {dns} must be inside the service CIDR {svc} and must not be its first "
                "address (reserved for the kubernetes service).",
                "networkProfile.dnsServiceIP",
            )


def subnet_users(store: Store, subnet_id: str) -> list[str]:
    """Resources whose configuration points at a subnet (a gateway, a cluster's node pool)."""
    k = key(subnet_id)
    users = []
    for rec in store.records():
        r = rec["resource"]
        props = r.get("properties") or {}
        refs = [((c.get("properties") or {}).get("subnet") or {}).get("id") for c in props.get("ipConfigurations") or []]
        refs += [p.get("vnetSubnetID") for p in props.get("agentPoolProfiles") or []]
        if any(x and key(x) == k for x in refs):
            users.append(r["id"])
    return users + lingering_users(store, subnet_id)


def lingering_users(store: Store, subnet_id: str) -> list[str]:
    """NICs a deleted cluster left on the subnet, until AKS has released them (lifecycle.py)."""
    users, until = store.lingering.get(key(subnet_id), ([], 0.0))
    if users and store.now() >= until:
        store.lingering.pop(key(subnet_id), None)
        return []
    return list(users)


def check_subnet_free(store: Store, subnet_id: str) -> None:
    users = subnet_users(store, subnet_id)
    if users:
        raise bad_request("InUseSubnetCannotBeDeleted",
                          f"Subnet {subnet_id} is in use by {users[0]} and cannot be deleted. In order to delete "
                          "the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.")
