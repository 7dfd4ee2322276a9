"""Existing clusters: multidc creates nothing for them, it only checks that their API answers."""

from __future__ import annotations

from kubernetes.client import VersionApi
from prefect import task
from prefect.cache_policies import NO_CACHE

from multidc_core.spec import RingSpec
from tasks.kube_access import api_for
from tasks.kube_client import ClusterUnreachable

__all__ = ["ClusterUnreachable", "check_reachable"]


@task(name="check-cluster-reachable", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[3, 9])
def check_reachable(spec: RingSpec, dc: str) -> str:
    """Ask the DC's API server for its version, so a wrong context fails before any change.

    Args:
        spec: The ring spec.
        dc: Name of a `kubeconfig` datacenter.

    Returns:
        The cluster's Kubernetes version, e.g. "v1.31.2".
    """
    d = spec.dc(dc)
    try:
        version = VersionApi(api_for(spec, d)).get_code()
    except Exception as exc:  # noqa: BLE001 - any failure here means the same thing to the user
        where = (
            f"context {d.kubeconfig.context!r} in {d.kubeconfig.path}" if d.kubeconfig else "its kubeconfig"
        )
        raise ClusterUnreachable(
            f"datacenter {dc}: the Kubernetes API of {where} did not answer ({type(exc).__name__}: {exc}). "
            "Fix the kubeconfig path/context or the network, then re-run."
        ) from None
    return str(version.git_version)
