"""Kubernetes objects: server-side apply as field manager `multidc`, pod diagnosis and bounded waits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from kubernetes.client import ApiClient
from pydantic import BaseModel, Field
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from multidc_core.naming import pvc_name
from tasks.kube_client import (
    MERGE_PATCH,
    KubeError,
    WaitTimeout,
    call,
    describe,
    get_or_none,
    is_transient,
    request,
    retrying,
    server_side_apply,
)

__all__ = ["MERGE_PATCH", "Applied", "KubeError", "KubeWaits", "WaitTimeout", "apply_all", "apply_object", "call",
           "describe", "diagnose_pod", "get_or_none", "is_ready", "is_transient", "object_name", "path_of", "read",
           "request", "retrying", "wait_until"]

T = TypeVar("T")
Manifest = dict[str, Any]

log = logging.getLogger("multidc.kube")


class Applied(BaseModel):
    """What apply_object did to one object (never its content: Secrets pass through here)."""

    kind: str = Field(description="Kubernetes kind, e.g. StatefulSet.")
    name: str = Field(description="Object name, with its namespace as ns/name when namespaced.")
    action: Literal["created", "patched", "unchanged"] = Field(description="What was written.")


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST API."""

    plural: str
    namespaced: bool


KINDS: dict[str, Resource] = {
    "Namespace": Resource("namespaces", False),
    "ConfigMap": Resource("configmaps", True),
    "Secret": Resource("secrets", True),
    "Service": Resource("services", True),
    "Pod": Resource("pods", True),
    "StatefulSet": Resource("statefulsets", True),
    "Deployment": Resource("deployments", True),
    "PodDisruptionBudget": Resource("poddisruptionbudgets", True),
    "NetworkPolicy": Resource("networkpolicies", True),
}


# --- where each kind lives: every kind is read and written as the plain JSON we render ----------


def path_of(manifest: Manifest, name: str | None = None) -> str:
    kind = manifest["kind"]
    res = KINDS.get(kind)
    if res is None:
        raise KubeError(f"apply_object does not handle kind {kind!r}")
    version = manifest["apiVersion"]
    base = "/api/v1" if version == "v1" else f"/apis/{version}"
    ns = manifest["metadata"].get("namespace")
    if res.namespaced:
        if not ns:
            raise KubeError(f"{kind} {manifest['metadata']['name']} needs a namespace")
        base += f"/namespaces/{ns}"
    return f"{base}/{res.plural}" + (f"/{name}" if name else "")


def read(api: ApiClient, manifest: Manifest) -> dict[str, Any] | None:
    """The live object named like the manifest, or None when it does not exist."""
    return get_or_none(api, path_of(manifest, manifest["metadata"]["name"]))


def object_name(manifest: Manifest) -> str:
    meta = manifest["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


def _version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def apply_object(api: ApiClient, manifest: Manifest) -> Applied:
    """Server-side apply of the manifest as field manager `multidc` (forced): create, or set our fields.

    The API server writes nothing when our fields already hold these values, so a re-run with the same
    manifest changes no resourceVersion and is reported `unchanged`; fields other managers set are
    kept, and a field an earlier apply of ours set and this manifest no longer has is removed. Transient
    failures are retried until API_DEADLINE_S; Secret data is never logged.

    Args:
        api: The cluster's ApiClient.
        manifest: One object as rendered by multidc_core.manifests (any kind in KINDS).

    Returns:
        The kind, name and action taken (created, patched: something changed, unchanged).
    """
    kind, name = manifest["kind"], object_name(manifest)
    path = path_of(manifest, manifest["metadata"]["name"])

    def once() -> Applied:
        before = read(api, manifest)
        after = server_side_apply(api, path, manifest)
        if before is None:
            return Applied(kind=kind, name=name, action="created")
        changed = _version(after) != _version(before)
        return Applied(kind=kind, name=name, action="patched" if changed else "unchanged")

    done = call(f"{kind} {name}", once)
    log.info("%s %s %s", kind, name, done.action)
    return done


def apply_all(api: ApiClient, manifests: list[Manifest]) -> list[Applied]:
    """apply_object for each manifest, in order."""
    return [apply_object(api, m) for m in manifests]


# --- pods ----------------------------------------------------------------------------------------


def is_ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def diagnose_pod(api: ApiClient, ns: str, pod: str) -> str:
    """The pod's phase, last container state and last events, for the error that ends the run."""
    live = get_or_none(api, f"/api/v1/namespaces/{ns}/pods/{pod}")
    if live is None:
        return "the pod does not exist (is the StatefulSet stuck on an earlier pod?)"
    status = live.get("status") or {}
    parts = [f"phase {status.get('phase', '?')}"]
    for ics in status.get("initContainerStatuses") or []:  # the init container the pod is at, if any
        state = ics.get("state") or {}
        if "running" in state or (state.get("terminated") or {}).get("exitCode", 0) != 0:
            kind, detail = next(iter(state.items()))
            msg = detail.get("message", "")
            parts.append(f"init container {ics.get('name')} {kind}" + (f" ({msg})" if msg else ""))
    for cs in status.get("containerStatuses") or []:
        for label, state in (("now", cs.get("state") or {}), ("last", cs.get("lastState") or {})):
            for kind, detail in state.items():
                reason = detail.get("reason", kind)
                msg = detail.get("message", "")
                parts.append(f"{cs.get('name')} {label} {kind}: {reason}" + (f" ({msg})" if msg else ""))
        parts.append(f"restarts {cs.get('restartCount', 0)}")
    for c in status.get("conditions") or []:
        if c.get("status") != "True" and c.get("message"):
            parts.append(f"{c['type']}: {c['message']}")
    events = (get_or_none(api, f"/api/v1/namespaces/{ns}/events") or {}).get("items") or []
    mine = [e for e in events if (e.get("involvedObject") or {}).get("name") in (pod, pvc_name(pod))]
    mine.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    parts += [f"event {e.get('type')} {e.get('reason')}: {e.get('message')}" for e in mine[-5:]]
    return "; ".join(parts)


# --- bounded waits ------------------------------------------------------------------------------


class NotYet(Exception):
    """Raised inside a wait to poll again."""


class KubeWaits(BaseModel):
    """Deadlines (seconds) for the waits of the ring deployment; the defaults fit real clusters."""

    dns_address_s: float = Field(
        default=600, description="For a DNS LoadBalancer address: Azure internal LBs take 1-3 minutes."
    )
    dns_check_s: float = Field(
        default=300,
        description="For a remote seed to resolve: CoreDNS pods must roll and their cache (30 s) expire.",
    )
    pvc_bound_s: float = Field(
        default=900,
        description="For a node's PVC to bind: a managed disk is created and attached in minutes.",
    )
    pod_ready_s: float = Field(
        default=1800,
        description="For each Cassandra pod to be Ready: image pull, JVM start and bootstrap streaming.",
    )
    cql_s: float = Field(
        default=300,
        description="For a CQL step to succeed: a node restarting or auth caches (2 s) settling.",
    )
    repair_s: float = Field(
        default=6 * 3600,
        description="For `nodetool repair -full system_auth` on one node: it takes as long as the data and "
        "the distance between DCs need, and is never started twice at once.",
    )
    poll_s: float = Field(default=5, gt=0, description="Between two reads of the state being awaited.")


def wait_until(what: str, check: Callable[[], T | None], deadline_s: float, poll_s: float) -> T:
    """Poll `check` (transient API errors included) until it returns a value; WaitTimeout after the deadline."""
    last: list[str] = []

    def attempt() -> T:
        try:
            value = check()
        except Exception as exc:
            if not is_transient(exc):
                raise
            last[:] = [describe(exc)]
            log.warning("%s: transient Kubernetes error (%s), trying again", what, last[0])
            raise NotYet() from exc
        if value is None:
            raise NotYet()
        return value

    try:
        for tries in Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, NotYet)),
            stop=stop_after_delay(deadline_s),
            wait=wait_exponential(multiplier=poll_s / 4, min=min(poll_s, 0.05), max=poll_s),
            reraise=True,
        ):
            with tries:
                return attempt()
    except NotYet:
        extra = f" (last error: {last[0]})" if last else ""
        raise WaitTimeout(f"{what}: not done after {deadline_s:g}s{extra}") from None
    raise AssertionError("unreachable")
