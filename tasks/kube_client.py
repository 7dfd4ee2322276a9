"""The one Kubernetes client layer: its errors, which failures are transient, retries, REST calls and apply.

Errors: every Kubernetes failure the product raises is a `KubeError`; a cluster whose API cannot be
reached at all is `ClusterUnreachable`, a wait or retry that ran out of time is `WaitTimeout`.
Transient (`is_transient`): 409 (a write raced another writer: read again and redo), 429 (API priority
and fairness), 500/502/503/504 (API server or etcd briefly unavailable), status 0 and urllib3/socket
errors (no HTTP answer at all). Retries use tenacity, back-off doubling from API_INITIAL_BACKOFF_S to
API_MAX_BACKOFF_S, a server's Retry-After winning (capped), until the caller's deadline; each retry is
logged as a warning that reaches the Prefect run's log. Objects are written by server-side apply as
field manager `multidc` with force, so fields we set are ours and drift is taken back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

from tasks.run_log import route_to_run_log

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({409, 429, 500, 502, 503, 504})
# An API server answers in milliseconds; a minute of failures is an outage, not a blip.
API_DEADLINE_S = 60.0
API_INITIAL_BACKOFF_S = 0.5
API_MAX_BACKOFF_S = 10.0
# (connect, read) seconds per request: a cluster that is gone fails fast instead of hanging the run.
REQUEST_TIMEOUT = (10, 60)
FIELD_MANAGER = "multidc"
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"

# What a call can raise that becomes a KubeError (OSError covers ConnectionError and TimeoutError).
FAILURES = (ApiException, urllib3.exceptions.HTTPError, OSError)

log = logging.getLogger("multidc.kube")
route_to_run_log(log.name)


class KubeError(RuntimeError):
    """A Kubernetes failure that retrying will not fix; names the object and the API's words.

    `status` is the HTTP status of the API's answer (None when there was none).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ClusterUnreachable(KubeError):
    """A cluster's Kubernetes API gave no HTTP answer (refused, reset, timed out, name unknown)."""


class WaitTimeout(KubeError):
    """A wait ran out of time; the message names what was awaited and the last state seen."""


def unreachable(exc: BaseException) -> bool:
    """No HTTP answer came back: the connection failed, was reset or timed out."""
    if isinstance(exc, ApiException):
        return exc.status == 0
    return isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError)


def is_transient(exc: BaseException) -> bool:
    """True when the same request may succeed later: conflicts, throttling, server or network faults."""
    if isinstance(exc, ApiException) and exc.status in TRANSIENT_STATUS:
        return True
    return unreachable(exc)


def describe(exc: BaseException) -> str:
    """The API server's reason and message (the Status body), else the exception text."""
    if isinstance(exc, ApiException):
        try:
            body = json.loads(exc.body or "")
            return f"HTTP {exc.status} {body.get('reason', '')}: {body.get('message', '')}"
        except (ValueError, TypeError, AttributeError):
            return f"HTTP {exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def as_kube_error(what: str, exc: BaseException, gave_up_after_s: float | None = None) -> KubeError:
    """The product's error for a failed call: ClusterUnreachable without an answer; WaitTimeout for a
    transient answer still coming when the retries' deadline (`gave_up_after_s`) passed; else KubeError."""
    if isinstance(exc, KubeError):
        return exc
    status = exc.status if isinstance(exc, ApiException) else None
    if unreachable(exc):
        return ClusterUnreachable(f"{what}: {describe(exc)}", status)
    if gave_up_after_s is not None and is_transient(exc):
        return WaitTimeout(f"{what}: {describe(exc)} (still failing after {gave_up_after_s:g}s)", status)
    return KubeError(f"{what}: {describe(exc)}", status)


def _retry_after(exc: BaseException | None) -> float:
    """Seconds the server asked us to wait (Retry-After on 429/503), 0 when it did not say."""
    headers = getattr(exc, "headers", None) or {}
    try:
        return min(float(headers.get("Retry-After", 0)), API_MAX_BACKOFF_S)
    except (TypeError, ValueError):
        return 0.0


def retrying(
    what: str,
    deadline_s: float = API_DEADLINE_S,
    transient: Callable[[BaseException], bool] = is_transient,
) -> Retrying:
    """A tenacity Retrying that repeats `transient` failures until `deadline_s`, logging each retry."""
    backoff = wait_exponential(multiplier=API_INITIAL_BACKOFF_S, max=API_MAX_BACKOFF_S)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return max(backoff(state), _retry_after(exc))

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s: transient Kubernetes error (%s), retrying in %.1fs", what,
                    describe(exc) if exc else "?", state.upcoming_sleep)

    return Retrying(retry=retry_if_exception(transient), stop=stop_after_delay(deadline_s), wait=wait,
                    before_sleep=before_sleep, reraise=True)


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one Kubernetes operation with transient retries; what still fails becomes a KubeError."""
    return _run(what, retrying(what), fn, *args, **kwargs)


def _run(what: str, retry: Retrying, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return retry(fn, *args, **kwargs)
    except FAILURES as exc:
        raise as_kube_error(what, exc, API_DEADLINE_S) from exc


def api_client(load: Callable[[Configuration], None]) -> ApiClient:
    """An ApiClient whose configuration `load` fills (from a kubeconfig), with this layer's retries only.

    urllib3's default Retry would also resend a 429/503 that carries Retry-After, silently and before
    this layer sees it; it still retries a failed connection (3 times), before any answer came.
    """
    config = Configuration()
    load(config)
    config.retries = urllib3.Retry(3, respect_retry_after_header=False)
    return ApiClient(configuration=config)


# --- raw REST, so that every kind is read and written as the plain JSON we render ---------------


def request(
    api: ApiClient,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
    query: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """One REST call; returns the decoded JSON body or raises ApiException like the typed clients."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type
    params = api.param_serialize(
        method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    response = api.call_api(*params, _request_timeout=REQUEST_TIMEOUT)
    response.read()
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=(response.data or b"").decode(), data=None)
    out: dict[str, Any] = json.loads(response.data or b"{}")
    return out


def get_or_none(api: ApiClient, path: str) -> dict[str, Any] | None:
    """The object at path, or None when it does not exist (404)."""
    try:
        return request(api, "GET", path)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def server_side_apply(api: ApiClient, path: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """PATCH application/apply-patch+yaml as field manager `multidc`, forcing conflicts: the live object.

    Creates the object when absent; the server leaves it (and its resourceVersion) untouched when the
    applied fields already hold these values; fields other managers own and we do not apply stay.
    """
    query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
    return request(api, "PATCH", path, manifest, APPLY_PATCH, query)


def probe(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`call` for a first contact: a cluster that gives no answer is ClusterUnreachable at once.

    urllib3 has already tried the connection three times; waiting out API_DEADLINE_S would only delay
    the verdict on a cluster that is gone. Answers that are transient (429, 5xx) are retried as by `call`.
    """
    return _run(what, retrying(what, transient=lambda e: is_transient(e) and not unreachable(e)), fn, *args, **kwargs)
