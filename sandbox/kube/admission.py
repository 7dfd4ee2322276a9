"""Defaulting and validation on every write, as the API server's admission does: 422 for broken objects."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from sandbox.kube.ipam import allocate
from sandbox.kube.selectors import match_labels
from sandbox.kube.store import ApiError, Obj, Store


def invalid(obj: Obj, field: str, message: str) -> ApiError:
    name = obj.get("metadata", {}).get("name", "")
    return ApiError(
        422,
        "Invalid",
        f'{obj["kind"]} "{name}" is invalid: {field}: {message}',
        {"name": name, "kind": obj["kind"], "causes": [{"reason": "FieldValueInvalid", "field": field}]},
    )


def _check_pod_spec(obj: Obj, spec: Any, path: str) -> None:
    if not isinstance(spec, dict):
        raise invalid(obj, path, "Required value")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        raise invalid(obj, f"{path}.containers", "Required value")
    for i, c in enumerate(containers + (spec.get("initContainers") or [])):
        if not isinstance(c, dict) or not c.get("name") or not c.get("image"):
            raise invalid(obj, f"{path}.containers[{i}]", "name and image are required")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)


def _check_workload(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        raise invalid(obj, "spec", "Required value")
    template = spec.get("template")
    if not isinstance(template, dict):
        raise invalid(obj, "spec.template", "Required value")
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not match_labels(spec.get("selector"), labels):
        raise invalid(obj, "spec.template.metadata.labels", "`selector` does not match template `labels`")
    _check_pod_spec(obj, template.get("spec"), "spec.template.spec")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    if obj["kind"] == "StatefulSet":
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    else:
        spec.setdefault("strategy", {"type": "RollingUpdate"})
    if not isinstance(spec["replicas"], int) or spec["replicas"] < 0:
        raise invalid(obj, "spec.replicas", "must be greater than or equal to 0")


class Admission:
    """Callable the server runs on each create (old=None) and update before the store write."""

    def __init__(self, store: Store, service_cidr: str, reserved_ips: Callable[[], list[str]]):
        self.store, self.service_cidr, self.reserved_ips = store, service_cidr, reserved_ips

    def __call__(self, obj: Obj, old: Obj | None) -> Obj:
        obj = copy.deepcopy(obj)
        kind = obj["kind"]
        handler = getattr(self, f"_{kind.lower()}", None)
        if handler is not None:
            handler(obj, old)
        return obj

    def _namespace(self, obj: Obj, old: Obj | None) -> None:
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = (old or {}).get("status") or {"phase": "Active"}

    def _configmap(self, obj: Obj, old: Obj | None) -> None:
        for key, value in (obj.get("data") or {}).items():
            if not isinstance(value, str):
                raise invalid(obj, f"data[{key}]", "must be a string")

    def _secret(self, obj: Obj, old: Obj | None) -> None:
        # stringData is write-only: the API server folds it into base64 data.
        data = obj.setdefault("data", {}) or {}
        obj["data"] = data
        for key, value in (obj.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj.setdefault("type", "Opaque")

    def _pod(self, obj: Obj, old: Obj | None) -> None:
        _check_pod_spec(obj, obj.get("spec"), "spec")
        if old is None:
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort", "conditions": []}

    def _statefulset(self, obj: Obj, old: Obj | None) -> None:
        _check_workload(obj)
        if old is not None and old["spec"].get("selector") != obj["spec"].get("selector"):
            raise invalid(obj, "spec", "Forbidden: updates to statefulset spec for fields other than "
                          "'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
                          "and 'minReadySeconds' are forbidden")
        if old is None:
            obj["status"] = {"replicas": 0, "availableReplicas": 0}

    def _deployment(self, obj: Obj, old: Obj | None) -> None:
        _check_workload(obj)
        if old is None:
            obj["status"] = {}

    def _persistentvolumeclaim(self, obj: Obj, old: Obj | None) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict) or not (spec.get("resources") or {}).get("requests", {}).get("storage"):
            raise invalid(obj, "spec.resources[storage]", "Required value")
        spec.setdefault("volumeMode", "Filesystem")
        if not spec.get("storageClassName"):
            for sc in self.store.list("StorageClass"):
                annotations = sc["metadata"].get("annotations") or {}
                if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                    spec["storageClassName"] = sc["metadata"]["name"]
        if old is None:
            obj["status"] = {"phase": "Pending"}

    def _service(self, obj: Obj, old: Obj | None) -> None:
        spec = obj.setdefault("spec", {}) or {}
        obj["spec"] = spec
        spec.setdefault("type", "ClusterIP")
        for i, port in enumerate(spec.get("ports") or []):
            if not isinstance(port, dict) or not isinstance(port.get("port"), int):
                raise invalid(obj, f"spec.ports[{i}].port", "Required value")
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port["port"])
        if not spec.get("ports") and spec.get("clusterIP") != "None":
            raise invalid(obj, "spec.ports", "Required value")
        old_ip = (old or {}).get("spec", {}).get("clusterIP")
        if old_ip and spec.get("clusterIP") not in (None, "", old_ip):
            raise invalid(obj, "spec.clusterIP", "field is immutable")
        if old_ip:
            spec["clusterIP"] = old_ip
        elif not spec.get("clusterIP"):
            used = [s["spec"].get("clusterIP") for s in self.store.list("Service")] + self.reserved_ips()
            spec["clusterIP"] = allocate(self.service_cidr, used, skip_first=2)
        if spec["clusterIP"] != "None":
            spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            self._node_ports(obj, old)
        if old is None:
            obj["status"] = {"loadBalancer": {}}

    def _node_ports(self, obj: Obj, old: Obj | None) -> None:
        """Like the API server: keep a port's old nodePort on update, give the same nodePort to one port
        number's UDP and TCP entries, else the lowest free one in 30000-32767."""
        kept = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                for p in ((old or {}).get("spec", {}).get("ports") or []) if p.get("nodePort")}
        me = (obj["metadata"].get("namespace"), obj["metadata"].get("name"))
        used = {p.get("nodePort") for s in self.store.list("Service")
                if (s["metadata"].get("namespace"), s["metadata"].get("name")) != me
                for p in s["spec"].get("ports") or []}
        by_number: dict[int, int] = {}
        for port in obj["spec"].get("ports") or []:
            node_port = port.get("nodePort") or kept.get((port["port"], port["protocol"])) or by_number.get(port["port"])
            if not node_port:
                node_port = next(n for n in range(30000, 32768) if n not in used)
            port["nodePort"] = node_port
            used.add(node_port)
            by_number[port["port"]] = node_port
