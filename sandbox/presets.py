"""Presets of existing clusters the sandbox can serve (`--existing`); plain data, no server library."""

from __future__ import annotations

from typing import Any

# The seed blog's topology: an EKS-like and an AKS-like cluster whose pod networks route to each other.
EXISTING_PRESETS: dict[str, list[dict[str, Any]]] = {
    "seed-blog": [
        {
            "name": "aws-1",
            "context": "kube-aws",
            "flavor": "eks",
            # VPC CNI custom networking: pods and nodes in their own subnets of the VPC 10.9.0.0/16.
            "pod_cidr": "10.9.0.0/17",
            "lb_cidr": "10.9.128.0/18",
            "node_cidr": "10.9.192.0/18",
            "service_cidr": "172.20.0.0/16",
            "dns_service_ip": "172.20.0.10",
            "zones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        },
        {
            "name": "azure-1",
            "context": "kube-azure",
            "flavor": "aks",
            "pod_cidr": "10.19.0.0/17",
            "lb_cidr": "10.19.128.0/17",
            "service_cidr": "10.0.0.0/16",
            "dns_service_ip": "10.0.0.10",
            "zones": ["westeurope-1", "westeurope-2", "westeurope-3"],
        },
    ],
}
