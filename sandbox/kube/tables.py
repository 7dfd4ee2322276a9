"""Server-side printing: lists and objects as `meta.k8s.io/v1` Tables, with the columns kube-apiserver prints.

Columns and cells follow kubernetes/kubernetes pkg/printers/internalversion/printers.go (AddHandlers and the
print<Kind> functions); ages follow k8s.io/apimachinery/pkg/util/duration.HumanDuration. A client asks for a
Table with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (kubectl get does).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any

from sandbox.kube.store import Obj

Col = tuple[str, str, int]  # (name, type, priority: 1 = only with -o wide)
Row = list[Any]


def wants_table(accept: str) -> bool:
    """True when the Accept header's first acceptable type is a meta.k8s.io Table."""
    for part in accept.split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[-1].strip() for p in part.split(";")[1:]}
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return True
    return False


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


def _age(stamp: str | None, now: float) -> str:
    when = _epoch(stamp)
    return "<unknown>" if when is None else human_duration(now - when)


def _none(text: str) -> str:
    return text or "<none>"


# -- per kind --------------------------------------------------------------------------------------


def _pod_status(pod: Obj) -> tuple[str, int, int, int, float | None]:
    """(STATUS, ready, total, restarts, last restart time) as printPod computes them."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    total = len(spec.get("containers") or [])
    reason = status.get("reason") or status.get("phase") or ""
    ready = restarts = 0
    last: float | None = None
    initializing = False
    inits = spec.get("initContainers") or []
    for i, cs in enumerate(status.get("initContainerStatuses") or []):  # printPod: the first not done
        restarts += cs.get("restartCount", 0)
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting") or {}
        if terminated is not None and terminated.get("exitCode") == 0:
            continue
        if terminated is not None:
            reason = "Init:" + (terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}")
        elif waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(inits)}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or [])
    if initializing and not initialized:
        return reason, ready, len(spec.get("containers") or []), restarts, last
    restarts = 0
    for cs in reversed(status.get("containerStatuses") or []):
        restarts += cs.get("restartCount", 0)
        finished = _epoch(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
        if finished is not None and (last is None or finished > last):
            last = finished
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "running" in state and cs.get("ready"):
            ready += 1
    if reason == "Completed" and ready:
        ready_cond = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        reason = "Running" if ready_cond else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason, ready, total, restarts, last


def _pod(pod: Obj, now: float) -> Row:
    reason, ready, total, restarts, last = _pod_status(pod)
    restart_cell: Any = restarts if last is None else f"{restarts} ({human_duration(now - last)} ago)"
    status = pod.get("status") or {}
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    return [pod["metadata"]["name"], f"{ready}/{total}", reason, restart_cell, _age(pod["metadata"].get(
        "creationTimestamp"), now), _none(status.get("podIP", "")), _none((pod.get("spec") or {}).get("nodeName", "")),
        "<none>", f"{len(gates)}" if gates else "<none>"]


def _images(spec: Obj) -> tuple[str, str]:
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c["name"] for c in containers), ",".join(c.get("image", "") for c in containers)


def _selector(sel: Obj | None) -> str:
    if not sel:
        return "<none>"
    terms = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        terms.append(f"{e['key']} {e['operator'].lower()} ({','.join(e.get('values') or [])})")
    return ",".join(terms) or "<none>"


def _statefulset(sts: Obj, now: float) -> Row:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    names, images = _images(spec)
    return [sts["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            _age(sts["metadata"].get("creationTimestamp"), now), names, images]


def _deployment(dep: Obj, now: float) -> Row:
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    names, images = _images(spec)
    return [dep["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
            _age(dep["metadata"].get("creationTimestamp"), now), names, images, _selector(spec.get("selector"))]


def _service(svc: Obj, now: float) -> Row:
    spec, status = svc.get("spec") or {}, svc.get("status") or {}
    stype = spec.get("type", "ClusterIP")
    ingress = [i.get("ip") or i.get("hostname", "") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
    external = ",".join(ingress + list(spec.get("externalIPs") or []))
    if not external:
        external = "<pending>" if stype == "LoadBalancer" else "<none>"
    ports = []
    for p in spec.get("ports") or []:
        text = f"{p['port']}/{p.get('protocol', 'TCP')}"
        if p.get("nodePort"):
            text = f"{p['port']}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        ports.append(text)
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [svc["metadata"]["name"], stype, spec.get("clusterIP") or "<none>", external,
            ",".join(ports) or "<none>", _age(svc["metadata"].get("creationTimestamp"), now), selector or "<none>"]


def _pvc(pvc: Obj, now: float) -> Row:
    spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
    bound = status.get("phase") == "Bound"
    modes = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    access = ",".join(modes.get(m, m) for m in status.get("accessModes") or []) if bound else ""
    capacity = (status.get("capacity") or {}).get("storage", "") if bound else ""
    return [pvc["metadata"]["name"], status.get("phase", "Pending"), spec.get("volumeName", ""), capacity, access,
            spec.get("storageClassName") or "", spec.get("volumeAttributesClassName") or "<unset>",
            _age(pvc["metadata"].get("creationTimestamp"), now), spec.get("volumeMode", "Filesystem")]


def _pv(pv: Obj, now: float) -> Row:
    spec, status = pv.get("spec") or {}, pv.get("status") or {}
    ref = spec.get("claimRef") or {}
    modes = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return [pv["metadata"]["name"], (spec.get("capacity") or {}).get("storage", ""),
            ",".join(modes.get(m, m) for m in spec.get("accessModes") or []),
            spec.get("persistentVolumeReclaimPolicy", ""), status.get("phase", ""),
            f"{ref['namespace']}/{ref['name']}" if ref else "", spec.get("storageClassName") or "",
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""),
            _age(pv["metadata"].get("creationTimestamp"), now), spec.get("volumeMode", "Filesystem")]


def _event(ev: Obj, now: float) -> Row:
    inv = ev.get("involvedObject") or {}
    src = ev.get("source") or {}
    source = src.get("component", "") + (f", {src['host']}" if src.get("host") else "")
    return [_age(ev.get("lastTimestamp") or ev.get("eventTime"), now), ev.get("type", ""), ev.get("reason", ""),
            f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}", ev.get("message", ""),
            inv.get("fieldPath", ""), source, _age(ev.get("firstTimestamp"), now), ev.get("count", 1),
            ev["metadata"]["name"]]


def _node(node: Obj, now: float) -> Row:
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = status.get("nodeInfo") or {}
    addrs = {a["type"]: a["address"] for a in status.get("addresses") or []}
    return [node["metadata"]["name"], state, ",".join(roles) or "<none>",
            _age(node["metadata"].get("creationTimestamp"), now), info.get("kubeletVersion", ""),
            addrs.get("InternalIP", "<none>"), addrs.get("ExternalIP", "<none>"), info.get("osImage", "<unknown>"),
            info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion", "<unknown>")]


def _pdb(pdb: Obj, now: float) -> Row:
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    return [pdb["metadata"]["name"], str(spec.get("minAvailable", "N/A")), str(spec.get("maxUnavailable", "N/A")),
            status.get("disruptionsAllowed", 0), _age(pdb["metadata"].get("creationTimestamp"), now)]


def _namespace(ns: Obj, now: float) -> Row:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", "Active"),
            _age(ns["metadata"].get("creationTimestamp"), now)]


def _endpoints(ep: Obj, now: float) -> Row:
    pairs = [f"{a['ip']}:{p['port']}" for s in ep.get("subsets") or [] for p in s.get("ports") or [{"port": ""}]
             for a in s.get("addresses") or []]
    text = ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")
    return [ep["metadata"]["name"], text or "<none>", _age(ep["metadata"].get("creationTimestamp"), now)]


def _simple(extra: Callable[[Obj], list[Any]]) -> Callable[[Obj, float], Row]:
    def row(obj: Obj, now: float) -> Row:
        return [obj["metadata"]["name"], *extra(obj), _age(obj["metadata"].get("creationTimestamp"), now)]
    return row


def _storage_class(sc: Obj, now: float) -> Row:
    default = (sc["metadata"].get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    return [sc["metadata"]["name"] + (" (default)" if default else ""), sc.get("provisioner", ""),
            sc.get("reclaimPolicy", "Delete"), sc.get("volumeBindingMode", "Immediate"),
            str(bool(sc.get("allowVolumeExpansion", False))).lower(), _age(sc["metadata"].get("creationTimestamp"), now)]


_AGE = ("Age", "string", 0)
PRINTERS: dict[str, tuple[list[Col], Callable[[Obj, float], Row]]] = {
    "Pod": ([("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0),
             _AGE, ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1),
             ("Readiness Gates", "string", 1)], _pod),
    "StatefulSet": ([("Name", "string", 0), ("Ready", "string", 0), _AGE, ("Containers", "string", 1),
                     ("Images", "string", 1)], _statefulset),
    "Deployment": ([("Name", "string", 0), ("Ready", "string", 0), ("Up-to-date", "integer", 0),
                    ("Available", "integer", 0), _AGE, ("Containers", "string", 1), ("Images", "string", 1),
                    ("Selector", "string", 1)], _deployment),
    "Service": ([("Name", "string", 0), ("Type", "string", 0), ("Cluster-IP", "string", 0),
                 ("External-IP", "string", 0), ("Port(s)", "string", 0), _AGE, ("Selector", "string", 1)], _service),
    "PersistentVolumeClaim": ([("Name", "string", 0), ("Status", "string", 0), ("Volume", "string", 0),
                               ("Capacity", "string", 0), ("Access Modes", "string", 0),
                               ("StorageClass", "string", 0), ("VolumeAttributesClass", "string", 0), _AGE,
                               ("VolumeMode", "string", 1)], _pvc),
    "PersistentVolume": ([("Name", "string", 0), ("Capacity", "string", 0), ("Access Modes", "string", 0),
                          ("Reclaim Policy", "string", 0), ("Status", "string", 0), ("Claim", "string", 0),
                          ("StorageClass", "string", 0), ("VolumeAttributesClass", "string", 0),
                          ("Reason", "string", 0), _AGE, ("VolumeMode", "string", 1)], _pv),
    "Event": ([("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0), ("Object", "string", 0),
               ("Message", "string", 0), ("Subobject", "string", 1), ("Source", "string", 1),
               ("First Seen", "string", 1), ("Count", "string", 1), ("Name", "string", 1)], _event),
    "Node": ([("Name", "string", 0), ("Status", "string", 0), ("Roles", "string", 0), _AGE, ("Version", "string", 0),
              ("Internal-IP", "string", 1), ("External-IP", "string", 1), ("OS-Image", "string", 1),
              ("Kernel-Version", "string", 1), ("Container-Runtime", "string", 1)], _node),
    "PodDisruptionBudget": ([("Name", "string", 0), ("Min Available", "string", 0), ("Max Unavailable", "string", 0),
                             ("Allowed Disruptions", "integer", 0), _AGE], _pdb),
    "Namespace": ([("Name", "string", 0), ("Status", "string", 0), _AGE], _namespace),
    "Endpoints": ([("Name", "string", 0), ("Endpoints", "string", 0), _AGE], _endpoints),
    "ConfigMap": ([("Name", "string", 0), ("Data", "integer", 0), _AGE],
                  _simple(lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {})])),
    "Secret": ([("Name", "string", 0), ("Type", "string", 0), ("Data", "integer", 0), _AGE],
               _simple(lambda o: [o.get("type", "Opaque"), len(o.get("data") or {})])),
    "ServiceAccount": ([("Name", "string", 0), ("Secrets", "integer", 0), _AGE],
                       _simple(lambda o: [len(o.get("secrets") or [])])),
    "NetworkPolicy": ([("Name", "string", 0), ("Pod-Selector", "string", 0), _AGE],
                      _simple(lambda o: [_selector((o.get("spec") or {}).get("podSelector")).replace("<none>", "")])),
    "StorageClass": ([("Name", "string", 0), ("Provisioner", "string", 0), ("ReclaimPolicy", "string", 0),
                      ("VolumeBindingMode", "string", 0), ("AllowVolumeExpansion", "string", 0), _AGE],
                     _storage_class),
}


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(kind: str, items: list[Obj], now: float, list_meta: Obj, include: str = "PartialObjectMetadata") -> Obj:
    """A Table of these objects; `include` is the includeObject query parameter (None, Object, Partial...)."""
    cols, printer = PRINTERS.get(kind, ([("Name", "string", 0), _AGE], _simple(lambda o: [])))
    definitions = [{"name": name, "type": typ, "format": "name" if name == "Name" else "", "description": "",
                    "priority": prio} for name, typ, prio in cols]
    rows = []
    for obj in items:
        row: Obj = {"cells": printer(obj, now)}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = _partial(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": definitions, "rows": rows}
