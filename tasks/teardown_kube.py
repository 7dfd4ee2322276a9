"""Kubernetes half of teardown: the ring namespace, the DNS Service and our CoreDNS entries, nothing else."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import urllib3
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api
from kubernetes.client.exceptions import ApiException
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field
from tenacity import (
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
)

from multidc_core import naming as n
from multidc_core.corefile import remove_section
from multidc_core.manifests import coredns_restart_patch
from multidc_core.spec import CorednsMode, Datacenter, Provider, RingSpec
from tasks.arm_ensure import run_logger
from tasks.dns_probe import PROBE_POD as DNS_PROBE_POD
from tasks.kube_access import api_for

T = TypeVar("T")

# A namespace holding StatefulSets and PVCs takes minutes to finalize (disks detach first).
NAMESPACE_DELETE_DEADLINE_S = 15 * 60.0
NAMESPACE_POLL_S = 2.0
# An API server answers in milliseconds; a minute of 429/5xx is an outage, not a blip.
API_DEADLINE_S = 60.0
# (connect, read) seconds per request: a cluster that is gone fails fast instead of hanging the run.
REQUEST_TIMEOUT = (10, 60)
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
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


class ClusterUnreachableError(RuntimeError):
    """An existing cluster's API cannot be reached, so its ring objects cannot be removed."""


def owned_by(labels: dict[str, str] | None, ring: str) -> bool:
    """True when labels carry this ring's ownership (ring and managed-by)."""
    labels = labels or {}
    return labels.get(n.LABEL_RING) == ring and labels.get(n.LABEL_MANAGED_BY) == n.MANAGED_BY


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ApiException) and exc.status in TRANSIENT_STATUS


def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """One API call with a request timeout; 429/5xx are retried with back-off up to API_DEADLINE_S."""
    retrying = Retrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_delay(API_DEADLINE_S),
        wait=wait_exponential(multiplier=0.5, max=10),
        reraise=True,
    )
    return retrying(fn, *args, _request_timeout=REQUEST_TIMEOUT, **kwargs)


def _read(fn: Callable[..., T], *args: Any) -> T | None:
    """Read one object; None when it does not exist."""
    try:
        return _call(fn, *args)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _delete(fn: Callable[..., Any], *args: Any) -> None:
    """Delete one object; 404 (already gone) counts as done."""
    try:
        # The answer is the object or a Status depending on kind and server version: not parsed.
        _call(fn, *args, _preload_content=False)
    except ApiException as exc:
        if exc.status != 404:
            raise


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
        ns: Any = _read(self.core.read_namespace, self.dc.namespace)
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
            _call(
                self.core.patch_namespaced_config_map,
                n.COREDNS_CUSTOM,
                n.KUBE_SYSTEM,
                {"data": dict.fromkeys(ours)},
            )
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
            _call(self.core.patch_namespaced_config_map, COREDNS_CONFIGMAP, n.KUBE_SYSTEM, body)
            changed = True

        Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, ApiException) and e.status == 409),
            stop=stop_after_delay(API_DEADLINE_S),
            wait=wait_fixed(0.5),
            reraise=True,
        )(attempt)
        if changed:
            self.note("Corefile section", f"{COREDNS_CONFIGMAP}/{COREFILE_KEY}", "deleted")
        return changed

    def restart_coredns(self) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            _call(
                self.apps.patch_namespaced_deployment,
                n.COREDNS_DEPLOYMENT,
                n.KUBE_SYSTEM,
                coredns_restart_patch(stamp),
            )
        except ApiException as exc:
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
            try:
                _delete(self.core.delete_namespace, name)
            except ApiException as exc:
                if exc.status != 409:  # 409: already terminating, which is what we want
                    raise
        self._wait_gone(name)
        self.note("Namespace", name, "deleted")

    def _wait_gone(self, name: str) -> None:
        gone = Retrying(
            retry=retry_if_result(lambda absent: not absent),
            stop=stop_after_delay(NAMESPACE_DELETE_DEADLINE_S),
            wait=wait_fixed(NAMESPACE_POLL_S),
            retry_error_callback=lambda state: False,
        )(lambda: _read(self.core.read_namespace, name) is None)
        if not gone:
            raise TimeoutError(
                f"namespace {name} in the cluster of {self.dc.name} is still terminating after "
                f"{NAMESPACE_DELETE_DEADLINE_S:.0f}s; look for stuck finalizers, then run teardown again"
            )


def _connect(spec: RingSpec, dc: Datacenter) -> ApiClient | None:
    """An API client, or None for an Azure DC whose cluster (or kubeconfig block) is already gone."""
    try:
        api = api_for(spec, dc)
    except ValueError as exc:  # Prefect's "Unable to find block document"
        if dc.provider is Provider.AZURE:
            return None
        raise ClusterUnreachableError(f"no kubeconfig for datacenter {dc.name}: {exc}") from exc
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
        ClusterUnreachableError: An existing cluster's API cannot be reached.
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
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if d.provider is not Provider.AZURE:
                raise ClusterUnreachableError(
                    f"the Kubernetes API of datacenter {dc} cannot be reached ({type(exc).__name__}); "
                    "its ring objects stay until it can: fix access and run teardown again"
                ) from exc
            log.warning(
                "datacenter %s: API unreachable (%s); the AKS delete removes it", dc, type(exc).__name__
            )
            return [
                Deletion(system="kubernetes", kind="cluster", name=dc, action="skipped", reason="unreachable")
            ]
        if run.forward_entries():
            run.restart_coredns()
        if ns is not None:
            # The probe lives in the ring namespace; deleted first so it stops resolving at once.
            core = run.core
            run.owned_object(
                "Pod", core.read_namespaced_pod, core.delete_namespaced_pod, DNS_PROBE_POD, d.namespace
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
