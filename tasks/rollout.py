"""A changed pod template (a new cassandra.yaml checksum) reaches the pods one at a time, each back UN."""

from __future__ import annotations

from typing import Any

from kubernetes.client import ApiClient
from prefect import get_run_logger

from multidc_core import naming as n
from multidc_core.spec import Datacenter
from tasks.kube_objects import (
    KubeError,
    KubeWaits,
    call,
    diagnose_pod,
    get_or_none,
    is_ready,
    request,
)
from tasks.kube_watch import watch_until


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


def roll_outdated(api: ApiClient, d: Datacenter, pods: list[str], waits: KubeWaits) -> list[str]:
    """Restart each pod not on its StatefulSet's revision, last pod first (seeds last), one at a time.

    The StatefulSets use `OnDelete`: the controller recreates a deleted pod from the new template;
    the next pod goes only when this one is Ready again, i.e. its readiness probe sees it UN.
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
        # As the StatefulSet controller does: the next pod goes only while every pod of the DC serves.
        for other in pods:
            watch_until(api, f"{d.name}: {ns}/{other} Ready before {pod} restarts", "Pod", ns, other, _ready,
                        waits.pod_ready_s)
        call(f"delete pod {ns}/{pod}", request, api, "DELETE", path)

        def back(live: dict[str, Any] | None, revision: str = revision) -> bool | None:
            return True if live is not None and _revision_of(live) == revision and is_ready(live) else None

        try:
            what = f"{d.name}: {ns}/{pod} Ready on the new template"
            watch_until(api, what, "Pod", ns, pod, back, waits.pod_ready_s)
        except KubeError as exc:
            raise RolloutError(f"datacenter {d.name}: pod {ns}/{pod} not Ready after its restart on the new "
                               f"configuration ({waits.pod_ready_s:g}s): {diagnose_pod(api, ns, pod)}") from exc
        log.info("%s: %s restarted on the new configuration and Ready", d.name, pod)
        rolled.append(pod)
    return rolled
