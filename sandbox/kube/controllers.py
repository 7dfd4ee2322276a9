"""Controllers of one cluster: StatefulSets, Deployments, LoadBalancer Services, garbage collection, events."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from sandbox.clock import Clock
from sandbox.kube.faults import KubeFaults
from sandbox.kube.initcontainers import EmptyDirs, VolumeFiles
from sandbox.kube.pods import PodLifecycle
from sandbox.kube.podstage import is_ready
from sandbox.kube.runtime import PodRuntime
from sandbox.kube.services import LoadBalancers
from sandbox.kube.store import BY_KIND, ApiError, Key, Obj, Store, key_of, timestamp

log = logging.getLogger(__name__)

# Delays the field notes do not give, in Azure seconds (scaled by the clock like AZURE_DURATIONS).
KUBE_DURATIONS: dict[str, float] = {
    "retry": 5,  # re-check of something pending (a missing Secret, an unschedulable pod)
    "backoff_base": 10,  # kubelet crash-loop back-off: 10 s doubling up to 300 s
    "backoff_max": 300,
}
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RestartHook = Callable[[str, str, float], None]


def template_hash(template: Any) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"]["uid"]
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: Obj) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


class Controllers:
    """Reconciles objects after every change and on timers on the event loop; never sleeps."""

    def __init__(
        self,
        cluster: str,
        store: Store,
        clock: Clock,
        runtime: PodRuntime,
        faults: KubeFaults,
        pod_cidr: str,
        lb_cidr: str,
        flavor: str = "aks",
        region: str = "",
    ) -> None:
        self.cluster, self.store, self.clock, self.runtime, self.faults = cluster, store, clock, runtime, faults
        self.pod_cidr, self.lb_cidr = pod_cidr, lb_cidr
        self.flavor, self.region = flavor, region
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._queued: set[Key] = set()
        self._event_seq = 0
        self.restart_hooks: list[RestartHook] = []
        self.restarts: list[dict[str, Any]] = []  # {"namespace","name","time"} per template-annotation change
        self.template_seen: dict[str, dict[str, Any]] = {}  # "ns/name" -> last template annotations
        self.emptydirs: dict[str, EmptyDirs] = {}  # pod uid -> its emptyDir volumes' files
        self.volume_files: VolumeFiles = {}  # persistent volume name -> the files written on it
        self.probe_runs: dict[str, tuple[bool, int]] = {}  # pod uid -> last readiness result, times in a row
        self.pods = PodLifecycle(self)
        self.services = LoadBalancers(self)
        store.listeners.append(self._on_change)

    # -- scheduling ------------------------------------------------------------------------------

    def duration(self, kind: str) -> float:
        if kind in KUBE_DURATIONS:
            return self.clock.scaled(KUBE_DURATIONS[kind])
        return self.clock.duration(kind)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        for kind in ("StatefulSet", "Deployment", "Service", "Pod"):
            for obj in self.store.list(kind):
                self.enqueue(key_of(obj))

    def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self.loop = None

    def after(self, name: str, delay: float, fn: Callable[[], None]) -> None:
        """Run fn once after delay; a timer already pending under this name is kept, not restarted."""
        if self.loop is None or name in self._timers:
            return
        self._timers[name] = self.loop.call_later(max(delay, 0.0), self._fire, name, fn)

    def cancel(self, prefix: str) -> None:
        for name in [n for n in self._timers if n.startswith(prefix)]:
            self._timers.pop(name).cancel()

    def _fire(self, name: str, fn: Callable[[], None]) -> None:
        self._timers.pop(name, None)
        try:
            fn()
        except Exception:  # a controller bug must not stop the loop serving other clusters
            log.exception("controller timer %s failed in cluster %s", name, self.cluster)

    def enqueue(self, key: Key) -> None:
        if self.loop is None or key in self._queued:
            return
        self._queued.add(key)
        self.loop.call_soon(self._reconcile, key)

    def _reconcile(self, key: Key) -> None:
        self._queued.discard(key)
        obj = self.store.get(key)
        if obj is None:
            return
        handler = {
            "StatefulSet": self._statefulset,
            "Deployment": self._deployment,
            "Service": self.services.reconcile,
            "Pod": self.pods.reconcile,
        }.get(obj["kind"])
        if handler is None:
            return
        try:
            handler(obj)
        except ApiError as exc:  # a concurrent write raced us: the resulting change event retries
            log.debug("reconcile of %s: %s", key, exc.message)
        except Exception:
            log.exception("reconcile of %s failed in cluster %s", key, self.cluster)

    def _on_change(self, event: str, obj: Obj) -> None:
        if self.loop is None or obj["kind"] == "Event":
            return
        kind, meta = obj["kind"], obj["metadata"]
        if event == "DELETED":
            self._deleted(obj)
        else:
            self.enqueue(key_of(obj))
        for ref in meta.get("ownerReferences") or []:
            if ref.get("kind") in ("StatefulSet", "Deployment"):
                self.enqueue(("apps", ref["kind"], meta.get("namespace", ""), ref["name"]))
        if kind in ("PersistentVolumeClaim", "Secret", "ConfigMap", "StorageClass", "Node"):
            ns = meta.get("namespace") if BY_KIND[kind].namespaced else None
            for pod in self.store.list("Pod", ns):
                if not is_ready(pod):
                    self.enqueue(key_of(pod))

    def _deleted(self, obj: Obj) -> None:
        uid = obj["metadata"]["uid"]
        self.cancel(f"{uid}:")
        if obj["kind"] == "Pod":
            self.pods.deleted(obj)
        if obj["kind"] == "PersistentVolumeClaim":
            pv = self.store.get(("", "PersistentVolume", "", f"pvc-{uid}"))
            if pv is not None:
                self.store.delete(key_of(pv))  # reclaimPolicy Delete: the disk and its files go
            self.volume_files.pop(f"pvc-{uid}", None)
        # Background garbage collection of dependents.
        ns = obj["metadata"].get("namespace")
        if ns and obj["kind"] in ("StatefulSet", "Deployment"):
            for pod in self.store.list("Pod", ns):
                if owned_by(pod, obj):
                    self.store.delete(key_of(pod))

    # -- events ----------------------------------------------------------------------------------

    def emit(self, obj: Obj, reason: str, message: str, type_: str = "Normal", component: str = "kubelet") -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        now = timestamp(self.clock.now())
        for ev in self.store.list("Event", ns):
            same = ev["involvedObject"].get("uid") == meta.get("uid") and ev["reason"] == reason
            if same and ev["message"] == message:
                ev["count"] = ev.get("count", 1) + 1
                ev["lastTimestamp"] = now
                self.store.update(ev)
                return
        self._event_seq += 1
        self.store.create(
            {
                "kind": "Event",
                "metadata": {"name": f"{meta['name']}.{int(self.clock.now() * 1000):x}{self._event_seq:04d}",
                             "namespace": ns},
                "involvedObject": {
                    "kind": obj["kind"],
                    "apiVersion": obj.get("apiVersion", "v1"),
                    "name": meta["name"],
                    "namespace": meta.get("namespace"),
                    "uid": meta.get("uid"),
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "count": 1,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "source": {"component": component},
                "reportingComponent": component,
            }
        )

    # -- StatefulSet -----------------------------------------------------------------------------

    def _statefulset(self, sts: Obj) -> None:
        meta, spec = sts["metadata"], sts["spec"]
        ns, name = meta["namespace"], meta["name"]
        revision = f"{name}-{template_hash(spec['template'])}"
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        pods: dict[int, Obj] = {}
        for pod in self.store.list("Pod", ns):
            pod_name = pod["metadata"]["name"]
            if owned_by(pod, sts) and pod_name.rsplit("-", 1)[-1].isdigit():
                pods[int(pod_name.rsplit("-", 1)[-1])] = pod
        replicas = spec.get("replicas", 1)
        extra = sorted((i for i in pods if i >= replicas), reverse=True)
        # Scale down removes the highest ordinal first, one at a time when ordered.
        for i in extra[:1] if ordered else extra:
            self.store.delete(key_of(pods.pop(i)))
            self.emit(sts, "SuccessfulDelete", f"delete Pod {name}-{i} in StatefulSet {name} successful",
                      component="statefulset-controller")
        for i in range(replicas):
            if i not in pods:
                pods[i] = self._create_sts_pod(sts, i, revision)
                if ordered:
                    break
            elif ordered and not is_ready(pods[i]):
                break
        outdated = [i for i, p in pods.items() if p["metadata"]["labels"].get("controller-revision-hash") != revision]
        on_delete = (spec.get("updateStrategy") or {}).get("type") == "OnDelete"
        if outdated and not on_delete and len(pods) == replicas and all(is_ready(p) for p in pods.values()):
            self.store.delete(key_of(pods.pop(max(outdated))))
        ready = sum(1 for p in pods.values() if is_ready(p))
        updated = len(pods) - len(outdated)
        status = dict(sts.get("status") or {})
        status.update(
            observedGeneration=meta["generation"],
            replicas=len(pods),
            readyReplicas=ready,
            availableReplicas=ready,
            currentReplicas=updated if not outdated else len(outdated),
            updatedReplicas=updated,
            updateRevision=revision,
            currentRevision=revision if not outdated else status.get("currentRevision", revision),
            collisionCount=0,
        )
        self.store.update({**sts, "status": status})

    def _create_sts_pod(self, sts: Obj, ordinal: int, revision: str) -> Obj:
        meta, spec = sts["metadata"], sts["spec"]
        ns, pod_name = meta["namespace"], f"{meta['name']}-{ordinal}"
        template = copy.deepcopy(spec["template"])
        pod_spec = template["spec"]
        volumes = [v for v in pod_spec.get("volumes") or [] if v["name"] not in
                   {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}]
        for tmpl in spec.get("volumeClaimTemplates") or []:
            claim = f"{tmpl['metadata']['name']}-{pod_name}"
            volumes.append({"name": tmpl["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
            if self.store.get(("", "PersistentVolumeClaim", ns, claim)) is None:
                self.store.create(
                    {
                        "kind": "PersistentVolumeClaim",
                        "metadata": {
                            "name": claim,
                            "namespace": ns,
                            "labels": dict((spec.get("selector") or {}).get("matchLabels") or {}),
                        },
                        "spec": copy.deepcopy(tmpl.get("spec") or {}),
                        "status": {"phase": "Pending"},
                    }
                )
                self.emit(sts, "SuccessfulCreate", f"create Claim {claim} Pod {pod_name} in StatefulSet "
                          f"{meta['name']} success", component="statefulset-controller")
        pod_spec["volumes"] = volumes
        pod_spec.setdefault("hostname", pod_name)
        if spec.get("serviceName"):
            pod_spec.setdefault("subdomain", spec["serviceName"])
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels.update({
            "statefulset.kubernetes.io/pod-name": pod_name,
            "controller-revision-hash": revision,
            "apps.kubernetes.io/pod-index": str(ordinal),
        })
        pod = self._new_pod(sts, pod_name, template, labels, pod_spec)
        self.emit(sts, "SuccessfulCreate", f"create Pod {pod_name} in StatefulSet {meta['name']} successful",
                  component="statefulset-controller")
        return pod

    def _new_pod(self, owner: Obj, name: str, template: Obj, labels: dict[str, str], spec: Obj) -> Obj:
        pod = {
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "labels": labels,
                "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
                "ownerReferences": [owner_ref(owner)],
            },
            "spec": spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort", "conditions": []},
        }
        return self.store.create(pod)

    # -- Deployment ------------------------------------------------------------------------------

    def _deployment(self, dep: Obj) -> None:
        meta, spec = dep["metadata"], dep["spec"]
        ns, name = meta["namespace"], meta["name"]
        template = spec["template"]
        annotations = dict((template.get("metadata") or {}).get("annotations") or {})
        seen_key = f"{ns}/{name}"
        seen = self.template_seen.get(seen_key)
        if seen is not None and seen != annotations:
            self.record_restart(ns, name, annotations)
        self.template_seen[seen_key] = annotations
        thash = template_hash(template)
        pods = [p for p in self.store.list("Pod", ns) if owned_by(p, dep)]
        current = [p for p in pods if p["metadata"]["labels"].get("pod-template-hash") == thash]
        old = [p for p in pods if p not in current]
        replicas = spec.get("replicas", 1)
        for i in range(len(current), replicas):
            pod_name = f"{name}-{thash[:9]}-{hashlib.sha256(f'{thash}{i}{self.clock.now()}'.encode()).hexdigest()[:5]}"
            labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": thash[:10]}
            current.append(self._new_pod(dep, pod_name, template, labels, copy.deepcopy(template["spec"])))
        for pod in current[replicas:]:
            self.store.delete(key_of(pod))
        current = current[:replicas]
        ready = sum(1 for p in current if is_ready(p))
        # Old pods go once the new ones serve, as a rolling update with surge does.
        if ready == replicas:
            for pod in old:
                self.store.delete(key_of(pod))
        status = {
            "observedGeneration": meta["generation"],
            "replicas": len(current) + (len(old) if ready < replicas else 0),
            "updatedReplicas": len(current),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [{"type": "Available", "status": "True" if ready >= replicas else "False",
                            "reason": "MinimumReplicasAvailable" if ready >= replicas else "MinimumReplicasUnavailable"}],
        }
        if ready < replicas:
            status["unavailableReplicas"] = replicas - ready
        self.store.update({**dep, "status": status})

    def record_restart(self, ns: str, name: str, annotations: dict[str, Any]) -> None:
        now = self.clock.now()
        self.restarts.append({"namespace": ns, "name": name, "time": now,
                              "restartedAt": annotations.get(RESTARTED_AT)})
        for hook in list(self.restart_hooks):
            hook(ns, name, now)

    # -- state -----------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        return {"restarts": copy.deepcopy(self.restarts), "template_seen": copy.deepcopy(self.template_seen),
                "emptydirs": copy.deepcopy(self.emptydirs), "volume_files": copy.deepcopy(self.volume_files),
                "lb_dns_names": self.services.dump()}

    def load(self, data: dict[str, Any]) -> None:
        self.restarts = copy.deepcopy(data.get("restarts", []))
        self.template_seen = copy.deepcopy(data.get("template_seen", {}))
        self.emptydirs = copy.deepcopy(data.get("emptydirs", {}))
        self.volume_files = copy.deepcopy(data.get("volume_files", {}))
        self.services.load(data.get("lb_dns_names", {}))
