"""The per-datacenter kubeconfig block: how tasks reach one cluster's Kubernetes API."""

from __future__ import annotations

import threading
from typing import Any

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from prefect.blocks.core import Block
from prefect.exceptions import ObjectAlreadyExists
from pydantic import Field, SecretStr

from blocks.kept import Kept
from multidc_core import naming

# Every Kubernetes task reads its DC's block: a process keeps it for KUBECONFIG_CACHE_S.
KUBECONFIG_CACHE_S = 30.0
_loaded: Kept[DatacenterKubeconfig] = Kept(KUBECONFIG_CACHE_S)
# Kubeconfigs fetched by this process whose block is not saved yet (keep_kubeconfig): its tasks use
# them at once while the save runs beside them (save_kept_kubeconfig). Memory only, never logged.
_unsaved: dict[str, DatacenterKubeconfig] = {}
_unsaved_lock = threading.Lock()


class DatacenterKubeconfig(Block):
    """The kubeconfig of one datacenter's Kubernetes cluster, kept as a secret.

    Saved by `fetch_kubeconfig` for AKS clusters (the admin credentials) and read by
    every task that talks to that cluster. Tasks pass the block's name, never the text.

    Attributes:
        ring: Ring the cluster belongs to.
        dc: Datacenter the cluster serves.
        kubeconfig: The kubeconfig YAML.
        context: Context to use; the file's current context when empty.
    """

    _block_type_name = "multidc Datacenter Kubeconfig"
    _block_type_slug = "multidc-datacenter-kubeconfig"
    _logo_url = "https://images.ctfassets.net/gm98wzqotmnx/1zrSeY8DZ1MJZs2BAyyyGk/8e4792f00a0c808ad1ad5126126fa5f8/Kubernetes_logo_without_workmark.svg.png?h=250"  # type: ignore[assignment]  # the Kubernetes logo Prefect's own blocks use
    _documentation_url = (
        "https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/"  # type: ignore[assignment]
    )
    _code_example = """
    ```python
    from blocks.kube import DatacenterKubeconfig

    datacenter_kubeconfig = DatacenterKubeconfig.load("BLOCK_NAME")
    api = datacenter_kubeconfig.api_client()
    ```
    """

    ring: str = Field(description="Ring (Cassandra cluster) name the cluster belongs to.")
    dc: str = Field(description="Datacenter name the cluster serves.")
    kubeconfig: SecretStr = Field(
        description="Kubeconfig YAML with the cluster, user and context; holds credentials."
    )
    context: str | None = Field(
        default=None, description="Context inside the kubeconfig; its current-context when empty."
    )

    def config_dict(self) -> dict[str, Any]:
        """The kubeconfig parsed into a dict."""
        parsed = yaml.safe_load(self.kubeconfig.get_secret_value())
        if not isinstance(parsed, dict):
            raise ValueError(f"kubeconfig of {self.ring}/{self.dc} is not a YAML mapping.")
        return parsed

    def api_client(self) -> k8s_client.ApiClient:
        """A kubernetes ApiClient for this cluster (no global config is touched)."""
        return k8s_config.new_client_from_config_dict(self.config_dict(), context=self.context)


def save_kubeconfig(ring: str, dc: str, text: str, context: str | None = None) -> str:
    """Save (or overwrite) the DC's kubeconfig block and return its name."""
    keep_kubeconfig(ring, dc, text, context)
    return save_kept_kubeconfig(ring, dc)


def keep_kubeconfig(ring: str, dc: str, text: str, context: str | None = None) -> str:
    """Hold the DC's kubeconfig in this process, before its block is saved: `load_kubeconfig` here
    answers with it at once, and `save_kept_kubeconfig` saves it. Returns the block's name."""
    name = naming.kubeconfig_block_name(ring, dc)
    block = DatacenterKubeconfig(ring=ring, dc=dc, kubeconfig=SecretStr(text), context=context)
    with _unsaved_lock:
        _unsaved[name] = block
    _loaded.forget(name)
    return name


def _held(name: str) -> DatacenterKubeconfig | None:
    with _unsaved_lock:
        return _unsaved.get(name)


def save_kept_kubeconfig(ring: str, dc: str) -> str:
    """Save the kubeconfig `keep_kubeconfig` holds for the DC into its block; returns the block's name."""
    name = naming.kubeconfig_block_name(ring, dc)
    block = _held(name)
    if block is None:
        raise LookupError(f"no kubeconfig of {ring}/{dc} was fetched by this process: fetch it first")
    try:
        block.save(name, overwrite=True)
    except ObjectAlreadyExists:
        # Two DCs' first saves raced to register the block type; it exists now, so save again.
        block.save(name, overwrite=True)
    with _unsaved_lock:
        if _unsaved.get(name) is block:  # not replaced by a later fetch meanwhile
            del _unsaved[name]
    _loaded.forget(name)
    return name


def load_kubeconfig(ring: str, dc: str) -> DatacenterKubeconfig:
    """The DC's kubeconfig held by this process (`keep_kubeconfig`) until its block is saved, else the
    saved block (loaded at most every KUBECONFIG_CACHE_S)."""
    name = naming.kubeconfig_block_name(ring, dc)
    held = _held(name)
    if held is not None:
        return held

    def load() -> DatacenterKubeconfig:
        block = DatacenterKubeconfig.load(name)
        assert isinstance(block, DatacenterKubeconfig)
        return block

    return _loaded.get(name, load)


def forget_kubeconfig(name: str) -> None:
    """Drop a loaded block, so that the next load_kubeconfig reads it again (after a save or delete)."""
    with _unsaved_lock:
        _unsaved.pop(name, None)
    _loaded.forget(name)
