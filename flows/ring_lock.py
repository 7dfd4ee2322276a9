"""The ring lock: one flow run at a time changes a ring (multidc/full and teardown hold it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError
from prefect.runtime import flow_run
from prefect.variables import Variable
from tenacity import retry, retry_if_exception_type, stop_after_attempt

from multidc_core import naming

# One run at a time changes a ring: multidc and teardown hold the same lock, a Prefect global
# concurrency limit of 1 named multidc-ring-<ring>, created on first use. Its lease is renewed
# while the run lives; Prefect's minimum lease (60 s) bounds how long a run whose process died
# keeps the ring.
RING_LOCK_LEASE_S = 60.0
# A second run does not queue behind the first (an hour of gateways): it stops at once, naming it.
# A busy Prefect API (SQLite on 2 cores) can take seconds to grant even a free slot, so a wait that
# ends while the slot is free is tried again, a few times, instead of calling the ring busy.
RING_LOCK_WAIT_S = 3.0
RING_LOCK_TRIES = 3


class RingBusyError(RuntimeError):
    """Another flow run is changing this ring; this run changed nothing."""


class _SlowGrant(Exception):
    """The lock was free, yet not granted within the wait: the Prefect API was slow."""


def _lock_holder(ring: str) -> str:
    try:
        held = Variable.get(naming.ring_lock_holder_variable(ring))
    except Exception:  # the message must not fail for want of a name
        held = None
    return f"{held['name']} ({held['id']})" if isinstance(held, dict) else "(unknown)"


def _lock_free(name: str) -> bool:
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(name)
    return limit.active_slots < limit.limit


def _ensure_lock(name: str) -> None:
    """The ring's concurrency limit, created on first use (read first: a create of one that exists
    makes the server log an IntegrityError; one that races another run's answers 409, or 500)."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            except (ObjectAlreadyExists, PrefectHTTPStatusError):
                client.read_global_concurrency_limit_by_name(name)  # raises unless another run made it


@retry(retry=retry_if_exception_type(_SlowGrant), stop=stop_after_attempt(RING_LOCK_TRIES), reraise=True)
def _acquire(name: str, holder: ConcurrencyLeaseHolder | None) -> ExitStack:
    """One slot of the lock, held by the returned stack; TimeoutError when another run holds it."""
    held = ExitStack()
    try:
        held.enter_context(
            concurrency(
                name,
                occupy=1,
                timeout_seconds=RING_LOCK_WAIT_S,
                lease_duration=RING_LOCK_LEASE_S,
                strict=True,
                holder=holder,
            )
        )
    except TimeoutError:
        if _lock_free(name):
            raise _SlowGrant from None
        raise
    return held


@contextmanager
def ring_lock(ring: str) -> Iterator[None]:
    """Hold the ring's lock for the body, or raise RingBusyError naming the run that holds it."""
    name = naming.ring_lock_name(ring)
    _ensure_lock(name)
    run_id = flow_run.get_id()
    try:
        held = _acquire(name, ConcurrencyLeaseHolder(type="flow_run", id=UUID(run_id)) if run_id else None)
    except TimeoutError:
        raise RingBusyError(
            f"ring {ring} is being changed by flow run {_lock_holder(ring)}; wait for it or cancel it "
            f"(if its process died: prefect global-concurrency-limit update {name} --active-slots 0)"
        ) from None
    except _SlowGrant:
        raise RingBusyError(
            f"ring {ring}: the Prefect API did not grant its free lock {name} in {RING_LOCK_TRIES} tries of "
            f"{RING_LOCK_WAIT_S:.0f} s; the server is overloaded: run again when it answers"
        ) from None
    with held:
        Variable.set(naming.ring_lock_holder_variable(ring), {"id": run_id, "name": flow_run.get_name()}, overwrite=True)
        yield
