"""multidc/full: plan -> provision Azure DCs -> DNS -> Cassandra -> verify, as one flow."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from flows.plan import publish_plan
from flows.provision import MAX_WORKERS, ProvisionResult, load_cloud, submit_provision
from flows.ring import RingResult, submit_ring
from flows.spec_ref import SpecRef
from flows.verify import verify_ring
from multidc_core.spec import Provider
from multidc_core.verify_model import RingReport
from tasks.clusters import check_reachable
from tasks.kube_objects import KubeWaits


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
    summary = publish_plan(spec)
    provision = submit_provision(ring, load_cloud(cloud_block)) if ring.azure_dcs else None
    ready: dict[str, list[PrefectFuture[Any]]] = {}
    for dc in ring.datacenters:
        if dc.provider is Provider.AZURE:
            assert provision is not None
            ready[dc.name] = [provision.kubeconfigs[dc.name]]
        else:
            ready[dc.name] = [check_reachable.submit(ring, dc.name)]
    links: list[PrefectFuture[Any]] = list(provision.links) if provision else []
    deployed = submit_ring(ring, waits=waits, cluster_ready=ready, interconnect=links)
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
