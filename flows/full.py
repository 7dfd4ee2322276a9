"""multidc/full: plan -> provision Azure DCs -> DNS -> Cassandra -> verify, as one flow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from uuid import UUID

from prefect import flow, get_client, get_run_logger
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError
from prefect.futures import wait
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.variables import Variable
from pydantic import BaseModel, Field
from tenacity import retry, retry_if_exception_type, stop_after_attempt

from flows.build import submit_build
from flows.plan import publish_changes, publish_plan
from flows.provision import MAX_WORKERS, ProvisionResult
from flows.ring import RingResult
from flows.spec_ref import SpecRef
from flows.verify import verify_ring
from multidc_core.spec import RingSpec
from multidc_core.verify_model import RingReport
from tasks.kube_objects import KubeWaits
from tasks.ring_changes import dcs_to_add

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


class RingChangeRefused(RuntimeError):
    """The spec asks for a change of the live ring that multidc/full does not make; nothing was changed."""


class _SlowGrant(Exception):
    """The lock was free, yet not granted within the wait: the Prefect API was slow."""


def _lock_holder(name: str) -> str:
    try:
        held = Variable.get(f"{name}-holder")
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
    name = f"multidc-ring-{ring}"
    _ensure_lock(name)
    run_id = flow_run.get_id()
    try:
        held = _acquire(name, ConcurrencyLeaseHolder(type="flow_run", id=UUID(run_id)) if run_id else None)
    except TimeoutError:
        raise RingBusyError(
            f"ring {ring} is being changed by flow run {_lock_holder(name)}; wait for it or cancel it "
            f"(if its process died: prefect global-concurrency-limit update {name} --active-slots 0)"
        ) from None
    except _SlowGrant:
        raise RingBusyError(
            f"ring {ring}: the Prefect API did not grant its free lock {name} in {RING_LOCK_TRIES} tries of "
            f"{RING_LOCK_WAIT_S:.0f} s; the server is overloaded: run again when it answers"
        ) from None
    with held:
        Variable.set(f"{name}-holder", {"id": run_id, "name": flow_run.get_name()}, overwrite=True)
        yield


class FullResult(BaseModel):
    """What one multidc/full run did: references and states only, never a secret."""

    ring: str = Field(description="Ring name.")
    plan: str = Field(description="Summary of the step graph.")
    provision: ProvisionResult | None = Field(
        description="Azure resources and links, when any DC is on Azure."
    )
    deployment: RingResult = Field(description="What was applied and checked per datacenter.")
    verification: RingReport | None = Field(description="The ring verification's report, unless skipped.")


@flow(name="multidc", task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS))  # type: ignore[arg-type]
def multidc(
    spec: SpecRef, cloud_block: str = "multidc-sandbox", verify: bool = True, waits: KubeWaits | None = None
) -> FullResult:
    """Build one Cassandra ring across every datacenter of the spec, then prove it.

    The first DC's Cassandra starts as soon as its cluster exists, beside the other DCs'
    gateways; every other DC waits for the interconnect and its checked DNS.

    Args:
        spec: The ring spec, as a YAML path the worker can read or a saved block.
        cloud_block: AzureCloud block for the Azure datacenters (unused when there are none).
        verify: Run verify-ring at the end.
        waits: Deadlines and poll interval of the ring's Kubernetes waits; the defaults fit real
            clusters (a sandbox with scaled time polls as much faster).

    Returns:
        The plan summary, what was provisioned and deployed, and the verification report.
    """
    ring = spec.load()  # every problem of the spec at once, before any cloud call
    with ring_lock(ring.name):
        return _build(spec, ring, cloud_block, verify, waits)


def _build(
    spec: SpecRef, ring: RingSpec, cloud_block: str, verify: bool, waits: KubeWaits | None
) -> FullResult:
    changes = publish_changes(ring)  # before any change: the spec against the live ring
    refusal = changes.refusal() if changes else None
    if refusal:
        raise RingChangeRefused(f"ring {ring.name}: {refusal}")
    adding = dcs_to_add(ring, changes)
    summary = publish_plan(spec, adding)  # the steps this run takes, rebuilds of added DCs included
    if adding:
        get_run_logger().info("adding %s to the live ring: no bootstrap, then rebuild", ", ".join(adding))
    provision, deployed, ready = submit_build(ring, cloud_block, waits, adding)
    wait(deployed.order)  # every step, Azure ones upstream too, ends inside the ring lock, even on failure
    for f in ready:
        if f.state.is_failed() or f.state.is_crashed():
            f.result()  # the cause (an unreachable cluster, a failed AKS create), not the ring steps it held back
    result = FullResult(
        ring=ring.name,
        plan=summary,
        provision=provision.result() if provision else None,
        deployment=deployed.result(),
        verification=None,
    )
    if verify:
        result.verification = verify_ring(spec)
    get_run_logger().info("ring %s is built%s", ring.name, " and verified" if verify else "")
    return result
