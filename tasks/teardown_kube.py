"""Kubernetes half of teardown: the ring namespace, the DNS Service and our CoreDNS entries, nothing else."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api
from kubernetes.client.exceptions import ApiException
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from multidc_core import naming as n
from multidc_core.corefile import remove_section
from multidc_core.manifests import coredns_restart_patch
from multidc_core.spec import CorednsMode, Datacenter, Provider, RingSpec
from tasks.kube_access import api_for
from tasks.kube_client import REQUEST_TIMEOUT, ClusterUnreachable, KubeError, WaitTimeout, call, probe
from tasks.kube_objects import wait_until
from tasks.run_log import run_logger

T = TypeVar("T")

# A namespace holding StatefulSets and PVCs takes minutes to finalize (disks detach first).
NAMESPACE_DELETE_DEADLINE_S = 15 * 60.0
NAMESPACE_POLL_S = 2.0
COREDNS_CONFIGMAP = "coredns"
COREFILE_KEY = "Corefile"

Action = Literal["deleted", "absent", "kept", "skipped"]


class Deletion(BaseModel):
    """What teardown did about one object; names only, never content."""

    system: Literal["kubernetes", "azure", "prefect"] = Field(description="Where the object lives.")
    kind: str = Field(description="Object kind, e.g. Namespace, VPN gateway, Secret block.")
    name: str = Field(description="Object name (with cluster or group where it helps).")
    action: Action = Field(
        description="deleted; absent (already gone); kept (not ours, or not empty); skipped (unreachable)."
    )
    reason: str = Field(default="", description="Why an object was kept or skipped.")


class NotOwnedError(RuntimeError):
    """An object teardown must delete exists but does not carry this ring's labels."""


def owned_by(labels: dict[str, str] | None, ring: str) -> bool:
    """True when labels carry this ring's ownership (ring and managed-by)."""
    labels = labels or {}
    return labels.get(n.LABEL_RING) == ring and labels.get(n.LABEL_MANAGED_BY) == n.MANAGED_BY


def _read(fn: Callable[..., T], *args: Any, first: bool = False) -> T | None:
    """Read one object (transient failures retried); None when it does not exist.

    `first`: the first contact with the cluster, where no answer at all is ClusterUnreachable at once.
    """

    def once() -> T | None:
        try:
            return fn(*args, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    return (probe if first else call)(f"read {fn.__name__.removeprefix('read_')} {'/'.join(reversed(args))}", once)


def _delete(fn: Callable[..., Any], *args: Any, done: tuple[int, ...] = (404,)) -> None:
    """Delete one object; 404 (already gone) and the other `done` statuses count as done."""

    def once() -> None:
        try:
            # The answer is the object or a Status depending on kind and server version: not parsed.
            fn(*args, _request_timeout=REQUEST_TIMEOUT, _preload_content=False)
        except ApiException as exc:
            if exc.status not in done:
                raise

    call(f"delete {fn.__name__.removeprefix('delete_')} {'/'.join(reversed(args))}", once)


def _patch(fn: Callable[..., Any], *args: Any) -> None:
    """One merge patch (the typed client's dict body), transient failures retried."""
    call(f"patch {fn.__name__.removeprefix('patch_')} {'/'.join(reversed(args[:-1]))}", fn, *args,
         _request_timeout=REQUEST_TIMEOUT)


class _DcTeardown:
    """Removes one DC's ring objects from its cluster; every step is safe to repeat."""

    def __init__(self, spec: RingSpec, dc: Datacenter, api: ApiClient) -> None:
        self.spec, self.dc = spec, dc
        self.core, self.apps = CoreV1Api(api), AppsV1Api(api)
        self.log = run_logger()
        self.done: list[Deletion] = []

    def note(self, kind: str, name: str, action: Action, reason: str = "") -> None:
        self.done.append(Deletion(system="kubernetes", kind=kind, name=name, action=action, reason=reason))
        where = f"{kind} {name} in the cluster of {self.dc.name}"
        if action == "deleted":
            self.log.info("deleted %s", where)
        elif action == "kept":
            self.log.warning("kept %s: %s", where, reason)

    def check_namespace(self) -> Any:
        """The ring namespace, or None; a namespace with our name but not our labels stops everything."""
        ns: Any = _read(self.core.read_namespace, self.dc.namespace, first=True)
        if ns is not None and not owned_by(ns.metadata.labels, self.spec.name):
            raise NotOwnedError(
                f"namespace {self.dc.namespace} in the cluster of datacenter {self.dc.name} is not labelled "
                f"{n.LABEL_RING}={self.spec.name}, {n.LABEL_MANAGED_BY}={n.MANAGED_BY}: multidc did not "
                "create it and will not delete it. Delete it by hand if it is a ring left-over, or correct "
                "the datacenter's namespace in the spec; nothing was deleted in this cluster."
            )
        return ns

    def forward_entries(self) -> bool:
        """Remove our forward zones (coredns-custom keys or the Corefile section); True if any were."""
        kc = self.dc.kubeconfig
        if kc is not None and kc.dns_mode is CorednsMode.COREFILE:
            return self._corefile_section()
        cm = _read(self.core.read_namespaced_config_map, n.COREDNS_CUSTOM, n.KUBE_SYSTEM)
        data = (cm.data if cm is not None else None) or {}
        # Only this ring's namespaces: another ring sharing the cluster keeps its own keys.
        ours = sorted({n.coredns_custom_key(d.namespace) for d in self.spec.datacenters} & set(data))
        if ours:
            # A merge patch with null removes just these keys, so a concurrent writer's keys survive.
            _patch(self.core.patch_namespaced_config_map, n.COREDNS_CUSTOM, n.KUBE_SYSTEM,
                   {"data": dict.fromkeys(ours)})
            for key in ours:
                self.note("coredns-custom entry", key, "deleted")
        return bool(ours)

    def _corefile_section(self) -> bool:
        changed = False

        def attempt() -> None:
            nonlocal changed
            cm: Any = _read(self.core.read_namespaced_config_map, COREDNS_CONFIGMAP, n.KUBE_SYSTEM)
            text = ((cm.data if cm is not None else None) or {}).get(COREFILE_KEY)
            if text is None:
                return
            new = remove_section(text)
            if new == text:
                return
            # resourceVersion makes the write conditional: a concurrent edit gives 409 and a re-read.
            body = {
                "metadata": {"resourceVersion": cm.metadata.resource_version},
                "data": {COREFILE_KEY: new},
            }
            self.core.patch_namespaced_config_map(COREDNS_CONFIGMAP, n.KUBE_SYSTEM, body,
                                                  _request_timeout=REQUEST_TIMEOUT)
            changed = True

        call(f"Corefile section of {n.KUBE_SYSTEM}/{COREDNS_CONFIGMAP}", attempt)  # 409: read again, redo
        if changed:
            self.note("Corefile section", f"{COREDNS_CONFIGMAP}/{COREFILE_KEY}", "deleted")
        return changed

    def restart_coredns(self) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            _patch(self.apps.patch_namespaced_deployment, n.COREDNS_DEPLOYMENT, n.KUBE_SYSTEM,
                   coredns_restart_patch(stamp))
        except KubeError as exc:
            if exc.status != 404:
                raise
            self.log.warning("no coredns Deployment in the cluster of %s to restart", self.dc.name)
            return
        self.log.info("restarted coredns in the cluster of %s so it drops the ring's zones", self.dc.name)

    def owned_object(
        self, kind: str, read: Callable[..., Any], delete: Callable[..., Any], name: str, namespace: str
    ) -> None:
        """Delete an object if it carries this ring's labels; leave anyone else's."""
        obj = _read(read, name, namespace)
        where = f"{namespace}/{name}"
        if obj is None:
            self.note(kind, where, "absent")
        elif not owned_by(obj.metadata.labels, self.spec.name):
            self.note(kind, where, "kept", f"not labelled {n.LABEL_RING}={self.spec.name}")
        else:
            _delete(delete, name, namespace)
            self.note(kind, where, "deleted")

    def namespace(self, ns: Any) -> None:
        name = self.dc.namespace
        if ns is None:
            self.note("Namespace", name, "absent")
            return
        if ns.metadata.deletion_timestamp is None:
            _delete(self.core.delete_namespace, name, done=(404, 409))  # 409: already terminating
        self._wait_gone(name)
        self.note("Namespace", name, "deleted")

    def _wait_gone(self, name: str) -> None:
        def gone() -> bool | None:
            return True if _read(self.core.read_namespace, name) is None else None

        try:
            wait_until(f"namespace {name} gone", gone, NAMESPACE_DELETE_DEADLINE_S, NAMESPACE_POLL_S)
        except WaitTimeout:
            raise WaitTimeout(
                f"namespace {name} in the cluster of {self.dc.name} is still terminating after "
                f"{NAMESPACE_DELETE_DEADLINE_S:.0f}s; look for stuck finalizers, then run teardown again"
            ) from None


def _connect(spec: RingSpec, dc: Datacenter) -> ApiClient | None:
    """An API client, or None for an Azure DC whose cluster (or kubeconfig block) is already gone."""
    try:
        api = api_for(spec, dc)
    except ValueError as exc:  # Prefect's "Unable to find block document"
        if dc.provider is Provider.AZURE:
            return None
        raise ClusterUnreachable(f"no kubeconfig for datacenter {dc.name}: {exc}") from exc
    return api


@task(cache_policy=NO_CACHE)
def teardown_dc_kubernetes(spec: RingSpec, dc: str) -> list[Deletion]:
    """Remove one datacenter's ring objects from its cluster, and only those.

    Deletes the ring namespace (everything Cassandra runs on goes with it), the
    `multidc-dns` Service and the `multidc-dns-probe` pod in kube-system when they carry
    this ring's labels, and this ring's forward zones (the `multidc-<ns>.server` keys of
    `coredns-custom`, or the marked Corefile section), restarting coredns if any were
    there. Safe to repeat: what is gone already counts as done. An Azure datacenter whose
    cluster is gone (no kubeconfig block, API unreachable) is skipped: deleting the AKS
    cluster removes the rest.

    Args:
        spec: The ring spec.
        dc: Name of the datacenter whose cluster to clean.

    Returns:
        One entry per object considered, with what was done.

    Raises:
        NotOwnedError: The namespace exists without this ring's labels (nothing is deleted).
        ClusterUnreachable: An existing cluster's API cannot be reached.
    """
    d = spec.dc(dc)
    log = run_logger()
    api = _connect(spec, d)
    if api is None:
        log.info("datacenter %s: no kubeconfig block, its AKS cluster is gone; nothing to clean", dc)
        return [Deletion(system="kubernetes", kind="cluster", name=dc, action="skipped", reason="gone")]
    try:
        run = _DcTeardown(spec, d, api)
        try:
            ns = run.check_namespace()
        except ClusterUnreachable as exc:
            why = type(exc.__cause__).__name__
            if d.provider is not Provider.AZURE:
                raise ClusterUnreachable(
                    f"the Kubernetes API of datacenter {dc} cannot be reached ({why}); "
                    "its ring objects stay until it can: fix access and run teardown again"
                ) from exc
            log.warning("datacenter %s: API unreachable (%s); the AKS delete removes it", dc, why)
            return [
                Deletion(system="kubernetes", kind="cluster", name=dc, action="skipped", reason="unreachable")
            ]
        if run.forward_entries():
            run.restart_coredns()
        if ns is not None:
            # The probe lives in the ring namespace; deleted first so it stops resolving at once.
            core = run.core
            run.owned_object(
                "Pod", core.read_namespaced_pod, core.delete_namespaced_pod, n.DNS_PROBE_POD, d.namespace
            )
        run.owned_object(
            "Service",
            run.core.read_namespaced_service,
            run.core.delete_namespaced_service,
            n.DNS_SERVICE_NAME,
            n.KUBE_SYSTEM,
        )
        run.namespace(ns)
        return run.done
    finally:
        api.close()
