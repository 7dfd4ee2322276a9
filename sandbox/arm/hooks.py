"""Hooks through which the sandbox glue learns about clusters and deletions."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

import yaml


class ArmHooks(Protocol):
    """Called by the emulator on its event loop. A hook may return an awaitable; it is awaited
    before the operation reports Succeeded, so a client never sees a cluster whose API server
    is not up yet."""

    def on_cluster_provisioned(self, cluster: dict[str, Any]) -> Awaitable[None] | None: ...

    def kubeconfig_for(self, cluster: dict[str, Any]) -> str: ...

    def on_deleted(self, resource: dict[str, Any]) -> Awaitable[None] | None: ...


class DefaultHooks:
    """Standalone behaviour: nothing to start, a placeholder kubeconfig that points nowhere."""

    def on_cluster_provisioned(self, cluster: dict[str, Any]) -> None:
        return None

    def kubeconfig_for(self, cluster: dict[str, Any]) -> str:
        name = cluster["name"]
        server = "https://" + cluster.get("properties", {}).get("fqdn", f"{name}.invalid") + ":443"
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": name, "cluster": {"server": server}}],
                "users": [{"name": f"clusterAdmin_{name}", "user": {"token": "placeholder"}}],
                "contexts": [{"name": name, "context": {"cluster": name, "user": f"clusterAdmin_{name}"}}],
                "current-context": name,
            },
            sort_keys=False,
        )

    def on_deleted(self, resource: dict[str, Any]) -> None:
        return None
