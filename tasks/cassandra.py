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
    Manifest,
    apply_all,
    apply_object,
    call,
    diagnose_pod,
    is_ready,
    object_name,
    read,
    request,
)
from tasks.kube_watch import watch_until
from tasks.rollout import roll_outdated


class PodNotReadyError(KubeError):
    """A Cassandra pod did not become Ready in time: the DC, the pod, its last state and events."""


@task(cache_policy=NO_CACHE)
def apply_cassandra(spec: RingSpec, dc: str) -> list[Applied]:
    """Apply the DC's Cassandra objects in order: namespace, config, Service, StatefulSets, PDB, policy.

    Each rack's StatefulSet starts with its seed pods and keeps the pods that already run, never
    more: nodes beyond the seeds bootstrap, and Cassandra refuses a bootstrap while another node of
    the ring is joining, so `wait_for_dc` admits them one at a time across racks. Seeds never
    bootstrap, so every DC's seeds may start at once.

    Args:
        spec: The ring spec.
        dc: The datacenter to deploy (its cluster must be able to resolve earlier DCs' seeds).

    Returns:
        Each object with the action taken; a re-run returns only "unchanged".
    """
    d = spec.dc(dc)
    api = api_for(spec, d)
    seeds = n.seed_replicas(d)
    objs = manifests.cassandra_manifests(spec, d)
    held = [_held(api, m, seeds[m["metadata"]["name"]]) if m["kind"] == "StatefulSet" else m for m in objs]
    return apply_all(api, held)


def _running(api: ApiClient, sts: Manifest) -> int:
    live = call(f"StatefulSet {object_name(sts)}", read, api, sts)
    return int(((live or {}).get("spec") or {}).get("replicas") or 0)


def _held(api: ApiClient, sts: Manifest, seeds: int) -> Manifest:
    """The StatefulSet with its seed pods, or with as many as already run, never more than the spec's."""
    replicas = min(sts["spec"]["replicas"], max(seeds, _running(api, sts)))
    return {**sts, "spec": {**sts["spec"], "replicas": replicas}}


def _admit(api: ApiClient, spec: RingSpec, d: Datacenter, pod: str) -> None:
    """Scale the pod's rack StatefulSet up to include it, and nothing beyond it."""
    name, ordinal = pod.rsplit("-", 1)
    sts = next(m for m in manifests.cassandra_manifests(spec, d) if m["metadata"]["name"] == name)
    if _running(api, sts) <= int(ordinal):
        apply_object(api, {**sts, "spec": {**sts["spec"], "replicas": int(ordinal) + 1}})


@task(cache_policy=NO_CACHE)
def wait_for_dc(spec: RingSpec, dc: str, waits: KubeWaits | None = None, seeds_only: bool = False) -> str:
    """Wait, pod by pod in node order, for each PVC to be Bound and each pod to be Ready.

    Nodes beyond the seeds are admitted here one at a time, across racks: each one's StatefulSet is
    scaled up to include it only once the node before it is Ready (Cassandra exits with "Other
    bootstrapping/leaving/moving nodes detected" when two bootstrap at once). Logs `n/N ready` as
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
        pvc = n.pvc_name(pod)
        if pod not in n.seed_pods(d):
            _admit(api, spec, d, pod)

        def bound(live: dict[str, Any] | None) -> bool | None:
            return True if ((live or {}).get("status") or {}).get("phase") == "Bound" else None

        def ready(live: dict[str, Any] | None) -> bool | None:
            return True if live is not None and is_ready(live) else None

        steps = (("PVC Bound", "PersistentVolumeClaim", pvc, bound, w.pvc_bound_s),
                 ("Ready", "Pod", pod, ready, w.pod_ready_s))
        for what, kind, name, check, deadline in steps:
            try:
                watch_until(api, f"{dc}: {ns}/{pod} {what}", kind, ns, name, check, deadline)
            except KubeError as exc:
                raise PodNotReadyError(
                    f"datacenter {dc}: pod {ns}/{pod} not {what} after {deadline:g}s: {diagnose_pod(api, ns, pod)}"
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
