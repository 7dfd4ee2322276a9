"""Which Azure regions have availability zones: zonal IPs, node pools and `*AZ` gateway SKUs need one.

Transcribed 2026-12-05 from Microsoft Learn, "Azure regions with availability zone support"
(https://learn.microsoft.com/azure/reliability/availability-zones-region-support) and its region list
(https://learn.microsoft.com/azure/reliability/regions-list), public cloud. A region Microsoft gives
zones later belongs in ZONAL; a region in neither set is unknown here and left to ARM to judge.
"""

from __future__ import annotations

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

