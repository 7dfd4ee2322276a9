"""Prefect blocks: the Azure cloud and per-datacenter kubeconfigs (`prefect block register -m blocks`)."""

from blocks.azure import AzureCloud, StaticTokenCredential
from blocks.kube import DatacenterKubeconfig, load_kubeconfig, save_kubeconfig

__all__ = [
    "AzureCloud",
    "DatacenterKubeconfig",
    "StaticTokenCredential",
    "load_kubeconfig",
    "save_kubeconfig",
]
