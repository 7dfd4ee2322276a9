"""Kubernetes objects: create, or patch only what differs, so a re-run writes nothing; transient API errors."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, Field
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

T = TypeVar("T")
Manifest = dict[str, Any]

# 409: a write raced another writer (conflict, or created meanwhile): read again and redo.
# 429: API priority and fairness throttling; 5xx: API server or etcd briefly unavailable.
TRANSIENT_STATUS = frozenset({409, 429, 500, 502, 503, 504})
# An API server answers in milliseconds; a minute of failures is an outage, not a blip.
API_DEADLINE_S = 60.0
API_INITIAL_BACKOFF_S = 0.5
API_MAX_BACKOFF_S = 10.0
MERGE_PATCH = "application/merge-patch+json"

log = logging.getLogger(__name__)


class Applied(BaseModel):
    """What apply_object did to one object (never its content: Secrets pass through here)."""

    kind: str = Field(description="Kubernetes kind, e.g. StatefulSet.")
    name: str = Field(description="Object name, with its namespace as ns/name when namespaced.")
    action: Literal["created", "patched", "unchanged"] = Field(description="What was written.")


class KubeError(RuntimeError):
    """A Kubernetes failure that retrying will not fix; names the object and the API's words."""


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


def is_transient(exc: BaseException) -> bool:
    """True when the same request may succeed later: conflicts, throttling, server or network faults."""
    if isinstance(exc, ApiException):
        # status 0: the client never got an HTTP answer (connection reset, TLS hiccup).
        return exc.status in TRANSIENT_STATUS or exc.status == 0
    return isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError)


def describe(exc: BaseException) -> str:
    """The API server's reason and message (the Status body), else the exception text."""
    if isinstance(exc, ApiException):
        try:
            body = json.loads(exc.body or "")
            return f"HTTP {exc.status} {body.get('reason', '')}: {body.get('message', '')}"
        except (ValueError, TypeError, AttributeError):
            return f"HTTP {exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def retrying(what: str, deadline_s: float = API_DEADLINE_S) -> Retrying:
    """A tenacity Retrying that repeats transient Kubernetes failures until `deadline_s`."""

    def _before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s: transient Kubernetes error (%s), retrying", what, describe(exc) if exc else "?")

    return Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_delay(deadline_s),
        wait=wait_exponential(multiplier=API_INITIAL_BACKOFF_S, max=API_MAX_BACKOFF_S),
        before_sleep=_before_sleep,
        reraise=True,
    )


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one Kubernetes operation with transient retries; anything else becomes KubeError."""
    try:
        return retrying(what)(fn, *args, **kwargs)
    except (ApiException, urllib3.exceptions.HTTPError, ConnectionError) as exc:
        raise KubeError(f"{what}: {describe(exc)}") from exc


# --- raw REST, so that every kind is read and written as the plain JSON we render ---------------


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


def request(
    api: ApiClient, method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> dict[str, Any]:
    """One REST call; returns the decoded JSON body or raises ApiException like the typed clients."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type
    params = api.param_serialize(
        method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    response = api.call_api(*params)
    response.read()
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=(response.data or b"").decode(), data=None)
    out: dict[str, Any] = json.loads(response.data or b"{}")
    return out


def read(api: ApiClient, manifest: Manifest) -> dict[str, Any] | None:
    """The live object named like the manifest, or None when it does not exist."""
    try:
        return request(api, "GET", path_of(manifest, manifest["metadata"]["name"]))
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def object_name(manifest: Manifest) -> str:
    meta = manifest["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


# --- comparing what we set with what is there ---------------------------------------------------


def _comparable(manifest: Manifest) -> Manifest:
    """The fields we set, as the API server stores them (stringData becomes base64 data)."""
    out = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "status")}
    meta = manifest.get("metadata", {})
    out["metadata"] = {k: meta[k] for k in ("labels", "annotations") if k in meta}
    if manifest.get("kind") == "Secret" and "stringData" in out:
        data = dict(out.get("data") or {})
        for key, value in out.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


def covers(live: Any, want: Any) -> bool:
    """Whether `live` holds every field of `want` (extra live fields are server defaults)."""
    if isinstance(want, dict):
        return isinstance(live, dict) and all(covers(live.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return (
            isinstance(live, list)
            and len(live) == len(want)
            and all(covers(a, b) for a, b in zip(live, want, strict=True))
        )
    if isinstance(want, int | float) and not isinstance(want, bool) and isinstance(live, str):
        return str(want) == live
    if isinstance(want, str) and isinstance(live, int | float) and not isinstance(live, bool):
        return want == str(live)
    return bool(live == want)


def differs(live: dict[str, Any], manifest: Manifest) -> bool:
    return not covers(live, _comparable(manifest))


def apply_object(api: ApiClient, manifest: Manifest) -> Applied:
    """Create the object, or merge-patch the fields we set when they differ; otherwise write nothing.

    A re-run with the same manifest therefore changes no resourceVersion. Conflicts (409) and
    other transient failures are retried until API_DEADLINE_S; Secret data is never logged.

    Args:
        api: The cluster's ApiClient.
        manifest: One object as rendered by multidc_core.manifests (any kind in KINDS).

    Returns:
        The kind, name and action taken.
    """
    kind, name = manifest["kind"], object_name(manifest)
    path = path_of(manifest)

    def once() -> Applied:
        live = read(api, manifest)
        if live is None:
            request(api, "POST", path, manifest)
            return Applied(kind=kind, name=name, action="created")
        if not differs(live, manifest):
            return Applied(kind=kind, name=name, action="unchanged")
        patch = {k: v for k, v in _comparable(manifest).items()}
        request(api, "PATCH", path_of(manifest, manifest["metadata"]["name"]), patch, MERGE_PATCH)
        return Applied(kind=kind, name=name, action="patched")

    done = call(f"{kind} {name}", once)
    if done.action != "unchanged":
        log.info("%s %s %s", kind, name, done.action)
    return done


def apply_all(api: ApiClient, manifests: list[Manifest]) -> list[Applied]:
    """apply_object for each manifest, in order."""
    return [apply_object(api, m) for m in manifests]


# --- pods ----------------------------------------------------------------------------------------


def get_or_none(api: ApiClient, path: str) -> dict[str, Any] | None:
    try:
        return request(api, "GET", path)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


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
    mine = [e for e in events if (e.get("involvedObject") or {}).get("name") in (pod, f"data-{pod}")]
    mine.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    parts += [f"event {e.get('type')} {e.get('reason')}: {e.get('message')}" for e in mine[-5:]]
    return "; ".join(parts)


# --- bounded waits ------------------------------------------------------------------------------


class WaitTimeout(KubeError):
    """A wait ran out of time; the message names what was awaited and the last state seen."""


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
