"""The scheduler's part of a pod's life: a node that matches its selector, affinity and volumes' zone."""

from __future__ import annotations

from typing import Any

from sandbox.kube.podstage import PodStage, claims, node_ip, set_condition
from sandbox.kube.store import Obj

ZONE = "topology.kubernetes.io/zone"


def _node_matches(pod: Obj, node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    for k, v in (pod["spec"].get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(_term_matches(t, labels) for t in terms)


def _term_matches(term: dict[str, Any], labels: dict[str, str]) -> bool:
    for expr in term.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}.get(op, False)
        if not ok:
            return False
    return True


class Scheduler(PodStage):
    """default-scheduler: binds a pod to the least loaded node that fits, or says why none does."""

    def _schedule(self, pod: Obj) -> None:
        ns = pod["metadata"]["namespace"]
        nodes = self.ctl.store.list("Node")
        reasons: list[str] = []
        zones: set[str] | None = None
        for claim in claims(pod):
            pvc = self.ctl.store.get(("", "PersistentVolumeClaim", ns, claim))
            if pvc is None:
                reasons.append(f'persistentvolumeclaim "{claim}" not found')
                continue
            pv = self.ctl.store.get(("", "PersistentVolume", "", (pvc.get("spec") or {}).get("volumeName", "")))
            if pv is not None:
                zone = str((pv["metadata"].get("labels") or {}).get(ZONE, ""))
                zones = {zone} if zones is None else zones & {zone}
        fit = [n for n in nodes if _node_matches(pod, n)]
        if not fit:
            reasons.append(f"{len(nodes)} node(s) didn't match Pod's node affinity/selector")
        elif zones is not None:
            fit = [n for n in fit if (n["metadata"].get("labels") or {}).get(ZONE) in zones]
            if not fit:
                reasons.append(f"{len(nodes)} node(s) had volume node affinity conflict")
        if reasons:
            message = f"0/{len(nodes)} nodes are available: " + ", ".join(reasons) + "."
            self._unschedulable(pod, message)
            return
        load = {n["metadata"]["name"]: 0 for n in fit}
        for other in self.ctl.store.list("Pod"):
            if other["spec"].get("nodeName") in load:
                load[other["spec"]["nodeName"]] += 1
        node = min(fit, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))
        pod["spec"]["nodeName"] = node["metadata"]["name"]
        set_condition(pod, "PodScheduled", True, self._now())
        pod["status"]["hostIP"] = node_ip(node)
        self.ctl.store.update(pod)
        self.ctl.emit(pod, "Scheduled", f"Successfully assigned {ns}/{pod['metadata']['name']} to "
                      f"{node['metadata']['name']}", component="default-scheduler")

    def _unschedulable(self, pod: Obj, message: str) -> None:
        set_condition(pod, "PodScheduled", False, self._now(), "Unschedulable")
        for cond in pod["status"]["conditions"]:
            if cond["type"] == "PodScheduled":
                cond["message"] = message
        self.ctl.store.update(pod)
        self.ctl.emit(pod, "FailedScheduling", message, "Warning", "default-scheduler")
        self._retry(pod, "schedule")
