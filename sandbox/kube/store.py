"""Object store of one emulated cluster: resources, resourceVersions, uids and change notification."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
Key = tuple[str, str, str, str]  # (api group, kind, namespace, name); namespace "" when cluster-scoped
Listener = Callable[[str, Obj], None]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    has_status: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES: list[Resource] = [
    Resource("", "v1", "Namespace", "namespaces", False, True),
    Resource("", "v1", "ConfigMap", "configmaps", True, False),
    Resource("", "v1", "Secret", "secrets", True, False),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True, False),
    Resource("", "v1", "Service", "services", True, True),
    Resource("", "v1", "Endpoints", "endpoints", True, False),
    Resource("", "v1", "Pod", "pods", True, True),
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, True),
    Resource("", "v1", "PersistentVolume", "persistentvolumes", False, True),
    Resource("", "v1", "Event", "events", True, False),
    Resource("", "v1", "Node", "nodes", False, True),
    Resource("apps", "v1", "StatefulSet", "statefulsets", True, True),
    Resource("apps", "v1", "Deployment", "deployments", True, True),
    Resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, True),
    Resource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, False),
    Resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, False),
]
BY_PLURAL: dict[tuple[str, str], Resource] = {(r.group, r.plural): r for r in RESOURCES}
BY_KIND: dict[str, Resource] = {r.kind: r for r in RESOURCES}


class ApiError(Exception):
    """An error the API server answers with a `Status` body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> Obj:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.plural} "{name}" not found', {"name": name, "kind": res.plural})


def timestamp(seconds: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if seconds is None else seconds))


def key_of(obj: Obj) -> Key:
    res = BY_KIND[obj["kind"]]
    meta = obj["metadata"]
    return (res.group, res.kind, meta.get("namespace", "") if res.namespaced else "", meta["name"])


def _comparable(obj: Obj) -> Obj:
    """The object minus the fields the server owns, to tell a real change from a no-op write."""
    out = copy.deepcopy(obj)
    meta = out.get("metadata", {})
    for field in ("resourceVersion", "generation", "managedFields"):
        meta.pop(field, None)
    return out


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


class Store:
    """All objects of one cluster, with the cluster-wide resourceVersion counter."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._objects: dict[Key, Obj] = {}
        self._rv = 0
        self._now = now
        self.listeners: list[Listener] = []
        # Per kind, the resourceVersion of its last change; the epoch counts loads (a new history).
        self._kind_rv: dict[str, int] = {}
        self._epoch = 0

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def _bump(self, kind: str) -> str:
        self._rv += 1
        self._kind_rv[kind] = self._rv
        return str(self._rv)

    def kind_version(self, kind: str) -> tuple[int, int]:
        """Changes as yet to objects of this kind: equal answers mean none was created, changed or deleted."""
        return self._epoch, self._kind_rv.get(kind, 0)

    def _notify(self, event: str, obj: Obj) -> None:
        for listener in list(self.listeners):
            listener(event, copy.deepcopy(obj))

    def get(self, key: Key) -> Obj | None:
        obj = self._objects.get(key)
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        res = BY_KIND[kind]
        items = [
            copy.deepcopy(o)
            for (g, k, ns, _), o in self._objects.items()
            if g == res.group and k == kind and (namespace is None or ns == namespace)
        ]
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def create(self, obj: Obj) -> Obj:
        key = key_of(obj)
        res = BY_KIND[obj["kind"]]
        if key in self._objects:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{res.plural} "{key[3]}" already exists',
                {"name": key[3], "kind": res.plural},
            )
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = res.api_version
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = timestamp(self._now())
        meta["generation"] = 1
        meta["resourceVersion"] = self._bump(key[1])
        self._objects[key] = obj
        self._notify("ADDED", obj)
        return copy.deepcopy(obj)

    def update(self, obj: Obj, expected_rv: str | None = None) -> Obj:
        """Replace an object; a write that changes nothing keeps its resourceVersion."""
        key = key_of(obj)
        res = BY_KIND[obj["kind"]]
        old = self._objects.get(key)
        if old is None:
            raise not_found(res, key[3])
        if expected_rv and expected_rv != old["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.plural} "{key[3]}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                {"name": key[3], "kind": res.plural},
            )
        new = copy.deepcopy(obj)
        new["apiVersion"] = res.api_version
        meta = new["metadata"]
        # Identity fields are the server's; a client cannot change them with a write.
        for field in ("uid", "creationTimestamp", "generation", "resourceVersion"):
            meta[field] = old["metadata"][field]
        if _comparable(new) == _comparable(old):
            return copy.deepcopy(old)
        if _spec_part(new) != _spec_part(old):
            meta["generation"] = old["metadata"]["generation"] + 1
        meta["resourceVersion"] = self._bump(key[1])
        self._objects[key] = new
        self._notify("MODIFIED", new)
        return copy.deepcopy(new)

    def delete(self, key: Key) -> Obj:
        obj = self._objects.pop(key, None)
        if obj is None:
            raise not_found(BY_KIND[key[1]], key[3])
        obj["metadata"]["resourceVersion"] = self._bump(key[1])  # a DELETED watch event carries the deletion's rv
        self._notify("DELETED", obj)
        return obj

    def dump(self) -> dict[str, Any]:
        return {"resourceVersion": self._rv, "objects": [copy.deepcopy(o) for o in self._objects.values()]}

    def load(self, data: dict[str, Any]) -> None:
        self._objects = {key_of(o): copy.deepcopy(o) for o in data.get("objects", [])}
        self._rv = int(data.get("resourceVersion", 0))
        self._kind_rv, self._epoch = {}, self._epoch + 1
