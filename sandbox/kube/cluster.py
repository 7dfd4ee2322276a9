"""KubeCluster: one emulated cluster (store, controllers, HTTPS API server), its kubeconfig, faults and hooks."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import secrets
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web

from sandbox.clock import Clock
from sandbox.kube.admission import Admission
from sandbox.kube.bootstrap import nodes, region_of, storage_classes, system_objects
from sandbox.kube.controllers import Controllers
from sandbox.kube.exec import ExecHandler
from sandbox.kube.faults import AttachDelay, KubeFaults, Throttle
from sandbox.kube.podenv import resolve_env
from sandbox.kube.runtime import DefaultRuntime, PodRuntime
from sandbox.kube.server import ApiServer
from sandbox.kube.services import Frontend
from sandbox.kube.store import BY_KIND, Obj, Store
from sandbox.tls import SandboxTLS, ensure_tls

T = TypeVar("T")
FLAVORS = ("aks", "kubeadm", "eks", "gke")
CorednsHook = Callable[[str, dict[str, dict[str, str]]], None]


class KubeCluster:
    """One cluster's API server. Thread-safe entry points hop onto the server's loop when called from elsewhere."""

    def __init__(
        self,
        name: str,
        flavor: str = "aks",
        pod_cidr: str = "10.244.0.0/16",
        lb_cidr: str | None = None,
        node_cidr: str | None = None,
        service_cidr: str = "10.0.0.0/16",
        dns_service_ip: str = "10.0.0.10",
        zones: Sequence[str] = ("1", "2", "3"),
        node_count: int = 3,
        clock: Clock | None = None,
        runtime: PodRuntime | None = None,
        tls: SandboxTLS | None = None,
        token: str | None = None,
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"unknown cluster flavor {flavor!r}")
        self.name, self.flavor = name, flavor
        self.pod_cidr, self.service_cidr, self.dns_service_ip = pod_cidr, service_cidr, dns_service_ip
        # An AKS internal load balancer takes its frontend address from the node subnet.
        self.lb_cidr = lb_cidr or pod_cidr
        # Nodes share the pods' subnet (Azure CNI, default VPC CNI) unless given their own.
        self.node_cidr = node_cidr or pod_cidr
        self.zones, self.node_count = list(zones), node_count
        self.clock = clock or Clock()
        self.runtime: PodRuntime = runtime or DefaultRuntime()
        self.tls = tls
        self.token = token or secrets.token_urlsafe(24)
        self.store = Store(self.clock.now)
        self.faults = KubeFaults()
        self.controllers = Controllers(name, self.store, self.clock, self.runtime, self.faults, pod_cidr, self.lb_cidr,
                                       flavor=flavor, region=region_of(flavor, self.zones))
        admission = Admission(self.store, service_cidr, lambda: [dns_service_ip])
        self.exec = ExecHandler(name, self.runtime, lambda pod, c: resolve_env(self.store, pod, c),
                                self.controllers.pods.exec_init)
        self.server = ApiServer(self.store, self.token, admission, self.exec, self.clock.now,
                                lambda pod, container: self.runtime.logs(name, pod, container),
                                throttled=self.faults.take_throttle)
        self.admit = admission
        self.url = ""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._coredns_hooks: list[CorednsHook] = []
        self._coredns_snapshot: dict[str, dict[str, str]] = {}
        self._loaded = False
        self.controllers.restart_hooks.append(self._on_restart)

    # -- life cycle ------------------------------------------------------------------------------

    def _bootstrap(self) -> None:
        objs = system_objects(self.flavor, self.service_cidr, self.dns_service_ip)
        objs += nodes(self.flavor, self.name, self.node_cidr, self.zones, self.node_count)
        objs += storage_classes(self.flavor)
        for obj in objs:
            obj.setdefault("apiVersion", BY_KIND[obj["kind"]].api_version)
            self.store.create(self.admit(obj, None))
        self._coredns_snapshot = self._snapshot_dns()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not self._loaded and self.store.get(("", "Namespace", "", "kube-system")) is None:
            self._bootstrap()
        if self.tls is None:
            self.tls = ensure_tls(Path(tempfile.mkdtemp(prefix="kube-tls-")))
        self.loop = asyncio.get_running_loop()
        self.controllers.start(self.loop)
        # Open watches would otherwise hold a stop for up to a minute.
        self._runner = web.AppRunner(self.server.app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=self.tls.server_context())
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"https://{host}:{bound[1]}"

    async def stop(self) -> None:
        self.controllers.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run fn on the cluster's loop (store and controllers are single-threaded) and wait for it."""
        loop = self.loop
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is None or current is loop or not loop.is_running():
            return fn()
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:  # handed to the calling thread
                fut.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return fut.result(timeout=30)

    # -- access for the glue and tests -----------------------------------------------------------

    def kubeconfig_dict(self, context_name: str | None = None) -> dict[str, Any]:
        if self.tls is None:
            raise RuntimeError("the cluster has not been started")
        ctx = context_name or self.name
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": ctx, "cluster": {
                "server": self.url,
                "certificate-authority-data": base64.b64encode(self.tls.ca_pem()).decode(),
            }}],
            "users": [{"name": f"{ctx}-admin", "user": {"token": self.token}}],
            "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": f"{ctx}-admin"}}],
            "current-context": ctx,
            "preferences": {},
        }

    def kubeconfig(self, context_name: str | None = None) -> str:
        return yaml.safe_dump(self.kubeconfig_dict(context_name), sort_keys=False)

    def requests(self) -> list[dict[str, Any]]:
        return self._on_loop(lambda: [dict(r) for r in self.server.request_log])

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        res = BY_KIND[kind]
        return self._on_loop(lambda: self.store.get((res.group, kind, namespace if res.namespaced else "", name)))

    def objects(self, kind: str, namespace: str | None = None) -> list[Obj]:
        return self._on_loop(lambda: self.store.list(kind, namespace))

    def versions(self, *kinds: str) -> tuple[tuple[int, int], ...]:
        """Store.kind_version of each kind: what a verdict worked out from those objects may be kept by."""
        return self._on_loop(lambda: tuple(self.store.kind_version(k) for k in kinds))

    def lb_frontends(self) -> list[Frontend]:
        """Every LoadBalancer frontend the cluster's cloud gave out, with its address and reach."""
        return self._on_loop(self.controllers.services.frontends)

    def events(self, namespace: str, involved: str | None = None) -> list[Obj]:
        evs = self.objects("Event", namespace)
        return [e for e in evs if involved is None or e["involvedObject"]["name"] == involved]

    # -- CoreDNS restarts ------------------------------------------------------------------------

    def _snapshot_dns(self) -> dict[str, dict[str, str]]:
        out = {}
        for name in ("coredns", "coredns-custom"):
            cm = self.store.get(("", "ConfigMap", "kube-system", name))
            if cm is not None:
                out[name] = dict(cm.get("data") or {})
        return out

    def _on_restart(self, namespace: str, name: str, when: float) -> None:
        if (namespace, name) != ("kube-system", "coredns"):
            return
        # CoreDNS reads its ConfigMaps when its pods restart: what it serves is what they held then.
        self._coredns_snapshot = self._snapshot_dns()
        for hook in list(self._coredns_hooks):
            hook(self.name, self._coredns_snapshot)

    def on_coredns_restart(self, hook: CorednsHook) -> None:
        """hook(cluster_name, {"coredns": data, "coredns-custom": data}) after each coredns restart."""
        self._coredns_hooks.append(hook)

    def coredns_snapshot(self) -> dict[str, dict[str, str]]:
        """The ConfigMap data CoreDNS loaded at its last restart (at creation before any restart)."""
        return self._on_loop(lambda: {k: dict(v) for k, v in self._coredns_snapshot.items()})

    def coredns_restarted_at(self) -> float | None:
        times = [r["time"] for r in self.controllers.restarts
                 if (r["namespace"], r["name"]) == ("kube-system", "coredns")]
        return times[-1] if times else None

    # -- faults ----------------------------------------------------------------------------------

    def slow_volume_attach(self, factor: float = 1.0, extra_seconds: float = 0.0, namespace: str = "") -> None:
        """Volume attach takes factor x volume_attach + extra_seconds (Azure seconds); "" = every namespace."""
        self._on_loop(lambda: self.faults.attach_delays.__setitem__(namespace, AttachDelay(factor, extra_seconds)))

    def clear_slow_volume_attach(self, namespace: str = "") -> None:
        self._on_loop(lambda: self.faults.attach_delays.pop(namespace, None))

    def crash_loop(self, namespace: str, pod: str, times: int | None = 3) -> None:
        """The pod's container crashes on its next `times` starts (None: until cleared)."""
        self._on_loop(lambda: self.faults.crash_loops.__setitem__((namespace, pod), times))

    def wrong_probe(self, namespace: str, pod: str, command: list[str]) -> None:
        """The kubelet runs `command` as the pod's readiness probe (a probe gone wrong) until cleared."""
        self._on_loop(lambda: self.faults.probes.__setitem__((namespace, pod), list(command)))

    def throttle(self, count: int, path_contains: str = "", methods: list[str] | None = None) -> None:
        """The API server answers the next `count` matching requests 429 Too Many Requests (Retry-After 1),
        as API priority and fairness does under load; exec, logs and watches are long-running, never refused."""
        self._on_loop(lambda: self.faults.throttles.append(Throttle(count, path_contains, methods)))

    def clear_crash_loop(self, namespace: str, pod: str) -> None:
        self._on_loop(lambda: self.faults.crash_loops.pop((namespace, pod), None))

    def stop_container(self, namespace: str, pod: str) -> None:
        """Stop the pod's container (runtime.stop) and keep it stopped until start_container."""

        def run() -> None:
            self.faults.stopped.add((namespace, pod))
            obj = self.store.get(("", "Pod", namespace, pod))
            if obj is not None:
                self.controllers.pods.stop_container(obj)

        self._on_loop(run)

    def start_container(self, namespace: str, pod: str) -> None:
        def run() -> None:
            self.faults.stopped.discard((namespace, pod))
            self.controllers.enqueue(("", "Pod", namespace, pod))

        self._on_loop(run)

    def clear_faults(self) -> None:
        def run() -> None:
            stopped = list(self.faults.stopped)
            self.faults.clear()
            for ns, pod in stopped:
                self.controllers.enqueue(("", "Pod", ns, pod))

        self._on_loop(run)

    def fault_state(self) -> dict[str, Any]:
        return self._on_loop(self.faults.dump)

    # -- state -----------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            return {
                "name": self.name,
                "token": self.token,
                "url": self.url,
                "store": self.store.dump(),
                "controllers": self.controllers.dump(),
                "faults": self.faults.dump(),
                "coredns_snapshot": self._coredns_snapshot,
                "requests": list(self.server.request_log[-1000:]),
            }

        return self._on_loop(run)

    def load(self, data: dict[str, Any]) -> None:
        """Restore a dump before start(); the controllers resume every object from its stored state."""
        self.token = data.get("token", self.token)
        self.server.token = self.token
        self.store.load(data.get("store", {}))
        self.server.watch.reset()
        self.controllers.load(data.get("controllers", {}))
        self.faults.load(data.get("faults", {}))
        self._coredns_snapshot = data.get("coredns_snapshot", {})
        self.server.request_log[:] = data.get("requests", [])
        self._loaded = True


async def start_cluster(*, host: str = "127.0.0.1", port: int = 0, state: dict[str, Any] | None = None,
                        **kwargs: Any) -> KubeCluster:
    """Build a KubeCluster (KubeCluster's keyword arguments), restore `state` if given, and serve it."""
    cluster = KubeCluster(**kwargs)
    if state:
        cluster.load(state)
    await cluster.start(host, port)
    return cluster


def merged_kubeconfig(clusters: dict[str, KubeCluster], current: str | None = None) -> str:
    """One kubeconfig with a context per cluster (existing-cluster mode), keyed by context name."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [],
                              "preferences": {}}
    for context, cluster in clusters.items():
        one = cluster.kubeconfig_dict(context)
        for section in ("clusters", "users", "contexts"):
            merged[section].extend(one[section])
    merged["current-context"] = current or next(iter(clusters), "")
    return yaml.safe_dump(merged, sort_keys=False)
