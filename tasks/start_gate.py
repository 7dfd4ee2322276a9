"""The start gate: a Cassandra pod's `start-gate` init container holds the node until it is granted.

Every pod of a rack is created as the StatefulSet's OrderedReady policy allows, so its disk binds and
attaches while the ring's join slot is still taken; the node starts only once deploy-ring writes the
grant file on its volume (`kubectl exec -c start-gate -- touch <file>`). A pod made before the gate
existed, or one whose volume already holds the grant (a restart), starts on its own.
"""

from __future__ import annotations

from typing import Any, Literal

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from multidc_core import naming as n
from tasks.kube_access import exec_in_pod
from tasks.kube_client import KubeError, as_kube_error, describe, is_transient
from tasks.kube_watch import watch_until

GateState = Literal["held", "started"]
GRANT_ATTEMPTS = 5  # a grant that found no running gate (another grant won) is looked at again, not failed


class GrantRaced(KubeError):
    """The exec found no running gate (the pod changed between the watch and the grant), or no answer."""


def gate_state(live: dict[str, Any] | None) -> GateState | None:
    """"held" while the pod's gate runs, "started" once it is past it (or has none); None before either."""
    if live is None:
        return None
    if not any(c["name"] == n.START_GATE_CONTAINER for c in live["spec"].get("initContainers") or []):
        return "started"  # a pod made before the gate: nothing holds it
    for status in (live.get("status") or {}).get("initContainerStatuses") or []:
        if status["name"] == n.START_GATE_CONTAINER:
            state = status.get("state") or {}
            if "running" in state:
                return "held"
            if (state.get("terminated") or {}).get("exitCode") == 0:
                return "started"
    return None


def start_node(api: ApiClient, what: str, namespace: str, pod: str, deadline_s: float,
               revision: str | None = None) -> bool:
    """Wait until the pod reaches its start gate or is past it, and grant it; True when this call granted it.

    With `revision`, only a pod of that StatefulSet revision counts (a pod just deleted for a roll may
    still be seen before its successor).

    Raises:
        WaitTimeout: the pod neither reached its gate nor passed it in `deadline_s` (no disk, no node).
        KubeError: the grant's exec failed for a reason other than a race.
    """
    for attempt in Retrying(stop=stop_after_attempt(GRANT_ATTEMPTS), retry=retry_if_exception_type(GrantRaced),
                            wait=wait_exponential(0.2, max=5), reraise=True):
        with attempt:
            def check(live: dict[str, Any] | None) -> GateState | None:
                labels = ((live or {}).get("metadata") or {}).get("labels") or {}
                return gate_state(live) if revision in (None, labels.get(n.REVISION_LABEL)) else None

            state = watch_until(api, f"{what}: {namespace}/{pod} at its start gate", "Pod", namespace, pod,
                                check, deadline_s)
            if state == "started":
                return False
            _grant(api, what, namespace, pod)
    return True


def _grant(api: ApiClient, what: str, namespace: str, pod: str) -> None:
    argv = ["touch", n.START_GRANT_FILE]
    try:
        res = exec_in_pod(api, namespace, pod, argv, container=n.START_GATE_CONTAINER)
    except ApiException as exc:
        # The websocket client reports every refused upgrade (400 "container not found" when the gate has
        # just ended: another grant won) as status 0, as it does a lost connection: both look again.
        if is_transient(exc):
            raise GrantRaced(describe(exc)) from exc
        raise as_kube_error(f"{what}: grant {namespace}/{pod} its start", exc) from exc
    if res.returncode != 0:
        raise KubeError(f"{what}: the start grant of {namespace}/{pod} failed: {(res.stdout + res.stderr).strip()}")
