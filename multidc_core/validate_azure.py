"""Azure request rules a ring spec must meet before any call: zones where the region has them, AKS name limits."""

from __future__ import annotations

from collections.abc import Iterator

from multidc_core import naming
from multidc_core.problems import Problem, show
from multidc_core.regions import zones_possible
from multidc_core.spec import AzureDC, InterconnectMode, Provider, RingSpec

# AKS: "The AKS DNS prefix must be between 1 and 54 characters" (Microsoft Learn, AKS naming restrictions).
DNS_PREFIX_MAX = 54


def azure_request_problems(spec: RingSpec) -> list[Problem]:
    out: list[Problem] = []
    for i, dc in enumerate(spec.datacenters):
        if dc.provider is not Provider.AZURE or dc.azure is None:
            continue
        prefix = naming.dns_prefix(spec.name, dc.name)
        if len(prefix) > DNS_PREFIX_MAX:
            out.append(
                Problem(
                    f"datacenters[{i}].name",
                    f"the AKS dnsPrefix <ring>-<datacenter> {show(prefix)} is {len(prefix)} characters; "
                    f"AKS allows at most {DNS_PREFIX_MAX}",
                    f"shorten the ring name or this datacenter's name by {len(prefix) - DNS_PREFIX_MAX} "
                    "characters or more",
                )
            )
        if not zones_possible(dc.azure.location):
            out.extend(_non_zonal(spec, f"datacenters[{i}].azure", dc.azure))
    return out


def _non_zonal(spec: RingSpec, p: str, a: AzureDC) -> Iterator[Problem]:
    if a.zones:
        yield Problem(
            f"{p}.zones",
            f"{show(a.location)} has no availability zones, so AKS refuses a node pool in zones {a.zones}",
            "remove azure.zones (and the racks' zone) for this datacenter, or pick a region with zones, "
            "e.g. 'eastus2'",
        )
    sku = spec.interconnect.gateway_sku
    if spec.interconnect.mode is InterconnectMode.VPN_GATEWAY and sku.endswith("AZ"):
        yield Problem(
            f"{p}.location",
            f"{show(a.location)} has no availability zones, so its VPN gateway cannot use the zone-redundant "
            f"SKU {sku!r} (interconnect.gateway_sku)",
            "pick a region with availability zones for this datacenter (e.g. 'eastus2'), "
            "or use interconnect.mode: global-peering",
        )
