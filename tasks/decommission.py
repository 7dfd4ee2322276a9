"""Nodes leaving the ring: `nodetool decommission`, the pod and its volume after it, `cleanup`, `removenode`."""

from __future__ import annotations

from typing import Any

from kubernetes.client import ApiClient
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from multidc_core import cql, manifests
from multidc_core import naming as n
from multidc_core.nodetool import NodeStatus, parse_status
from multidc_core.spec import CassandraDC, Datacenter, RingSpec
from tasks.cassandra_cql import ADMIN_LOGIN, CqlFailed, _cqlsh
from tasks.kube_access import api_for, exec_in_pod
from tasks.kube_objects import KubeError, KubeWaits, apply_object, call, get_or_none, request, wait_until
from tasks.kube_watch import watch_until


def with_nodes(d: Datacenter, nodes: int) -> Datacenter:
    """The DC with another node count (its StatefulSets' replicas follow)."""
    return d.model_copy(update={"cassandra": CassandraDC(**{**d.cassandra.model_dump(), "nodes": nodes})})


def _nodetool(api: ApiClient, d: Datacenter, pod: str, argv: list[str], w: KubeWaits) -> str:
    """Run a long nodetool command (it answers when its streaming ends); retried while it fails."""
    last: list[str] = []

    def once() -> str | None:
        res = exec_in_pod(api, d.namespace, pod, argv, timeout_s=w.repair_s)
        if res.returncode == -1:
            raise CqlFailed(f"datacenter {d.name}, pod {pod}: {' '.join(argv)} gave no answer in {w.repair_s:g}s "
                            "and may still be streaming (see `nodetool netstats`); not started again")
        last[:] = [res.stderr.strip()]
        if "Unsupported operation" in res.stderr:  # Cassandra's refusal: trying again changes nothing
            raise CqlFailed(f"datacenter {d.name}, pod {pod}: {' '.join(argv)}: {res.stderr.strip()}")
        return res.stdout if res.returncode == 0 else None

    try:
        return wait_until(f"{d.name}: {' '.join(argv)} in {pod}", once, w.repair_s, w.poll_s)
    except KubeError:
        raise CqlFailed(f"datacenter {d.name}, pod {pod}: {' '.join(argv)}: {last[0] if last else '?'}") from None


@task(cache_policy=NO_CACHE)
def live_replication(spec: RingSpec, waits: KubeWaits | None = None) -> dict[str, dict[str, str]]:
    """Every keyspace's replication map as system_schema.keyspaces shows it (read in the first DC)."""
    sh = _cqlsh(spec, waits)
    login = ADMIN_LOGIN if spec.cassandra.auth else None
    out = sh.must(login, ["SELECT keyspace_name, replication FROM system_schema.keyspaces"], "schema")
    return cql.parse_replication_rows(out)


def pod_ip(api: ApiClient, d: Datacenter, pod: str) -> str | None:
    """The pod's IP, None when it does not exist or has none (transient API errors retried)."""
    live = call(f"pod {d.namespace}/{pod}", get_or_none, api, f"/api/v1/namespaces/{d.namespace}/pods/{pod}")
    return ((live or {}).get("status") or {}).get("podIP")


def ring_rows(api: ApiClient, d: Datacenter, viewer: str) -> list[NodeStatus]:
    """`nodetool status` as the viewer pod sees the ring."""
    res = exec_in_pod(api, d.namespace, viewer, ["nodetool", "status"])
    if res.returncode != 0:
        raise KubeError(f"nodetool status in {viewer}: {res.stderr.strip()[:200]}")
    return parse_status(res.stdout)


def leave_ring(api: ApiClient, d: Datacenter, pod: str, viewer: tuple[ApiClient, Datacenter, str],
               w: KubeWaits) -> bool:
    """`nodetool decommission` in the pod, then wait until the viewer's `nodetool status` no longer lists it.

    Returns False when the pod was not in the ring (already decommissioned, or gone): nothing done.
    """
    ip = pod_ip(api, d, pod)
    if ip is None or all(r.address != ip for r in ring_rows(*viewer)):
        return False
    _nodetool(api, d, pod, ["nodetool", "decommission"], w)
    wait_until(f"{d.name}: {pod} out of the ring",
               lambda: True if all(r.address != ip for r in ring_rows(*viewer)) else None, w.pod_ready_s, w.poll_s)
    return True


@task(cache_policy=NO_CACHE)
def decommission_node(spec: RingSpec, dc: str, nodes: int, waits: KubeWaits | None = None) -> str:
    """Take the DC's node number `nodes` (0-based, the highest one) out of the ring, as an operator would.

    `nodetool decommission` in its pod (it streams its ranges to the nodes that own them next, and
    answers when done); wait until `nodetool status` in the first pod no longer lists it; scale its
    rack's StatefulSet down by one (the controller deletes the highest ordinal) and wait for the pod
    to go; delete its PVC. Resumable: a pod already gone from the ring skips to the scale-down.

    Returns:
        `<pod> decommissioned`.
    """
    w = waits or KubeWaits()
    d, log = spec.dc(dc), get_run_logger()
    api = api_for(spec, d)
    pod = n.pods(with_nodes(d, nodes + 1))[nodes]
    if leave_ring(api, d, pod, (api, d, n.pods(d)[0]), w):
        log.info("%s: %s decommissioned: its ranges streamed to the other nodes", dc, pod)
    rack = pod.rsplit("-", 1)[0]
    sts = next(m for m in manifests.cassandra_manifests(spec, with_nodes(d, nodes)) if m["metadata"]["name"] == rack)
    live = call(f"StatefulSet {rack}", get_or_none, api, f"/apis/apps/v1/namespaces/{d.namespace}/statefulsets/{rack}")
    if int(((live or {}).get("spec") or {}).get("replicas") or 0) > sts["spec"]["replicas"]:
        apply_object(api, sts)

    def gone(obj: dict[str, Any] | None) -> bool | None:
        return True if obj is None else None

    watch_until(api, f"{dc}: pod {pod} deleted", "Pod", d.namespace, pod, gone, w.pod_ready_s)
    pvc = f"/api/v1/namespaces/{d.namespace}/persistentvolumeclaims/{n.pvc_name(pod)}"
    if get_or_none(api, pvc) is not None:
        call(f"PVC {n.pvc_name(pod)}", request, api, "DELETE", pvc)
    log.info("%s: pod %s and its volume deleted", dc, pod)
    return f"{pod} decommissioned"


@task(cache_policy=NO_CACHE)
def running_nodes(spec: RingSpec, dc: str) -> int:
    """The DC's nodes as its StatefulSets count them (a node decommissioned by a stopped run still counts)."""
    d = spec.dc(dc)
    api = api_for(spec, d)
    total = 0
    for rack in d.cassandra.racks:
        path = f"/apis/apps/v1/namespaces/{d.namespace}/statefulsets/{n.statefulset_name(rack.name)}"
        live = call(f"StatefulSet {n.statefulset_name(rack.name)}", get_or_none, api, path)
        total += int(((live or {}).get("spec") or {}).get("replicas") or 0)
    return total


@task(cache_policy=NO_CACHE)
def cleanup_dc(spec: RingSpec, dc: str, waits: KubeWaits | None = None) -> list[str]:
    """`nodetool cleanup` on each node of the DC, one at a time: each drops the ranges it no longer owns."""
    w = waits or KubeWaits()
    d = spec.dc(dc)
    api = api_for(spec, d)
    for pod in n.pods(d):
        _nodetool(api, d, pod, ["nodetool", "cleanup"], w)
    get_run_logger().info("%s: cleanup done on %d nodes", dc, len(n.pods(d)))
    return n.pods(d)
