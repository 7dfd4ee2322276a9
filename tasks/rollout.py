"""A changed pod template (a new cassandra.yaml checksum) reaches the pods one at a time, each back UN."""

from __future__ import annotations

from typing import Any

from kubernetes.client import ApiClient
from prefect import get_run_logger

from multidc_core import naming as n
from multidc_core.spec import Datacenter
from tasks.decommission import ring_rows
from tasks.kube_objects import (
    KubeError,
    KubeWaits,
    call,
    diagnose_pod,
    get_or_none,
    is_ready,
    request,
    wait_until,
)
from tasks.kube_watch import watch_until
from tasks.start_gate import start_node


class RolloutError(KubeError):
    """A pod restarted on the new template did not come back Ready (UN): names the DC, pod and its state."""


def _update_revision(live: dict[str, Any] | None) -> str | None:
    """The StatefulSet's current template revision, once its controller has seen the last change."""
    meta, status = (live or {}).get("metadata") or {}, (live or {}).get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return None
    revision = status.get("updateRevision")
    return str(revision) if revision else None


def _revision_of(pod: dict[str, Any] | None) -> str | None:
    return ((pod or {}).get("metadata") or {}).get("labels", {}).get(n.REVISION_LABEL)


def _ready(live: dict[str, Any] | None) -> bool | None:
    return True if live is not None and is_ready(live) else None


def _every_node_up(api: ApiClient, d: Datacenter, pod: str, pods: list[str], waits: KubeWaits) -> None:
    """Wait until `nodetool status` in another pod of the DC shows every node of the DC UN.

    A Ready pod proves less: its probe asks its own node, which always sees itself up, and the kubelet
    drops Ready only after failureThreshold failed probes in a row (4 x 15 s here). Restarting a node
    while another of the DC is down takes two replicas offline: LOCAL_QUORUM at RF 3 fails.
    """
    viewers, last = [p for p in pods if p != pod], [""]

    def up() -> bool | None:
        for viewer in viewers:
            try:
                rows = [r for r in ring_rows(api, d, viewer) if r.dc == d.name]
            except KubeError as exc:  # that node does not answer: ask the next one
                last[0] = f"nodetool status in {viewer} failed ({str(exc)[:120]})"
                continue
            down = [f"{r.address} ({r.rack}) is {r.code}" for r in rows if r.code != "UN"]
            last[0] = f"{', '.join(down)} as `nodetool status` in {viewer} shows" if down else ""
            return None if down else True
        return None

    if not viewers:
        return
    try:
        wait_until(f"{d.name}: every node UN before {pod} restarts", up, waits.pod_ready_s, waits.poll_s)
    except KubeError as exc:
        raise RolloutError(f"datacenter {d.name}: not restarting pod {d.namespace}/{pod} after "
                           f"{waits.pod_ready_s:g}s: {last[0]}; restarting a node now would take a second "
                           "replica of the DC offline. Bring that node back (or remove it), then run again; "
                           "the pods not restarted keep the old configuration") from exc


def roll_outdated(api: ApiClient, d: Datacenter, pods: list[str], waits: KubeWaits) -> list[str]:
    """Restart each pod not on its StatefulSet's revision, last pod first (seeds last), one at a time.

    The StatefulSets use `OnDelete`: the controller recreates a deleted pod from the new template;
    the next pod goes only when this one is Ready again, i.e. its readiness probe sees it UN, and
    every node of the DC is UN in another node's `nodetool status`.
    Returns the pods restarted.
    """
    log, ns, rolled = get_run_logger(), d.namespace, []
    for pod in reversed(pods):
        sts = pod.rsplit("-", 1)[0]

        what = f"{d.name}: StatefulSet {ns}/{sts} revision"
        revision = watch_until(api, what, "StatefulSet", ns, sts, _update_revision, waits.pod_ready_s)
        path = f"/api/v1/namespaces/{ns}/pods/{pod}"
        if _revision_of(get_or_none(api, path)) == revision:
            continue
        # As the StatefulSet controller does: the next pod goes only while every pod of the DC serves;
        # and, as Cassandra operators do, only while the ring itself sees every node of the DC UN.
        for other in pods:
            watch_until(api, f"{d.name}: {ns}/{other} Ready before {pod} restarts", "Pod", ns, other, _ready,
                        waits.pod_ready_s)
        _every_node_up(api, d, pod, pods, waits)
        call(f"delete pod {ns}/{pod}", request, api, "DELETE", path)

        def back(live: dict[str, Any] | None, revision: str = revision) -> bool | None:
            return True if live is not None and _revision_of(live) == revision and is_ready(live) else None

        try:
            # A restart, not a new node: its volume keeps its data, and its grant (but a pod made before
            # the start gate existed never wrote one).
            start_node(api, d.name, ns, pod, waits.pod_ready_s, revision)
            what = f"{d.name}: {ns}/{pod} Ready on the new template"
            watch_until(api, what, "Pod", ns, pod, back, waits.pod_ready_s)
        except KubeError as exc:
            raise RolloutError(f"datacenter {d.name}: pod {ns}/{pod} not Ready after its restart on the new "
                               f"configuration ({waits.pod_ready_s:g}s): {diagnose_pod(api, ns, pod)}") from exc
        log.info("%s: %s restarted on the new configuration and Ready", d.name, pod)
        rolled.append(pod)
    return rolled
