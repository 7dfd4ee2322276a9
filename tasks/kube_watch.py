"""Wait on one Kubernetes object by watching it, as controllers do: list, then watch from that resourceVersion.

Each change is seen as it happens instead of at the next poll. A watch ends at its server-side timeout
(`timeoutSeconds`) and the next one resumes from the last resourceVersion seen (events and bookmarks);
`410 Gone` (reason Expired: the server no longer holds that version) means list again, as client-go's
reflector does (k8s.io/client-go tools/cache/reflector.go). Transient API failures are retried until the
wait's deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from kubernetes import watch
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api
from kubernetes.client.exceptions import ApiException

from tasks.kube_client import FAILURES, WaitTimeout, as_kube_error, retrying

T = TypeVar("T")
Check = Callable[[dict[str, Any] | None], T | None]
# One watch request stays open at most this long; then the next resumes from the last version seen.
WATCH_S = 60
GONE = 410

LISTERS: dict[str, tuple[type, str]] = {
    "ConfigMap": (CoreV1Api, "list_namespaced_config_map"),
    "Pod": (CoreV1Api, "list_namespaced_pod"),
    "PersistentVolumeClaim": (CoreV1Api, "list_namespaced_persistent_volume_claim"),
    "Service": (CoreV1Api, "list_namespaced_service"),
    "StatefulSet": (AppsV1Api, "list_namespaced_stateful_set"),
}


class _Watcher(Generic[T]):
    def __init__(self, api: ApiClient, kind: str, namespace: str, name: str, check: Check[T]) -> None:
        group_api, method = LISTERS[kind]
        self.lister = getattr(group_api(api), method)
        self.namespace, self.check = namespace, check
        self.selector = f"metadata.name={name}"
        self.version: str | None = None  # None: list (again) before watching

    def _list(self) -> T | None:
        resp = self.lister(self.namespace, field_selector=self.selector, _preload_content=False)
        body = json.loads(resp.data)
        self.version = body["metadata"]["resourceVersion"]
        items = body.get("items") or []
        return self.check(items[0] if items else None)

    def cycle(self, left_s: float) -> T | None:
        """One list (when needed) and one watch of at most WATCH_S seconds; the value once check gives one."""
        if self.version is None:
            value = self._list()
            if value is not None:
                return value
        timeout = max(1, int(min(left_s, WATCH_S)))
        stream = watch.Watch()
        try:
            for event in stream.stream(self.lister, self.namespace, field_selector=self.selector,
                                       resource_version=self.version, timeout_seconds=timeout,
                                       allow_watch_bookmarks=True, _request_timeout=timeout + 30):
                raw = event["raw_object"]
                self.version = (raw.get("metadata") or {}).get("resourceVersion") or self.version
                if event["type"] == "BOOKMARK":
                    continue
                value = self.check(None if event["type"] == "DELETED" else raw)
                if value is not None:
                    stream.stop()
                    return value
        except ApiException as exc:
            if exc.status != GONE:
                raise
            self.version = None  # too old: the server cannot replay from there, so list again
        return None


def watch_until(api: ApiClient, what: str, kind: str, namespace: str, name: str, check: Check[T],
                deadline_s: float) -> T:
    """Watch one object until `check(object or None when absent)` returns a value; WaitTimeout at the deadline."""
    watcher: _Watcher[T] = _Watcher(api, kind, namespace, name, check)
    deadline = time.monotonic() + deadline_s
    while (left := deadline - time.monotonic()) > 0:
        value: T | None = None
        try:
            for attempt in retrying(what, left):
                with attempt:
                    value = watcher.cycle(left)
        except FAILURES as exc:
            raise as_kube_error(what, exc, deadline_s) from exc
        if value is not None:
            return value
    raise WaitTimeout(f"{what}: not done after {deadline_s:g}s")
