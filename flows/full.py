"""multidc/full: plan -> provision Azure DCs -> DNS -> Cassandra -> verify, as one flow."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from flows.build import submit_build
from flows.plan import publish_changes, publish_plan
from flows.provision import MAX_WORKERS, ProvisionResult
from flows.ring import RingResult
from flows.ring_lock import ring_lock
from flows.spec_ref import SpecRef
from flows.verify import verify_ring
from multidc_core import naming
from multidc_core.spec import RingSpec
from multidc_core.verify_model import RingReport
from tasks.kube_objects import KubeWaits
from tasks.ring_changes import dcs_to_add


class RingChangeRefused(RuntimeError):
    """The spec asks for a change of the live ring that multidc/full does not make; nothing was changed."""


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
    spec: SpecRef, cloud_block: str = naming.DEFAULT_CLOUD_BLOCK, verify: bool = True, waits: KubeWaits | None = None
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
