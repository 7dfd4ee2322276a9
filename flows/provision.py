"""The Azure half of multidc/full: networks, gateways beside clusters, interconnect, kubeconfigs."""

from __future__ import annotations

from typing import Any, TypeVar

from prefect import Task, flow
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from blocks.azure import AzureCloud
from multidc_core.azure_bodies import mesh
from multidc_core.spec import InterconnectMode, RingSpec
from tasks.aks import ensure_cluster, fetch_kubeconfig
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

# Submitted tasks hold a thread while they wait for upstream futures, and a gateway or a
# cluster holds one for up to 90 minutes: size the pool so waiting never starves the work.
# Everything is submitted at once: 8 tasks per DC plus 2 per ordered pair of DCs (connection
# or peering, and its wait), 260 for ten DCs, and multidc/full adds the ring's 8 per DC on
# the same pool. With 64, six DCs queued their Kubernetes steps behind the gateways' waits.
# Idle threads cost little.
MAX_WORKERS = 384

R = TypeVar("R")


def _after(deps: list[PrefectFuture[Any]], task: Task[..., R], *args: Any) -> PrefectFuture[R]:
    """Submit `task(*args)` to start once every future in `deps` has finished."""
    return task.submit(*args, wait_for=deps, return_state=False)


class ProvisionResult(BaseModel):
    """What the Azure provisioning leaves behind: references only, no secrets."""

    resources: list[ResourceResult] = Field(
        description="Every Azure resource ensured, with the action taken."
    )
    links: list[LinkResult] = Field(description="Interconnect links and their final status.")
    kubeconfig_blocks: dict[str, str] = Field(description="DC name -> DatacenterKubeconfig block name.")


class ProvisionFutures:
    """The submitted provisioning steps, for a caller that composes them with other work."""

    def __init__(self) -> None:
        self.steps: list[PrefectFuture[Any]] = []
        self.links: list[PrefectFuture[LinkResult]] = []
        self.kubeconfigs: dict[str, PrefectFuture[str]] = {}

    def result(self) -> ProvisionResult:
        return ProvisionResult(
            resources=[f.result() for f in self.steps],
            links=[f.result() for f in self.links],
            kubeconfig_blocks={dc: f.result() for dc, f in self.kubeconfigs.items()},
        )


def submit_provision(spec: RingSpec, cloud: AzureCloud) -> ProvisionFutures:
    """Submit every Azure DC's steps inside the calling flow, each as soon as what it needs exists.

    Gateways (45 minutes or more) run beside the clusters, never before or after them;
    links are made once both ends exist, a full mesh for three or more DCs.
    """
    vpn = spec.interconnect.mode is InterconnectMode.VPN_GATEWAY
    peering = spec.interconnect.mode is InterconnectMode.GLOBAL_PEERING
    out = ProvisionFutures()
    vnets: dict[str, PrefectFuture[ResourceResult]] = {}
    gateways: dict[str, PrefectFuture[ResourceResult]] = {}
    for dc in (d.name for d in spec.azure_dcs):
        rg = ensure_resource_group.submit(cloud, spec, dc)
        vnets[dc] = _after([rg], ensure_vnet, cloud, spec, dc)
        identity = _after([rg], ensure_identity, cloud, spec, dc)
        # Network Contributor on the subnet before the cluster exists (AKS needs it at create).
        grant = _after([identity, vnets[dc]], ensure_role_assignment, cloud, spec, dc)
        cluster = _after([grant], ensure_cluster, cloud, spec, dc)
        out.kubeconfigs[dc] = _after([cluster], fetch_kubeconfig, cloud, spec, dc)
        out.steps += [rg, vnets[dc], identity, grant, cluster]
        if vpn:
            # The gateway needs only its GatewaySubnet and IP: it runs beside the cluster.
            ip = _after([rg], ensure_public_ip, cloud, spec, dc)
            gateways[dc] = _after([vnets[dc], ip], ensure_gateway, cloud, spec, dc)
            out.steps += [ip, gateways[dc]]
    made: dict[tuple[str, str], PrefectFuture[ResourceResult]] = {}
    for src, dst in mesh(spec):
        if vpn:
            made[src, dst] = _after(
                [gateways[src], gateways[dst]], ensure_gateway_connection, cloud, spec, src, dst
            )
        elif peering:
            made[src, dst] = _after([vnets[src], vnets[dst]], ensure_peering, cloud, spec, src, dst)
    out.steps += list(made.values())
    out.links = [_after([made[a, b], made[b, a]], wait_connected, cloud, spec, a, b) for a, b in made]
    return out


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
