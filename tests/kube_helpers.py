"""Fixtures for the Kubernetes emulator tests: a served cluster and real `kubernetes` API clients for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config

from sandbox.clock import Clock
from sandbox.kube.cluster import KubeCluster
from sandbox.tls import SandboxTLS, ensure_tls

T = TypeVar("T")
TIME_SCALE = 0.001


_TLS: dict[str, SandboxTLS] = {}


def _tls(tmp: Path) -> SandboxTLS:
    # One CA per test session: generating keys costs more than the rest of a cluster's start-up.
    if "tls" not in _TLS:
        _TLS["tls"] = ensure_tls(tmp)
    return _TLS["tls"]


def cluster_kwargs(tmp: Path, **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "name": "c1",
        "flavor": "aks",
        "pod_cidr": "10.1.0.0/24",
        "lb_cidr": "10.1.0.0/24",
        "service_cidr": "10.100.0.0/16",
        "dns_service_ip": "10.100.0.10",
        "zones": ["eastus-1", "eastus-2", "eastus-3"],
        "node_count": 3,
        "clock": Clock(TIME_SCALE),
        "tls": _tls(tmp),
    }
    kwargs.update(overrides)
    return kwargs



def api_client(cluster: KubeCluster) -> client.ApiClient:
    return config.new_client_from_config_dict(cluster.kubeconfig_dict("sandbox-c1"))




def wait_for(fn: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll until fn returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    value = fn()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = fn()
    assert value, f"timed out after {timeout}s; last value {value!r}"
    return value


def namespace(core: client.CoreV1Api, name: str) -> None:
    core.create_namespace({"metadata": {"name": name}})


def statefulset(name: str, replicas: int = 3, storage_class: str = "managed-csi", zone: str | None = None,
                env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    labels = {"app": name}
    pod_spec: dict[str, Any] = {
        "containers": [{"name": "cassandra", "image": "cassandra:5.0", "env": env or [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "CASSANDRA_DC", "value": "dc1"},
        ], "readinessProbe": {"exec": {"command": ["ready"]}}}],
    }
    if zone:
        pod_spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}}}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "serviceName": "cassandra",
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    }


class FakeRuntime:
    """Records starts and envs; crashes, readiness and exec results are set per pod name by the test."""

    def __init__(self) -> None:
        self.starts: list[str] = []
        self.envs: dict[str, dict[str, str]] = {}
        self.files: dict[str, dict[str, str]] = {}
        self.crash: dict[str, str] = {}
        self.not_ready: set[str] = set()
        self.stopped: list[str] = []
        self.images: dict[str, dict[str, str]] = {}  # image -> its files by absolute path

    def start(self, cluster: str, pod: dict[str, Any], env: dict[str, str], files: dict[str, str]) -> str | None:
        name = pod["metadata"]["name"]
        self.starts.append(name)
        self.envs[name], self.files[name] = env, files
        return self.crash.get(name)

    def ready(self, cluster: str, pod: dict[str, Any]) -> bool:
        return pod["metadata"]["name"] not in self.not_ready

    def image_files(self, image: str) -> dict[str, str]:
        return self.images.get(image, {})

    def exec(self, cluster: str, pod: dict[str, Any], container: str, argv: list[str], env: dict[str, str]) -> Any:
        from sandbox.kube.runtime import ExecResult

        if argv == ["ready"]:  # the readiness probe of tests.kube_helpers.statefulset
            return ExecResult(0 if self.ready(cluster, pod) else 1, "", "")
        if argv[:1] == ["fail"]:
            return ExecResult(int(argv[1]), "", "it failed\n")
        if argv[:1] == ["env"]:
            return ExecResult(0, "".join(f"{k}={v}\n" for k, v in sorted(env.items())), "")
        return ExecResult(0, " ".join(argv) + "\n", "warn\n")

    def stop(self, cluster: str, pod: dict[str, Any]) -> None:
        self.stopped.append(pod["metadata"]["name"])

    def logs(self, cluster: str, pod: dict[str, Any], container: str) -> list[str]:
        return [f"started {name}" for name in self.starts if name == pod["metadata"]["name"]]

