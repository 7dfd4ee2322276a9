"""The ensure protocol every Azure task follows: GET by name, check ownership, compare, write only on change."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.polling import LROPoller
from azure.core.polling.base_polling import OperationFailed
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger
from pydantic import BaseModel, Field
from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_fixed,
    wait_none,
)

from blocks.azure import AzureCloud
from tasks.arm_diff import differences
from tasks.arm_errors import (
    DeadlineExceededError,
    PermanentAzureError,
    ResourceNotOwnedError,
    RetryableOperationError,
    call_arm,
    describe,
    retryable_operation_failure,
    wait_retry_after_or_exponential,
)
from tasks.arm_ops import ArmOps, Wire, to_model, to_wire
from tasks.progress import WaitProgress

Action = Literal["created", "updated", "unchanged", "reconciled", "replaced"]

TERMINAL_STATES = frozenset({"Succeeded", "Failed", "Canceled"})
# How every Azure task is declared: no Prefect task retries. Requests are retried by the client's
# transport layer and busy answers by call_arm/write (docs/DESIGN.md, "Retrying ARM calls"); a task
# retry on top would multiply both bounds. `retries=0` also overrides PREFECT_TASK_DEFAULT_RETRIES.
ARM_TASK: dict[str, Any] = {"cache_policy": NO_CACHE, "retries": 0}
# Log a long wait's progress this often (seconds) at most: once a minute reads well in the UI.
PROGRESS_EVERY_S = 60.0
# A write whose operation ends Failed with a busy code (AnotherOperationInProgress, RetryableError,
# ReferencedResourceNotProvisioned, AKS "Another operation ... is in progress") is sent again at
# most this many times in all, backing off as for transient errors; no new attempt starts once
# the cloud's retry deadline has passed since the first.
OPERATION_ATTEMPTS = 6
# Azure's remedy for a resource left Failed is a PUT of the same body, never a delete:
# https://learn.microsoft.com/en-us/azure/networking/troubleshoot-failed-state (Network) and
# https://learn.microsoft.com/en-us/troubleshoot/azure/azure-kubernetes/availability-performance/cluster-node-virtual-machine-failed-state (AKS).
REPAIR_STATES = frozenset({"Failed"})


class ResourceResult(BaseModel):
    """What an ensure_* task returns: enough to reference the resource, nothing secret."""

    kind: str = Field(description="Resource kind, e.g. virtual network.")
    name: str = Field(description="Resource name.")
    id: str = Field(description="ARM resource id.")
    provisioning_state: str | None = Field(description="provisioningState after the task.")
    action: Action = Field(description="What the task did to reach the desired state.")


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger inside a run; a module logger when called through `.fn`."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("multidc.tasks")


@dataclass
class EnsureOutcome:
    wire: Wire
    action: Action


def _elapsed(start: float) -> str:
    s = int(time.monotonic() - start)
    return f"{s // 60}m{s % 60:02d}s"


class Ensurer:
    """Runs the ensure protocol with one cloud's retry and wait policy."""

    def __init__(self, cloud: AzureCloud) -> None:
        self.cloud = cloud
        self.log = run_logger()

    def call(self, label: str, fn: Callable[..., Any], *args: Any) -> Any:
        return call_arm(
            label,
            fn,
            *args,
            deadline_s=self.cloud.retry_deadline_seconds,
            initial_backoff_s=self.cloud.retry_backoff_seconds,
            logger=self.log,
        )

    def read(self, ops: ArmOps) -> Wire | None:
        def get() -> Any:
            try:
                return ops.get()
            except ResourceNotFoundError:
                return None

        found = self.call(ops.label, get)
        return None if found is None else to_wire(found)

    def ensure(self, ops: ArmOps, desired: Wire, compare: Wire | None = None) -> EnsureOutcome:
        """GET; refuse foreign; wait out a running operation; reconcile Failed; write only on change.

        `compare` is what must match (default: `desired`); `desired` is what a write sends.
        """
        actual = self.read(ops)
        if actual is not None:
            problem = ops.owner(actual)
            if problem:
                raise ResourceNotOwnedError(
                    ops.label,
                    "NotOwnedByMultidc",
                    f"exists but {problem}; multidc never adopts a resource it did not create "
                    "(delete it, or rename the ring or datacenter)",
                )
            state = ops.state_of(actual)
            if state is not None and state not in TERMINAL_STATES:
                self.log.info("%s: %s, waiting for it to settle", ops.label, state)
                actual = self.wait_for_state(
                    ops, lambda w: ops.state_of(w) in TERMINAL_STATES, ops.deadline_s
                )
                state = ops.state_of(actual)
        if actual is None:
            return EnsureOutcome(self.write(ops, desired, "creating"), "created")
        if state in REPAIR_STATES:
            return self.repair(ops, desired)
        diffs = differences(desired if compare is None else compare, actual)
        if diffs and ops.replace_on_change:
            self.log.warning("%s: %s differ; replacing it (delete, then create)", ops.label, ", ".join(diffs))
            self.remove(ops)
            return EnsureOutcome(self.write(ops, desired, "re-creating"), "replaced")
        if not diffs:
            self.log.info("%s: exists and matches; nothing to do", ops.label)
            return EnsureOutcome(actual, "unchanged")
        self.log.info("%s: %s differ; updating", ops.label, ", ".join(diffs))
        return EnsureOutcome(self.write(ops, desired, "updating"), "updated")

    def repair(self, ops: ArmOps, desired: Wire) -> EnsureOutcome:
        """A Failed resource: PUT the same body (Azure's remedy); replace only what nothing uses."""
        self.log.warning(
            "%s: provisioningState Failed; reconciling it with a PUT of the same body (nothing is deleted)",
            ops.label,
        )
        try:
            return EnsureOutcome(self.write(ops, desired, "reconciling"), "reconciled")
        except PermanentAzureError as exc:
            if isinstance(exc, DeadlineExceededError) or ops.users_if_replaced is None:
                raise PermanentAzureError(
                    ops.label,
                    exc.code,
                    f"still not Succeeded after a reconcile (a PUT of the same body): {exc.message}. "
                    f"multidc never deletes a {ops.kind} to repair it (it holds data or traffic); fix the "
                    "cause named here or in the activity log, then re-run",
                    exc.status,
                ) from exc
            users = ops.users_if_replaced()
            if users:
                raise PermanentAzureError(
                    ops.label,
                    exc.code,
                    f"still Failed after a reconcile: {exc.message}. Not replaced: "
                    f"{', '.join(users)} use(s) it; delete those first, or fix the cause and re-run",
                    exc.status,
                ) from exc
            self.log.warning(
                "%s: still Failed after a reconcile and nothing uses it; replacing it (delete, then create)",
                ops.label,
            )
        self.remove(ops)
        return EnsureOutcome(self.write(ops, desired, "re-creating"), "replaced")

    def write(self, ops: ArmOps, desired: Wire, verb: str) -> Wire:
        """PUT and wait; an operation that ends Failed only because ARM was busy is sent again."""
        self.log.info("%s: %s", ops.label, verb)

        def attempt() -> Wire:
            started = self.call(ops.label, ops.put, to_model(ops.model, desired))
            if isinstance(started, LROPoller):
                return to_wire(self.wait_poller(ops.label, started, ops.deadline_s))
            return to_wire(started)

        def before_sleep(state: Any) -> None:
            exc = state.outcome.exception()
            self.log.warning(
                "%s: operation ended %s (busy), attempt %d of %d; sending it again in %.1fs",
                ops.label,
                getattr(exc, "code", "?"),
                state.attempt_number,
                OPERATION_ATTEMPTS,
                state.upcoming_sleep,
            )

        try:
            wire: Wire = Retrying(
                retry=retry_if_exception_type(RetryableOperationError),
                stop=stop_after_attempt(OPERATION_ATTEMPTS) | stop_after_delay(self.cloud.retry_deadline_seconds),
                wait=wait_retry_after_or_exponential(self.cloud.retry_backoff_seconds),
                before_sleep=before_sleep,
                reraise=True,
            )(attempt)
        except RetryableOperationError as exc:
            raise PermanentAzureError(
                ops.label, exc.code, f"provisioning failed, still busy after retrying: {exc.message}"
            ) from exc
        return wire

    def remove(self, ops: ArmOps) -> None:
        started = self.call(ops.label, ops.delete)
        if isinstance(started, LROPoller):
            self.wait_poller(ops.label, started, ops.deadline_s)

    def wait_poller(self, label: str, poller: LROPoller[Any], deadline_s: float) -> Any:
        """Wait on azure-core's poller (it polls and honours Retry-After), showing progress: a
        progress artifact for a gateway or a cluster (tasks/progress.py), else a log line a minute."""
        start = time.monotonic()
        chunk = max(1.0, min(PROGRESS_EVERY_S, 2 * self.cloud.poll_interval_seconds))
        progress = WaitProgress.start(label)

        def step() -> bool:
            try:
                poller.wait(timeout=chunk)
            except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
                raise self._poll_failure(label, exc) from exc
            if poller.done() and progress is not None:
                progress.finish(poller.status())
            elif progress is not None:
                progress.update(poller.status())
            elif not poller.done():
                self.log.info("%s: %s after %s", label, poller.status(), _elapsed(start))
            return poller.done()

        done = Retrying(
            retry=retry_if_result(lambda finished: not finished),
            stop=stop_after_delay(deadline_s),
            wait=wait_none(),  # poller.wait() already blocks for `chunk` seconds
            retry_error_callback=lambda state: False,
        )(step)
        if not done:
            raise DeadlineExceededError(
                label,
                "DeadlineExceeded",
                f"still {poller.status()} after {_elapsed(start)} (deadline {deadline_s:.0f}s)",
            )
        return poller.result()

    def _poll_failure(self, label: str, exc: Exception) -> Exception:
        if isinstance(exc.__cause__, OperationFailed):
            # The operation itself ended Failed/Canceled: busy codes are sent again (write());
            # anything else reports ARM's words, and a re-run reconciles the Failed resource.
            fault = describe(exc)
            if retryable_operation_failure(fault):
                return RetryableOperationError(label, fault.code, fault.message)
            return PermanentAzureError(
                label, fault.code, f"provisioning failed: {fault.message}", fault.status
            )
        # A poll the transport layer already sent again until it gave up (throttling, 5xx) is not
        # retried a second time; a re-run waits out the operation where this run stopped.
        return PermanentAzureError(label, *_fault_args(exc))

    def wait_for_state(self, ops: ArmOps, ready: Callable[[Wire], bool], deadline_s: float) -> Wire:
        """Poll GET every poll interval until `ready`, logging progress, or fail at the deadline."""
        start = time.monotonic()
        last: dict[str, Wire | None] = {"wire": None}

        def step() -> bool:
            wire = self.read(ops)
            if wire is None:
                raise PermanentAzureError(ops.label, "ResourceNotFound", "disappeared while waiting")
            last["wire"] = wire
            ok = ready(wire)
            if not ok:
                self.log.info("%s: %s after %s", ops.label, self.describe_state(ops, wire), _elapsed(start))
            return ok

        done = Retrying(
            retry=retry_if_result(lambda finished: not finished),
            stop=stop_after_delay(deadline_s),
            wait=wait_fixed(self.cloud.poll_interval_seconds),
            retry_error_callback=lambda state: False,
        )(step)
        wire = last["wire"] or {}
        if not done:
            raise DeadlineExceededError(
                ops.label,
                "DeadlineExceeded",
                f"last state {self.describe_state(ops, wire)} after {_elapsed(start)} (deadline {deadline_s:.0f}s)",
            )
        return wire

    @staticmethod
    def describe_state(ops: ArmOps, wire: Wire) -> str:
        props = wire.get("properties") or {}
        parts = [f"provisioningState={ops.state_of(wire)}"]
        for key in ("connectionStatus", "peeringState", "peeringSyncLevel"):
            if key in props:
                parts.append(f"{key}={props[key]}")
        return " ".join(parts)


def _fault_args(exc: BaseException) -> tuple[str, str, int | None]:
    fault = describe(exc)
    return fault.code, fault.message, fault.status


def ensure_described(cloud: AzureCloud, ops: ArmOps) -> ResourceResult:
    """The ensure protocol on one described resource (tasks/arm_kinds.py), with its kind's body."""
    return result(ops, Ensurer(cloud).ensure(ops, ops.desired()))


def result(ops: ArmOps, outcome: EnsureOutcome) -> ResourceResult:
    return ResourceResult(
        kind=ops.kind,
        name=ops.name,
        id=str(outcome.wire.get("id", "")),
        provisioning_state=ops.state_of(outcome.wire),
        action=outcome.action,
    )
