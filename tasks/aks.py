"""AKS tasks: the managed cluster and its admin kubeconfig."""

from __future__ import annotations

import base64
import threading

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from blocks.azure import AzureCloud
from blocks.kube import keep_kubeconfig, save_kept_kubeconfig
from multidc_core import naming
from multidc_core.spec import RingSpec
from tasks import arm_kinds as kinds
from tasks.arm_ensure import ARM_TASK, Ensurer, ResourceResult, ensure_described
from tasks.arm_errors import PermanentAzureError
from tasks.arm_kinds import az

# Every save registers the block type and schema first; two DCs' saves at once make the Prefect
# server answer 503 and the client back off 2 s. One save at a time per process costs ~0.1 s each.
_SAVE_LOCK = threading.Lock()


@task(**ARM_TASK)
def ensure_cluster(cloud: AzureCloud, spec: RingSpec, dc: str) -> ResourceResult:
    """Guarantee the DC's AKS cluster exists: Azure CNI in the node subnet, the DC's identity.

    Needs the identity and its role assignment first (see `ensure_role_assignment`).
    Waits up to `cluster_deadline_seconds`; a cluster whose provisioning Failed is replaced.

    Args:
        cloud: Where ARM is and how to authenticate; `cluster_deadline_seconds` bounds the wait.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        The cluster's id, provisioning state and what was done.
    """
    return ensure_described(cloud, kinds.cluster(cloud, spec, dc))


def _kubeconfig_text(value: bytes | str) -> str:
    # The SDK hands back bytes already base64-decoded; a str here is still base64.
    if isinstance(value, bytes):
        return value.decode()
    return base64.b64decode(value).decode()


@task(**ARM_TASK)
def fetch_kubeconfig(cloud: AzureCloud, spec: RingSpec, dc: str) -> str:
    """Fetch the cluster's admin kubeconfig for the DC's DatacenterKubeconfig block.

    The kubeconfig holds credentials, so only the block's name is returned. This process's tasks
    use it at once; `save_kubeconfig_block` (the plan's `kubeconfig_saved/<dc>`, beside the
    Kubernetes steps) saves the block, so no Prefect API write waits on the chain.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        The name of the saved block (`multidc-<ring>-<dc>-kubeconfig`).
    """
    a = az(spec, dc)
    api = cloud.containerservice_client(a.subscription_id).managed_clusters
    name = naming.cluster_name(spec.name, dc)
    ensurer = Ensurer(cloud)
    creds = ensurer.call(f"AKS cluster {name}", api.list_cluster_admin_credentials, a.resource_group, name)
    configs = list(creds.kubeconfigs or [])
    if not configs or not configs[0].value:
        raise PermanentAzureError(f"AKS cluster {name}", "NoKubeconfig", "ARM returned no admin kubeconfig")
    block = keep_kubeconfig(spec.name, dc, _kubeconfig_text(configs[0].value))
    ensurer.log.info("AKS cluster %s: admin kubeconfig fetched for block %s", name, block)
    return block


@task(cache_policy=NO_CACHE)
def save_kubeconfig_block(spec: RingSpec, dc: str) -> str:
    """Save the admin kubeconfig `fetch_kubeconfig` fetched in this process into the DC's block.

    Args:
        spec: The ring spec.
        dc: An azure datacenter of the spec, whose kubeconfig was fetched in this flow run.

    Returns:
        The name of the saved block (`multidc-<ring>-<dc>-kubeconfig`).
    """
    with _SAVE_LOCK:
        block = save_kept_kubeconfig(spec.name, dc)
    get_run_logger().info("admin kubeconfig of %s saved in block %s", dc, block)
    return block
