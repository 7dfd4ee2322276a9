"""Which Azure regions have availability zones: zonal IPs, node pools and `*AZ` gateway SKUs need one.

Transcribed 2026-12-05 from Microsoft Learn, "Azure regions with availability zone support"
(https://learn.microsoft.com/azure/reliability/availability-zones-region-support) and its region list
(https://learn.microsoft.com/azure/reliability/regions-list), public cloud. A region Microsoft gives
zones later belongs in ZONAL; a region in neither set is unknown here and left to ARM to judge.
"""

from __future__ import annotations

from collections.abc import Iterator

from multidc_core.problems import Problem, show
from multidc_core.spec import AzureDC, InterconnectMode, Provider, RingSpec

ZONAL = frozenset(
    {
        # Americas
        "brazilsouth", "canadacentral", "centralus", "chilecentral", "eastus", "eastus2", "mexicocentral",
        "southcentralus", "westus2", "westus3", "usgovvirginia",
        # Europe
        "austriaeast", "belgiumcentral", "denmarkeast", "francecentral", "germanywestcentral", "italynorth",
        "northeurope", "norwayeast", "polandcentral", "spaincentral", "swedencentral", "switzerlandnorth",
        "uksouth", "westeurope",
        # Middle East and Africa
        "israelcentral", "qatarcentral", "southafricanorth", "uaenorth", "saudiarabiaeast",
        # Asia Pacific
        "australiaeast", "centralindia", "eastasia", "indonesiacentral", "japaneast", "japanwest",
        "koreacentral", "malaysiawest", "newzealandnorth", "southeastasia",
    }
)  # fmt: skip

NON_ZONAL = frozenset(
    {
        "australiacentral", "australiacentral2", "australiasoutheast", "brazilsoutheast", "canadaeast",
        "francesouth", "germanynorth", "jioindiacentral", "jioindiawest", "koreasouth", "northcentralus",
        "norwaywest", "southafricawest", "southindia", "swedensouth", "switzerlandwest", "uaecentral",
        "ukwest", "westcentralus", "westindia", "westus", "usgovarizona", "usgovtexas",
    }
)  # fmt: skip


def has_zones(location: str) -> bool | None:
    """True or False for a region in the table; None for one it does not know."""
    loc = location.replace(" ", "").lower()
    if loc in ZONAL:
        return True
    if loc in NON_ZONAL:
        return False
    return None


def zones_possible(location: str) -> bool:
    """Whether zonal resources may be asked for: known zonal, or unknown (ARM decides)."""
    return has_zones(location) is not False


def zone_problems(spec: RingSpec) -> list[Problem]:
    """Zonal node pools and `*AZ` gateway SKUs asked for in a region without availability zones."""
    out: list[Problem] = []
    for i, dc in enumerate(spec.datacenters):
        if dc.provider is Provider.AZURE and dc.azure is not None and not zones_possible(dc.azure.location):
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
