"""Ring specs for the benchmarks: N Azure DCs in one subscription, 10.N.0.0/16 VNets, one rack per zone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from multidc_core.load import load_spec
from multidc_core.spec import RingSpec

LOCATIONS = ("eastus", "southcentralus", "westeurope", "northeurope", "westus2", "japaneast", "australiaeast",
             "uksouth")  # fmt: skip
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def spec_dict(name: str, dcs: int, nodes: int, mode: str) -> dict[str, Any]:
    datacenters = []
    for i in range(1, dcs + 1):
        datacenters.append({
            "name": f"dc{i}",
            "namespace": f"dc{i}",
            "provider": "azure",
            "azure": {
                "subscription_id": SUBSCRIPTION,
                "location": LOCATIONS[i - 1],
                "resource_group": f"{name}-dc{i}",
                "vnet_cidr": f"10.{i}.0.0/16",
                "node_subnet": f"10.{i}.0.0/17",
                "gateway_subnet": f"10.{i}.255.0/27",
                "service_cidr": f"10.{100 + i}.0.0/16",
                "dns_service_ip": f"10.{100 + i}.0.10",
                "dns_lb_ip": f"10.{i}.127.250",
                "node_count": 3,
                "zones": ["1", "2", "3"],
            },
            "cassandra": {
                "nodes": nodes,
                "racks": [{"name": f"rack{z}", "zone": str(z)} for z in range(1, min(3, nodes) + 1)],
                "heap": "1G",
                "heap_new": "256M",
                "memory": "4Gi",
                "cpu": "1",
            },
        })
    interconnect: dict[str, Any] = {"mode": mode}
    if mode == "vpn-gateway":
        interconnect["gateway_sku"] = "VpnGw1AZ"
    return {
        "name": name,
        "interconnect": interconnect,
        "datacenters": datacenters,
        "keyspaces": [{"name": "customers_ks", "replication": {f"dc{i}": min(3, nodes) for i in range(1, dcs + 1)}}],
    }


def write_spec(directory: Path, name: str, dcs: int, nodes: int, mode: str) -> tuple[Path, RingSpec]:
    """Write the spec as YAML (the flows take a path) and return it parsed and validated."""
    text = yaml.safe_dump(spec_dict(name, dcs, nodes, mode), sort_keys=False)
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path, load_spec(text)
