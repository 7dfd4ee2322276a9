"""The one place that decides whether an ARM failure is transient (retry) or permanent (stop)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
)
from tenacity.wait import wait_base

from blocks.arm_retry import MAX_WAIT_S, transport_retried

T = TypeVar("T")

# ARM error codes that mean "try again later", whatever the HTTP status says.
TRANSIENT_CODES = frozenset(
    {
        "AnotherOperationInProgress",
        "OperationInProgress",
        "RetryableError",
        "RetryableErrorDueToAnotherOperation",
        "Throttled",
        "TooManyRequests",
        "ServerBusy",
        # A just-created identity is not yet replicated to Entra ID; Azure documents a retry.
        "PrincipalNotFound",
        # A referenced resource (e.g. the gateway's public IP) is still Updating.
        "ReferencedResourceNotProvisioned",
    }
)
# Codes that look retryable by status (409) but never succeed on retry.
PERMANENT_CODES = frozenset({"QuotaExceeded", "InvalidTemplate", "LinkedInvalidPropertyId"})
# AKS answers OperationNotAllowed both for "Another operation (...) is in progress" (wait and
# retry) and for requests it will never accept: only the first is transient.
MAYBE_BUSY_CODES = frozenset({"OperationNotAllowed"})
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_IN_PROGRESS_WORDS = ("in progress", "inprogress")
# Never wait longer than this between two attempts, whatever Retry-After asks for.
MAX_BACKOFF_S = MAX_WAIT_S

log = logging.getLogger(__name__)


class PermanentAzureError(RuntimeError):
    """An ARM failure that retrying will not fix: ARM's code and message, and the resource."""

    def __init__(self, resource: str, code: str, message: str, status: int | None = None) -> None:
        self.resource = resource
        self.code = code
        self.message = message
        self.status = status
        where = f" (HTTP {status})" if status else ""
        super().__init__(f"{resource}: {code}{where}: {message}")


class ResourceNotOwnedError(PermanentAzureError):
    """A resource with our deterministic name exists but lacks our ownership tags."""


class DeadlineExceededError(PermanentAzureError):
    """A wait ran out of time; names the resource and the last state seen."""


class RetryableOperationError(RuntimeError):
    """A long-running operation ended Failed with a code that means "busy, try again"."""

    def __init__(self, resource: str, code: str, message: str) -> None:
        self.resource = resource
        self.code = code
        self.message = message
        super().__init__(f"{resource}: operation ended {code}: {message}")


@dataclass(frozen=True)
class ArmFault:
    """What an exception says once ARM's envelope is unwrapped."""

    status: int | None
    code: str
    message: str


def describe(exc: BaseException) -> ArmFault:
    """Unwrap an azure-core exception into status, ARM error code and message."""
    if not isinstance(exc, HttpResponseError):
        return ArmFault(None, type(exc).__name__, str(exc))
    err = getattr(exc, "error", None)
    code, message = getattr(err, "code", None), getattr(err, "message", None)
    if not code and exc.response is not None:
        code, message = _code_from_body(exc.response)
    status = exc.status_code
    return ArmFault(status, code or f"HTTP{status or ''}", message or exc.message or str(exc))


def _code_from_body(response: Any) -> tuple[str | None, str | None]:
    # An LRO failure carries the error in the operation-status body, not in exc.error.
    try:
        body = json.loads(response.text())
    except (ValueError, TypeError, AttributeError):
        return None, None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return err.get("code"), err.get("message")
    return None, None


def is_transient(exc: BaseException) -> bool:
    """True when the same request may succeed later: throttling, server faults, busy resources."""
    if isinstance(exc, PermanentAzureError):
        return False
    if isinstance(exc, RetryableOperationError):
        return True
    if isinstance(exc, ServiceRequestError | ServiceResponseError | ConnectionError | TimeoutError):
        return True
    if not isinstance(exc, HttpResponseError):
        return False
    fault = describe(exc)
    if fault.code in PERMANENT_CODES:
        return False
    if fault.code in TRANSIENT_CODES or fault.status in TRANSIENT_STATUS:
        return True
    return (fault.status == 409 or fault.code in MAYBE_BUSY_CODES) and busy(fault)


def busy(fault: ArmFault) -> bool:
    """ARM says the resource is merely busy ("Another operation ... is in progress")."""
    return any(w in fault.message.lower() for w in _IN_PROGRESS_WORDS)


def retryable_operation_failure(fault: ArmFault) -> bool:
    """An LRO that ended Failed with a busy or not-yet-provisioned code: the same PUT may succeed later."""
    if fault.code in PERMANENT_CODES:
        return False
    return fault.code in TRANSIENT_CODES or (fault.code in MAYBE_BUSY_CODES and busy(fault))


def permanent(resource: str, exc: BaseException) -> PermanentAzureError:
    """Wrap any failure into a PermanentAzureError that names the resource and ARM's words."""
    if isinstance(exc, PermanentAzureError):
        return exc
    fault = describe(exc)
    return PermanentAzureError(resource, fault.code, fault.message, fault.status)


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """The delay ARM asked for in Retry-After (seconds or an HTTP date), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class wait_retry_after_or_exponential(wait_base):  # noqa: N801 - tenacity's naming
    """Exponential back-off from `initial`, replaced by Retry-After when ARM sends one."""

    def __init__(self, initial: float, maximum: float = MAX_BACKOFF_S) -> None:
        self.initial = initial
        self.maximum = maximum

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        asked = retry_after_seconds(outcome.exception()) if outcome is not None else None
        if asked is not None:
            return min(asked, self.maximum)
        return min(self.initial * 2 ** (retry_state.attempt_number - 1), self.maximum)


def retry_here(exc: BaseException) -> bool:
    """Transient, and not already sent again by the transport layer as often as it ever will be."""
    return is_transient(exc) and not transport_retried(exc)


def retrying(resource: str, *, deadline_s: float, initial_backoff_s: float, logger: Any = None) -> Retrying:
    """A tenacity Retrying that repeats busy answers until `deadline_s` has passed.

    Busy: what `is_transient` calls transient and the client's transport layer (blocks/arm_retry.py,
    408/429/5xx and no answer, at most 10 more sends) has not already sent again: a 409 "another
    operation is in progress", a retryable ARM code. So no request is retried by two layers.
    Use as `retrying(...)(fn, *args)` or `for attempt in retrying(...): with attempt: ...`.
    Permanent failures, and the last busy one at the deadline, propagate unchanged;
    `call_arm` turns them into PermanentAzureError.
    """
    out = logger or log

    def _before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        fault = describe(exc) if exc else ArmFault(None, "?", "")
        out.warning(
            "%s: ARM busy: %s (HTTP %s), attempt %d, retrying in %.1fs",
            resource,
            fault.code,
            fault.status,
            state.attempt_number,
            state.upcoming_sleep,
        )

    return Retrying(
        retry=retry_if_exception(retry_here),
        stop=stop_after_delay(deadline_s),
        wait=wait_retry_after_or_exponential(initial_backoff_s),
        before_sleep=_before_sleep,
        reraise=True,
    )


def call_arm(
    resource: str,
    fn: Callable[..., T],
    *args: Any,
    deadline_s: float,
    initial_backoff_s: float,
    logger: Any = None,
    **kwargs: Any,
) -> T:
    """Call one ARM operation with transient retries; anything else becomes PermanentAzureError."""
    try:
        return retrying(resource, deadline_s=deadline_s, initial_backoff_s=initial_backoff_s, logger=logger)(
            fn, *args, **kwargs
        )
    except PermanentAzureError:
        raise
    except (HttpResponseError, ServiceRequestError, ServiceResponseError, ConnectionError) as exc:
        raise permanent(resource, exc) from exc


def retry_condition(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn` with the same classification, for a task that wants Prefect retries.

    The Azure tasks take none (ARM_TASK): their requests and writes are already retried once per
    concern inside, and a task retry on top would multiply those bounds.
    """
    try:
        state.result()
    except Exception as exc:  # the failed state re-raises the task's exception here
        return is_transient(exc)
    return False
