"""Prefect blocks: the Azure cloud and per-datacenter kubeconfigs (`prefect block register -m blocks`)."""

from blocks.azure import AzureCloud, StaticTokenCredential
from blocks.kube import DatacenterKubeconfig, kubeconfig_block_name, load_kubeconfig, save_kubeconfig

__all__ = [
    "AzureCloud",
    "DatacenterKubeconfig",
    "StaticTokenCredential",
    "kubeconfig_block_name",
    "load_kubeconfig",
    "save_kubeconfig",
]
