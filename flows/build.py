"""multidc/full's steps: the whole plan, Azure and ring, submitted as one task graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect.futures import PrefectFuture

from flows.provision import ProvisionFutures, load_cloud, provision_runners
from flows.ring import RingFutures, ring_runners
from flows.steps import Submitted, submit, submit_plan
from multidc_core.plan import Step, build_plan
from multidc_core.spec import RingSpec
from tasks.clusters import check_reachable
from tasks.kube_objects import KubeWaits
from tasks.ring_changes import without_bootstrap


def submit_build(
    ring: RingSpec, cloud_block: str, waits: KubeWaits | None, adding: Sequence[str]
) -> tuple[ProvisionFutures | None, RingFutures, list[PrefectFuture[Any]]]:
    """Submit every step of the ring's plan inside the calling flow.

    The ring's tasks get the spec with `auto_bootstrap: false` for the DCs in `adding`.

    Returns:
        The Azure steps (None without Azure DCs), the ring's steps, and each DC's kubeconfig step
        (fetched for an Azure DC, a reachability check for another): the cause to report when
        the ring's steps could not run.
    """
    plan = build_plan(ring, adding)
    runners = ring_runners(without_bootstrap(ring, list(adding)), waits or KubeWaits())
    if ring.azure_dcs:
        runners |= provision_runners(ring, load_cloud(cloud_block))
    fetch = runners.get("kubeconfig")

    def kubeconfig(s: Step, deps: list[PrefectFuture[Any]], done: Submitted) -> PrefectFuture[Any]:
        fetched = fetch(s, deps, done) if fetch is not None else None
        return fetched if fetched is not None else submit(check_reachable, s, deps, ring, s.dc)

    runners["kubeconfig"] = kubeconfig
    steps = submit_plan(plan, runners)
    ready = [steps[s.id] for s in plan.of_kind("kubeconfig")]
    return ProvisionFutures(plan, steps) if ring.azure_dcs else None, RingFutures(plan, steps), ready
