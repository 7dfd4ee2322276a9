"""Pod lifecycle as scheduler, volume controllers and kubelet see it: schedule, bind, attach, start, probe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.kube.initcontainers import EmptyDirs, mounted_files, run_init_containers
from sandbox.kube.ipam import allocate
from sandbox.kube.podenv import configmap_files, resolve_env
from sandbox.kube.runtime import ExecResult
from sandbox.kube.store import Obj, key_of, timestamp

if TYPE_CHECKING:
    from sandbox.kube.controllers import Controllers

ZONE = "topology.kubernetes.io/zone"
SYSTEM_NAMESPACES = ("kube-system",)  # their pods are the emulator's own; the runtime never sees them

# The kubelet's default readiness periodSeconds (k8s.io/api core/v1 Probe: "Default to 10 seconds").
KUBELET_PROBE_PERIOD_S = 10.0
PROBE_FLOOR_S = 0.5  # real seconds between two probes of one pod, at the least


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


def _claims(pod: Obj) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"].get("volumes") or []
            if v.get("persistentVolumeClaim")]


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


class PodLifecycle:
    """One pass per change or timer; the stage is read back from the pod object, so a reload resumes."""

    def __init__(self, ctl: Controllers) -> None:
        self.ctl = ctl

    def _now(self) -> str:
        return timestamp(self.ctl.clock.now())

    def _system(self, pod: Obj) -> bool:
        return pod["metadata"]["namespace"] in SYSTEM_NAMESPACES

    def reconcile(self, pod: Obj) -> None:
        state = self._main_state(pod)
        if not pod["spec"].get("nodeName"):
            self._schedule(pod)
        elif not self._volumes_ready(pod):
            return
        elif state.get("running"):
            self.ctl.after(f"{pod['metadata']['uid']}:probe", self._probe_period(pod),
                           lambda: self.probe(key_of(pod)))
        elif (state.get("waiting") or {}).get("reason") != "CrashLoopBackOff":
            # The back-off timer restarts a crash-looping container; everything else starts now.
            self.start(pod)

    def _main_state(self, pod: Obj) -> dict[str, Any]:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return statuses[0].get("state", {}) if statuses else {}

    def _retry(self, pod: Obj, stage: str) -> None:
        key = key_of(pod)
        self.ctl.after(f"{pod['metadata']['uid']}:{stage}", self.ctl.duration("retry"),
                       lambda: self.ctl.enqueue(key))

    # -- scheduler -------------------------------------------------------------------------------

    def _schedule(self, pod: Obj) -> None:
        ns = pod["metadata"]["namespace"]
        nodes = self.ctl.store.list("Node")
        reasons: list[str] = []
        zones: set[str] | None = None
        for claim in _claims(pod):
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
        pod["status"]["hostIP"] = self._node_ip(node)
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

    @staticmethod
    def _node_ip(node: Obj) -> str:
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return str(addr["address"])
        return ""

    # -- volumes ---------------------------------------------------------------------------------

    def _volumes_ready(self, pod: Obj) -> bool:
        """Bind each claim, then attach the volumes; True once the pod's sandbox is up."""
        if any(c["type"] == "PodReadyToStartContainers" and c["status"] == "True"
               for c in pod["status"].get("conditions") or []):
            return True
        ns, uid = pod["metadata"]["namespace"], pod["metadata"]["uid"]
        bound = True
        for claim in _claims(pod):
            pvc = self.ctl.store.get(("", "PersistentVolumeClaim", ns, claim))
            if pvc is None:
                self.ctl.emit(pod, "FailedMount", f'persistentvolumeclaim "{claim}" not found', "Warning")
                self._retry(pod, "volumes")
                return False
            if (pvc.get("status") or {}).get("phase") != "Bound":
                bound = False
                self._provision(pvc, pod)
        if not bound:
            return False
        delay = 0.0
        if _claims(pod):
            fault = self.ctl.faults.attach_delay(ns)
            delay = self.ctl.duration("volume_attach") * fault.factor + self.ctl.clock.scaled(fault.extra_seconds)
        self.ctl.after(f"{uid}:attach", delay, lambda: self._attached(key_of(pod)))
        return False

    def _provision(self, pvc: Obj, pod: Obj) -> None:
        sc_name = (pvc.get("spec") or {}).get("storageClassName")
        sc = self.ctl.store.get(("storage.k8s.io", "StorageClass", "", sc_name or ""))
        if sc is None:
            message = f'storageclass.storage.k8s.io "{sc_name}" not found' if sc_name else (
                "no persistent volumes available for this claim and no storage class is set")
            self.ctl.emit(pvc, "ProvisioningFailed", message, "Warning", "persistentvolume-controller")
            self._retry(pod, "provision")
            return
        key = key_of(pvc)
        self.ctl.after(f"{pvc['metadata']['uid']}:bind", self.ctl.duration("pvc_bind"),
                       lambda: self._bind(key, pod["spec"]["nodeName"], str(sc["provisioner"])))

    def _bind(self, key: tuple[str, str, str, str], node_name: str, provisioner: str) -> None:
        pvc = self.ctl.store.get(key)
        node = self.ctl.store.get(("", "Node", "", node_name))
        if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound":
            return
        uid, spec = pvc["metadata"]["uid"], pvc["spec"]
        zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(ZONE, "")
        size = spec["resources"]["requests"]["storage"]
        pv_name = f"pvc-{uid}"
        self.ctl.store.create({
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "labels": {ZONE: zone},
                         "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": spec.get("storageClassName"),
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": key[2], "name": key[3], "uid": uid},
                "csi": {"driver": provisioner, "volumeHandle": f"/disks/{pv_name}"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": ZONE, "operator": "In", "values": [zone]}]}]}},
            },
            "status": {"phase": "Bound"},
        })
        spec["volumeName"] = pv_name
        pvc["metadata"].setdefault("annotations", {}).update({
            "pv.kubernetes.io/bind-completed": "yes",
            "volume.kubernetes.io/selected-node": node_name,
        })
        pvc["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                         "capacity": {"storage": size}}
        self.ctl.store.update(pvc)
        self.ctl.emit(pvc, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}",
                      component="persistentvolume-controller")

    def _attached(self, key: tuple[str, str, str, str]) -> None:
        pod = self.ctl.store.get(key)
        if pod is None:
            return
        ns = pod["metadata"]["namespace"]
        for claim in _claims(pod):
            pvc = self.ctl.store.get(("", "PersistentVolumeClaim", ns, claim)) or {}
            volume = (pvc.get("spec") or {}).get("volumeName", claim)
            self.ctl.emit(pod, "SuccessfulAttachVolume", f'AttachVolume.Attach succeeded for volume "{volume}"',
                          component="attachdetach-controller")
        used = [p["status"].get("podIP") for p in self.ctl.store.list("Pod")]
        used += [self._node_ip(n) for n in self.ctl.store.list("Node")]
        ip = allocate(self.ctl.pod_cidr, used)
        now = self._now()
        pod["status"].update(podIP=ip, podIPs=[{"ip": ip}], startTime=now)
        set_condition(pod, "PodReadyToStartContainers", True, now)
        set_condition(pod, "Initialized", not pod["spec"].get("initContainers"), now)
        self._set_containers(pod, {"waiting": {"reason": "ContainerCreating"}}, ready=False)
        self.ctl.store.update(pod)

    # -- kubelet ---------------------------------------------------------------------------------

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

    def start(self, pod: Obj) -> None:
        meta = pod["metadata"]
        ns, name = meta["namespace"], meta["name"]
        if (ns, name) in self.ctl.faults.stopped:
            return
        main = pod["spec"]["containers"][0]
        try:
            configmap_files(self.ctl.store, pod)
            if not self._initialized(pod):
                return
        except LookupError as exc:
            self.ctl.emit(pod, "FailedMount", str(exc), "Warning")
            self._retry(pod, "start")
            return
        files = mounted_files(self.ctl.store, pod, main, self.ctl.emptydirs[meta["uid"]])
        try:
            env = resolve_env(self.ctl.store, pod, main)
        except LookupError as exc:
            self._set_containers(pod, {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}},
                                 ready=False)
            self.ctl.store.update(pod)
            self.ctl.emit(pod, "Failed", f"Error: {exc}", "Warning")
            self._retry(pod, "start")
            return
        crash: str | None = None
        if self.ctl.faults.take_crash(ns, name):
            crash = "injected fault: the container exited"
        elif not self._system(pod):
            try:
                crash = self.ctl.runtime.start(self.ctl.cluster, pod, env, files)
            except Exception as exc:  # a runtime that blows up is a container that crashed, not a stuck pod
                crash = f"container runtime error: {exc!r}"
        pod["status"]["phase"] = "Running"
        if crash is None:
            self._set_containers(pod, {"running": {"startedAt": self._now()}}, ready=False)
            self.ctl.store.update(pod)
            self.ctl.emit(pod, "Started", f"Started container {main['name']}")
            self.probe(key_of(pod))
            return
        restarts = ((pod["status"].get("containerStatuses") or [{}])[0]).get("restartCount", 0) + 1
        backoff = min(self.ctl.duration("backoff_base") * 2 ** (restarts - 1), self.ctl.duration("backoff_max"))
        wait_s = round(backoff / max(self.ctl.clock.time_scale, 1e-9))
        last = {"terminated": {"exitCode": 1, "reason": "Error", "message": crash, "finishedAt": self._now()}}
        self._set_containers(pod, {"waiting": {"reason": "CrashLoopBackOff", "message": (
            f"back-off {wait_s}s restarting failed container={main['name']} pod={name}_{ns}")}},
            ready=False, restarts=restarts, last=last)
        self.ctl.store.update(pod)
        self.ctl.emit(pod, "BackOff", f"Back-off restarting failed container {main['name']} in pod {name}: {crash}",
                      "Warning")
        key = key_of(pod)
        self.ctl.after(f"{meta['uid']}:backoff", backoff, lambda: self._restart(key))

    def _initialized(self, pod: Obj) -> bool:
        """Run the init containers once per pod (their emptyDirs stay); False while one fails."""
        uid = pod["metadata"]["uid"]
        if uid in self.ctl.emptydirs:
            return True
        dirs: EmptyDirs = {}
        failure = run_init_containers(self.ctl.store, pod, self.ctl.runtime.image_files, dirs)
        inits = pod["spec"].get("initContainers") or []
        if failure is None:
            self.ctl.emptydirs[uid] = dirs
            state: dict[str, Any] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
        else:
            state = {"terminated": {"exitCode": 1, "reason": "Error", "message": failure}}
        pod["status"]["initContainerStatuses"] = [
            {"name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": 0,
             "started": False, "state": state} for c in inits]
        set_condition(pod, "Initialized", failure is None, self._now(),
                      None if failure is None else "ContainersNotInitialized")
        self.ctl.store.update(pod)
        if failure is not None:
            self.ctl.emit(pod, "BackOff", f"Back-off restarting failed init container: {failure}", "Warning")
            key = key_of(pod)
            self.ctl.after(f"{uid}:init", self.ctl.duration("backoff_base"), lambda: self._restart(key))
        return failure is None

    def _restart(self, key: tuple[str, str, str, str]) -> None:
        pod = self.ctl.store.get(key)
        if pod is not None:
            self.start(pod)

    def probe(self, key: tuple[str, str, str, str]) -> None:
        pod = self.ctl.store.get(key)
        if pod is None or not self._main_state(pod).get("running"):
            return
        ready = self._probe_ready(pod)
        self._set_containers(pod, self._main_state(pod), ready=ready)
        self.ctl.store.update(pod)
        self.ctl.after(f"{pod['metadata']['uid']}:probe", self._probe_period(pod), lambda: self.probe(key))

    def _probe_period(self, pod: Obj) -> float:
        """The probe's periodSeconds (the kubelet's default 10), scaled, but never under PROBE_FLOOR_S of
        real time: an exec probe costs the simulator real CPU (a whole `nodetool status`) however fast
        simulated time runs, and a ring of 20 pods probing every few milliseconds starved every exec."""
        probe = pod["spec"]["containers"][0].get("readinessProbe") or {}
        period = self.ctl.clock.scaled(float(probe.get("periodSeconds") or KUBELET_PROBE_PERIOD_S))
        return max(period, PROBE_FLOOR_S)

    def _probe_ready(self, pod: Obj) -> bool:
        """The main container's readiness probe, run as the kubelet does; no probe: Ready once running."""
        main = pod["spec"]["containers"][0]
        probe = main.get("readinessProbe")
        if self._system(pod) or not probe:
            return True
        meta = pod["metadata"]
        command = self.ctl.faults.probes.get((meta["namespace"], meta["name"])) or (
            probe.get("exec") or {}).get("command")
        if not command:  # tcpSocket / httpGet: whether the process serves, as the runtime knows it
            return bool(self.ctl.runtime.ready(self.ctl.cluster, pod))
        try:
            env = resolve_env(self.ctl.store, pod, main)
            result = self.ctl.runtime.exec(self.ctl.cluster, pod, main["name"], list(command), env)
        except Exception as exc:  # a probe that cannot run is a failed probe
            result = ExecResult(126, "", str(exc))
        if result.returncode != 0:  # the kubelet's prober records the failure with the probe's output
            self.ctl.emit(pod, "Unhealthy", f"Readiness probe failed: {(result.stdout + result.stderr).strip()}",
                          "Warning")
        return result.returncode == 0

    def stop_container(self, pod: Obj) -> None:
        if not self._system(pod):
            self.ctl.runtime.stop(self.ctl.cluster, pod)
        self._set_containers(pod, {"terminated": {"exitCode": 143, "reason": "Error", "finishedAt": self._now()}},
                             ready=False)
        self.ctl.store.update(pod)
        self.ctl.emit(pod, "Killing", f"Stopping container {pod['spec']['containers'][0]['name']}")

    def deleted(self, pod: Obj) -> None:
        self.ctl.emptydirs.pop(pod["metadata"]["uid"], None)
        if self._main_state(pod).get("running") and not self._system(pod):
            self.ctl.runtime.stop(self.ctl.cluster, pod)
