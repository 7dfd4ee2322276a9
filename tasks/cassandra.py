"""Cassandra per datacenter: the manifests applied, and bounded waits for its pods, node by node."""

from __future__ import annotations

from typing import Any

from kubernetes.client import ApiClient
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from multidc_core import manifests
from multidc_core import naming as n
from multidc_core.spec import Datacenter, RingSpec
from tasks.kube_access import api_for
from tasks.kube_objects import (
    Applied,
    KubeError,
    KubeWaits,
    WaitTimeout,
    apply_all,
    call,
    diagnose_pod,
    is_ready,
    request,
)
from tasks.kube_watch import watch_until
from tasks.rollout import roll_outdated
from tasks.start_gate import start_node


class PodNotReadyError(KubeError):
    """A Cassandra pod did not become Ready in time: the DC, the pod, its last state and events."""


@task(cache_policy=NO_CACHE)
def apply_cassandra(spec: RingSpec, dc: str, waits: KubeWaits | None = None) -> list[Applied]:
    """Apply the DC's Cassandra objects in order (namespace, config, Service, StatefulSets, PDB, policy),
    then start its seeds.

    Every pod's `start-gate` init container holds its node until deploy-ring grants it: the seeds here
    as soon as their pods reach the gate (seeds never bootstrap, so every DC's seeds may start at once),
    the nodes beyond them in `wait_for_dc`, one at a time across the ring (Cassandra refuses a bootstrap
    while another node is joining). So every pod is created, and its disk bound and attached, as early
    as its StatefulSet allows.

    Args:
        spec: The ring spec.
        dc: The datacenter to deploy (its cluster must be able to resolve earlier DCs' seeds).
        waits: `pvc_bound_s` and `pod_ready_s` bound each seed's way to its gate.

    Returns:
        Each object with the action taken; a re-run returns only "unchanged".
    """
    w = waits or KubeWaits()
    d = spec.dc(dc)
    api = api_for(spec, d)
    applied = apply_all(api, manifests.cassandra_manifests(spec, d))
    for pod in n.seed_pods(d):
        _start(api, d, pod, w)
    return applied


def _start(api: ApiClient, d: Datacenter, pod: str, w: KubeWaits) -> None:
    """The pod's PVC Bound, then its node granted its start (the pod at its gate, its disk attached)."""
    ns = d.namespace

    def bound(live: dict[str, Any] | None) -> bool | None:
        return True if ((live or {}).get("status") or {}).get("phase") == "Bound" else None

    what, deadline = "PVC Bound", w.pvc_bound_s
    try:
        watch_until(api, f"{d.name}: {ns}/{pod} {what}", "PersistentVolumeClaim", ns, n.pvc_name(pod), bound,
                    deadline)
        what, deadline = "at its start gate", w.pod_ready_s
        if start_node(api, d.name, ns, pod, deadline):
            get_run_logger().info("%s: %s granted its start", d.name, pod)
    except KubeError as exc:
        why = f"after {deadline:g}s" if isinstance(exc, WaitTimeout) else f"({exc})"
        raise PodNotReadyError(
            f"datacenter {d.name}: pod {ns}/{pod} not {what} {why}: {diagnose_pod(api, ns, pod)}"
        ) from exc


@task(cache_policy=NO_CACHE)
def wait_for_dc(spec: RingSpec, dc: str, waits: KubeWaits | None = None, seeds_only: bool = False) -> str:
    """Wait, pod by pod in node order, for each pod to be Ready.

    Nodes beyond the seeds are granted their start here one at a time, across racks: each one only
    once the node before it is Ready (Cassandra exits with "Other bootstrapping/leaving/moving nodes
    detected" when two bootstrap at once); their pods and disks are there already, held at the gate. Logs `n/N ready` as
    pods come up. A pod stuck Pending, crash-looping or failing its readiness probe past the
    deadline ends the run with the DC, the pod, its last container state and its last events.

    Args:
        spec: The ring spec.
        dc: The datacenter to wait for.
        waits: `pvc_bound_s` and `pod_ready_s` bound each PVC and each pod.
        seeds_only: Wait for the seed pods only, admitting no other node.

    Returns:
        `N/N ready` (`N/N seeds ready` with seeds_only).
    """
    w = waits or KubeWaits()
    d = spec.dc(dc)
    api = api_for(spec, d)
    ns, log = d.namespace, get_run_logger()
    pods = n.seed_pods(d) if seeds_only else n.pods(d)
    part = " seeds" if seeds_only else ""
    logged = -1
    for pod in pods:
        _start(api, d, pod, w)  # a seed was granted when applied: it is past its gate, or nearly

        def ready(live: dict[str, Any] | None) -> bool | None:
            return True if live is not None and is_ready(live) else None

        try:
            watch_until(api, f"{dc}: {ns}/{pod} Ready", "Pod", ns, pod, ready, w.pod_ready_s)
        except KubeError as exc:
            raise PodNotReadyError(
                f"datacenter {dc}: pod {ns}/{pod} not Ready after {w.pod_ready_s:g}s: {diagnose_pod(api, ns, pod)}"
            ) from exc
        items = call(f"pods of {dc}", request, api, "GET", f"/api/v1/namespaces/{ns}/pods").get("items") or []
        count = sum(1 for p in items if p["metadata"]["name"] in pods and is_ready(p))
        if count != logged:  # racks start in parallel: several pods may have come up meanwhile
            log.info("%s: %d/%d%s ready", dc, count, len(pods), part)
            logged = count
    if not seeds_only:  # a changed cassandra.yaml: one pod at a time, each back UN. The seeds-only
        # wait of the same DC runs beside the full one: two rollers would restart two pods at once.
        roll_outdated(api, d, pods, w)
    return f"{len(pods)}/{len(pods)}{part} ready"
