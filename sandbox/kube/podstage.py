"""What every stage of a pod shares: its conditions, its container statuses, its claims, retries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.kube.store import Obj, key_of, timestamp

if TYPE_CHECKING:
    from sandbox.kube.controllers import Controllers

SYSTEM_NAMESPACES = ("kube-system",)  # their pods are the emulator's own; the runtime never sees them


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def set_condition(pod: Obj, ctype: str, status: bool, now: str, reason: str | None = None) -> None:
    """Set a condition, keeping lastTransitionTime unless its status flips (so probes do not bump rv)."""
    conditions = pod["status"].setdefault("conditions", [])
    value = "True" if status else "False"
    for cond in conditions:
        if cond["type"] == ctype:
            if cond["status"] != value:
                cond.update(status=value, lastTransitionTime=now)
            if reason:
                cond["reason"] = reason
            elif "reason" in cond and status:
                del cond["reason"]
            return
    cond = {"type": ctype, "status": value, "lastTransitionTime": now, "lastProbeTime": None}
    if reason:
        cond["reason"] = reason
    conditions.append(cond)


def claims(pod: Obj) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"].get("volumes") or []
            if v.get("persistentVolumeClaim")]


def node_ip(node: Obj) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP":
            return str(addr["address"])
    return ""


class PodStage:
    """The controller a stage acts through, and the pod status writes every stage makes."""

    def __init__(self, ctl: Controllers) -> None:
        self.ctl = ctl

    def _now(self) -> str:
        return timestamp(self.ctl.clock.now())

    def _system(self, pod: Obj) -> bool:
        return pod["metadata"]["namespace"] in SYSTEM_NAMESPACES

    def _main_state(self, pod: Obj) -> dict[str, Any]:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return statuses[0].get("state", {}) if statuses else {}

    def _retry(self, pod: Obj, stage: str) -> None:
        key = key_of(pod)
        self.ctl.after(f"{pod['metadata']['uid']}:{stage}", self.ctl.duration("retry"),
                       lambda: self.ctl.enqueue(key))

    def _set_containers(self, pod: Obj, state: dict[str, Any], ready: bool, restarts: int | None = None,
                        last: dict[str, Any] | None = None) -> None:
        old = {c["name"]: c for c in pod["status"].get("containerStatuses") or []}
        statuses = []
        for c in pod["spec"]["containers"]:
            prev = old.get(c["name"], {})
            statuses.append({
                "name": c["name"], "image": c["image"], "imageID": "", "ready": ready,
                "started": "running" in state,
                "restartCount": prev.get("restartCount", 0) if restarts is None else restarts,
                "state": state, "lastState": last if last is not None else prev.get("lastState", {}),
                "containerID": f"containerd://{pod['metadata']['uid'].replace('-', '')}",
            })
        pod["status"]["containerStatuses"] = statuses
        now = self._now()
        set_condition(pod, "ContainersReady", ready, now)
        set_condition(pod, "Ready", ready, now)
