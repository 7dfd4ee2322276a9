"""The Azure half of multidc/full: networks, gateways beside clusters, interconnect, kubeconfigs."""

from __future__ import annotations

from typing import Any

from prefect import Task, flow
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from blocks.azure import AzureCloud
from flows.steps import Runner, Submitted, submit, submit_plan
from multidc_core.plan import AZURE_KINDS, Plan, Step, build_plan, step_id
from multidc_core.spec import RingSpec
from tasks.aks import ensure_cluster, fetch_kubeconfig, save_kubeconfig_block
from tasks.arm_ensure import ResourceResult
from tasks.azure_network import (
    LinkResult,
    ensure_gateway,
    ensure_gateway_connection,
    ensure_peering,
    ensure_public_ip,
    ensure_resource_group,
    ensure_vnet,
    wait_connected,
)
from tasks.identity import ensure_identity, ensure_role_assignment
from tasks.vpn_key import ensure_vpn_key

# Submitted tasks hold a thread while they wait for upstream futures, and a gateway or a
# cluster holds one for up to 90 minutes: size the pool so waiting never starves the work.
# Everything is submitted at once: 8 tasks per DC plus 2 per ordered pair of DCs (connection
# or peering, and its wait), 260 for ten DCs, and multidc/full adds the ring's 8 per DC on
# the same pool. With 64, six DCs queued their Kubernetes steps behind the gateways' waits.
# Idle threads cost little.
MAX_WORKERS = 384


class ProvisionResult(BaseModel):
    """What the Azure provisioning leaves behind: references only, no secrets."""

    resources: list[ResourceResult] = Field(
        description="Every Azure resource ensured, with the action taken."
    )
    links: list[LinkResult] = Field(description="Interconnect links and their final status.")
    kubeconfig_blocks: dict[str, str] = Field(description="DC name -> DatacenterKubeconfig block name.")


class ProvisionFutures:
    """The submitted provisioning steps (step id -> future), for a caller that composes them with other work."""

    def __init__(self, plan: Plan, steps: Submitted) -> None:
        self.plan, self.steps = plan, steps
        # Azure DCs are those with a cluster step; their kubeconfig step fetches it, the next one saves it.
        self.saved = {str(s.dc): steps[step_id("kubeconfig_saved", s.dc)] for s in plan.of_kind("cluster")}

    def _all(self, kinds: tuple[str, ...]) -> list[PrefectFuture[Any]]:
        return [self.steps[s.id] for s in self.plan.steps if s.kind in kinds and s.id in self.steps]

    @property
    def links(self) -> list[PrefectFuture[Any]]:
        return self._all(("connected",))

    def result(self) -> ProvisionResult:
        return ProvisionResult(
            resources=[f.result() for f in self._all(AZURE_KINDS)],
            links=[f.result() for f in self.links],
            kubeconfig_blocks={dc: f.result() for dc, f in self.saved.items()},
        )


def provision_runners(spec: RingSpec, cloud: AzureCloud) -> dict[str, Runner]:
    """Step kind -> the task that runs it, for the Azure steps (a kubeconfig step of an Azure DC only)."""
    azure = {d.name for d in spec.azure_dcs}

    def on(task: Task[..., Any]) -> Runner:
        def run(s: Step, deps: list[PrefectFuture[Any]], _: Submitted) -> PrefectFuture[Any] | None:
            if s.dc not in azure:
                return None
            return submit(task, s, deps, cloud, spec, s.dc, *([s.peer] if s.peer else []))

        return run

    return {
        "resource_group": on(ensure_resource_group),
        "vnet": on(ensure_vnet),
        "identity": on(ensure_identity),
        "role_assignment": on(ensure_role_assignment),
        "cluster": on(ensure_cluster),
        "public_ip": on(ensure_public_ip),
        "gateway": on(ensure_gateway),
        "connection": on(ensure_gateway_connection),
        "peering": on(ensure_peering),
        "connected": on(wait_connected),
        "kubeconfig": on(fetch_kubeconfig),
        "vpn_key": lambda s, deps, _: submit(ensure_vpn_key, s, deps, spec),
        "kubeconfig_saved": lambda s, deps, _: submit(save_kubeconfig_block, s, deps, spec, s.dc),  # Azure DCs only
    }


def submit_provision(spec: RingSpec, cloud: AzureCloud) -> ProvisionFutures:
    """Submit every Azure DC's steps of the plan inside the calling flow, each as soon as what it needs exists.

    Gateways (45 minutes or more) run beside the clusters, never before or after them;
    links are made once both ends exist, a full mesh for three or more DCs.
    """
    plan = build_plan(spec)
    return ProvisionFutures(plan, submit_plan(plan, provision_runners(spec, cloud)))


def load_cloud(cloud_block: str) -> AzureCloud:
    cloud = AzureCloud.load(cloud_block)
    assert isinstance(cloud, AzureCloud)  # load is sync here: flows call it outside an event loop
    return cloud


@flow(
    name="provision-azure",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),  # type: ignore[arg-type]
)
def provision_azure(spec: RingSpec, cloud_block: str) -> ProvisionResult:
    """Create (or confirm) every Azure DC's network, gateway, identity and AKS cluster, then join them.

    Args:
        spec: The ring spec; DCs of provider `kubeconfig` are skipped here.
        cloud_block: Name of the saved AzureCloud block to use.

    Returns:
        Resources with the action taken, link states and kubeconfig block names.
    """
    return submit_provision(spec, load_cloud(cloud_block)).result()
