"""Address-plan checks of a ring spec: containment, overlaps and the addresses AKS and Azure reserve."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Network, ip_network

from multidc_core.problems import Problem
from multidc_core.spec import AzureDC, Interconnect, InterconnectMode, Provider, RingSpec

# AKS refuses service CIDRs overlapping these (link-local, Docker bridge defaults, TEST-NET-1).
AKS_RESERVED = tuple(
    ip_network(n) for n in ("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24")
)
# kube-apiserver refuses an IPv4 service range with more than 20 host bits.
SERVICE_PREFIX_MIN = 12
# Azure CNI (not overlay) gives each node 30 pod addresses plus its own; one extra node for upgrades.
ADDRESSES_PER_NODE = 31
AZURE_RESERVED_PER_SUBNET = 5
SEPARATE_FIX = (
    "give each datacenter its own address space (VNets, subnets, service and pod CIDRs must not overlap)"
)


def address_problems(spec: RingSpec) -> list[Problem]:
    """Address problems within each datacenter, then overlaps between datacenters."""
    problems: list[Problem] = []
    for i, dc in enumerate(spec.datacenters):
        if dc.provider is Provider.AZURE and dc.azure is not None:
            problems.extend(_within(f"datacenters[{i}].azure", dc.azure, spec.interconnect))
    problems.extend(_across(spec))
    return problems


def _within(p: str, a: AzureDC, interconnect: Interconnect) -> Iterator[Problem]:
    for field in ("node_subnet", "gateway_subnet"):
        net: IPv4Network = getattr(a, field)
        if not net.subnet_of(a.vnet_cidr):
            yield Problem(
                f"{p}.{field}",
                f"{net} is not inside vnet_cidr {a.vnet_cidr}",
                f"pick a range inside {a.vnet_cidr}",
            )
    if a.node_subnet.overlaps(a.gateway_subnet):
        yield Problem(
            f"{p}.gateway_subnet",
            f"{a.gateway_subnet} overlaps node_subnet {a.node_subnet}",
            "give the GatewaySubnet its own range, e.g. the last /27 of the VNet",
        )
    yield from _gateway_size(p, a, interconnect)
    yield from _node_capacity(p, a)
    yield from _service(p, a)
    yield from _dns_lb(p, a)


def _gateway_size(p: str, a: AzureDC, interconnect: Interconnect) -> Iterator[Problem]:
    sku = interconnect.gateway_sku
    if interconnect.mode is not InterconnectMode.VPN_GATEWAY:
        return
    needed = 29 if sku == "Basic" else 27
    if a.gateway_subnet.prefixlen > needed:
        yield Problem(
            f"{p}.gateway_subnet",
            f"/{a.gateway_subnet.prefixlen} is too small for gateway SKU {sku!r}, which needs /{needed} or larger",
            f"use a /{needed} or larger, e.g. {a.gateway_subnet.supernet(new_prefix=needed)}",
        )


def _node_capacity(p: str, a: AzureDC) -> Iterator[Problem]:
    needed = (a.node_count + 1) * ADDRESSES_PER_NODE + AZURE_RESERVED_PER_SUBNET
    if a.node_subnet.num_addresses < needed:
        yield Problem(
            f"{p}.node_subnet",
            f"{a.node_subnet} has {a.node_subnet.num_addresses} addresses; Azure CNI needs {needed} "
            f"for {a.node_count} nodes (31 each, one spare node for upgrades, 5 reserved by Azure)",
            "use a larger subnet, e.g. a /24 or more",
        )


def _service(p: str, a: AzureDC) -> Iterator[Problem]:
    svc = a.service_cidr
    if svc.overlaps(a.vnet_cidr):
        yield Problem(
            f"{p}.service_cidr",
            f"{svc} overlaps this datacenter's vnet_cidr {a.vnet_cidr}",
            "pick a service CIDR outside every VNet, e.g. 10.101.0.0/16",
        )
    for reserved in AKS_RESERVED:
        if svc.overlaps(reserved):
            yield Problem(
                f"{p}.service_cidr",
                f"{svc} overlaps {reserved}, which AKS reserves",
                "pick a private range clear of 169.254/16, 172.30/16, 172.31/16 and 192.0.2/24",
            )
    if svc.prefixlen < SERVICE_PREFIX_MIN:
        yield Problem(
            f"{p}.service_cidr",
            f"{svc} is larger than Kubernetes allows (/{SERVICE_PREFIX_MIN})",
            "use a /12 or smaller, e.g. a /16",
        )
    ip = a.dns_service_ip
    if ip not in svc:
        yield Problem(
            f"{p}.dns_service_ip",
            f"{ip} is outside service_cidr {svc}",
            f"pick an address inside {svc}, e.g. {svc.network_address + 10}",
        )
    elif ip in (svc.network_address, svc.network_address + 1, svc.broadcast_address):
        which = {svc.network_address: "the network address", svc.broadcast_address: "the broadcast address"}
        what = which.get(ip, "the first address")
        yield Problem(
            f"{p}.dns_service_ip",
            f"{ip} is {what} of {svc}"
            + (", which Kubernetes gives the API server" if ip == svc.network_address + 1 else ""),
            f"use another address of {svc}, e.g. {svc.network_address + 10}",
        )


def _dns_lb(p: str, a: AzureDC) -> Iterator[Problem]:
    ip, subnet = a.dns_lb_ip, a.node_subnet
    if ip is None:
        return
    if ip not in subnet:
        yield Problem(
            f"{p}.dns_lb_ip",
            f"{ip} is outside node_subnet {subnet}",
            f"pick an unused address inside {subnet}, near its end",
        )
    elif int(ip) - int(subnet.network_address) < 4 or ip == subnet.broadcast_address:
        yield Problem(
            f"{p}.dns_lb_ip",
            f"{ip} is one of the 5 addresses Azure reserves in {subnet}",
            "pick an address past the first four and before the last",
        )


def _ranges(spec: RingSpec) -> list[tuple[int, str, IPv4Network]]:
    """Every address range a datacenter claims; a subnet counts apart only if it left its VNet."""
    out: list[tuple[int, str, IPv4Network]] = []
    for i, dc in enumerate(spec.datacenters):
        p = f"datacenters[{i}]"
        if dc.provider is Provider.AZURE and dc.azure is not None:
            a = dc.azure
            out.append((i, f"{p}.azure.vnet_cidr", a.vnet_cidr))
            for field in ("node_subnet", "gateway_subnet"):
                net: IPv4Network = getattr(a, field)
                if not net.subnet_of(a.vnet_cidr):
                    out.append((i, f"{p}.azure.{field}", net))
            out.append((i, f"{p}.azure.service_cidr", a.service_cidr))
        elif dc.kubeconfig is not None:
            for field in ("pod_cidrs", "node_cidrs"):
                nets: list[IPv4Network] = getattr(dc.kubeconfig, field)
                out.extend((i, f"{p}.kubeconfig.{field}[{k}]", n) for k, n in enumerate(nets))
    return out


def _across(spec: RingSpec) -> Iterator[Problem]:
    ranges = _ranges(spec)
    for n, (i, path, net) in enumerate(ranges):
        for j, other_path, other in ranges[:n]:
            if i != j and net.overlaps(other):
                yield Problem(path, f"overlaps {other_path} ({other})", SEPARATE_FIX)
