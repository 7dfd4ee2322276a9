"""Pod lifecycle as the kubelet sees it: start, crash back-off, init containers, probe, stop."""

from __future__ import annotations

from typing import Any

from sandbox.kube.initcontainers import (
    EmptyDirs,
    InitOutcome,
    exec_in_init_container,
    mounted_files,
    run_init_containers,
)
from sandbox.kube.podenv import configmap_files, resolve_env
from sandbox.kube.podstage import set_condition
from sandbox.kube.runtime import ExecResult
from sandbox.kube.scheduler import Scheduler
from sandbox.kube.store import Obj, key_of
from sandbox.kube.volumes import VolumeControllers

# The kubelet's default readiness periodSeconds (k8s.io/api core/v1 Probe: "Default to 10 seconds").
KUBELET_PROBE_PERIOD_S = 10.0
PROBE_FLOOR_S = 0.5  # real seconds between two probes of one pod, at the least
KUBELET_FAILURE_THRESHOLD = 3  # core/v1 Probe.failureThreshold: "Defaults to 3"
INIT_RETEST_FLOOR_S = 0.05  # real seconds between two tests of an init container's wait loop, at the least


class PodLifecycle(Scheduler, VolumeControllers):
    """One pass per change or timer; the stage is read back from the pod object, so a reload resumes."""

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
            self.ctl.probe_runs.pop(meta["uid"], None)  # a new container: its prober starts from nothing
            self._set_containers(pod, {"running": {"startedAt": self._now()}}, ready=False)
            self.ctl.store.update(pod)
            self.ctl.emit(pod, "Started", f"Started container {main['name']}")
            self.probe(key_of(pod))
            return
        restarts = ((pod["status"].get("containerStatuses") or [{}])[0]).get("restartCount", 0) + 1
        # kubelet doubles from 10 s and caps at 300 s; the exponent is capped too, so a pod that has crashed a
        # thousand times still gets a number, not an OverflowError (2**1024 does not fit a float)
        backoff = min(self.ctl.duration("backoff_base") * 2.0 ** min(restarts - 1, 16),
                      self.ctl.duration("backoff_max"))
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
        """Run the init containers in order, each once it has exited 0 (their emptyDirs stay); False while
        one fails (restarted after the back-off) or still runs (a wait loop: tested again after its sleep)."""
        uid = pod["metadata"]["uid"]
        inits = pod["spec"].get("initContainers") or []
        old = pod["status"].get("initContainerStatuses") or []
        done = 0
        while done < len(old) and ((old[done].get("state") or {}).get("terminated") or {}).get("exitCode") == 0:
            done += 1
        if uid in self.ctl.emptydirs and done >= len(inits):
            return True
        dirs: EmptyDirs = self.ctl.emptydirs.setdefault(uid, {})
        outcome = run_init_containers(self.ctl.store, pod, self.ctl.runtime.image_files, dirs,
                                      self.ctl.volume_files, start=done)
        statuses = [self._init_status(c, i, outcome, old) for i, c in enumerate(inits)]
        complete = outcome.completed >= len(inits)
        if statuses != old:
            pod["status"]["initContainerStatuses"] = statuses
            set_condition(pod, "Initialized", complete, self._now(), None if complete else "ContainersNotInitialized")
            if not complete:
                self._set_containers(pod, {"waiting": {"reason": "PodInitializing"}}, ready=False)
            self.ctl.store.update(pod)
        key = key_of(pod)
        if outcome.failure is not None:
            self.ctl.emit(pod, "BackOff", f"Back-off restarting failed init container: {outcome.failure}", "Warning")
            self.ctl.after(f"{uid}:init", self.ctl.duration("backoff_base"), lambda: self._restart(key))
        elif outcome.running is not None:
            if "running" not in ((old[outcome.completed] if outcome.completed < len(old) else {}).get("state") or {}):
                self.ctl.emit(pod, "Started", f"Started container {outcome.running}")
            wait_s = max(self.ctl.clock.scaled(outcome.sleep_s), INIT_RETEST_FLOOR_S)
            self.ctl.after(f"{uid}:init", wait_s, lambda: self._restart(key))
        return complete

    def _init_status(self, container: dict[str, Any], index: int, outcome: InitOutcome,
                     old: list[dict[str, Any]]) -> dict[str, Any]:
        prev = old[index] if index < len(old) else {}
        restarts = int(prev.get("restartCount", 0))
        state: dict[str, Any]
        if index < outcome.completed:
            kept = prev.get("state") or {}
            state = kept if (kept.get("terminated") or {}).get("exitCode") == 0 else {
                "terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": self._now()}}
        elif index == outcome.completed and outcome.failure is not None:
            restarts += 1 if "terminated" not in (prev.get("state") or {}) else 0
            state = {"terminated": {"exitCode": 1, "reason": "Error", "message": outcome.failure}}
        elif index == outcome.completed and outcome.running is not None:
            state = prev["state"] if "running" in (prev.get("state") or {}) else {
                "running": {"startedAt": self._now()}}
        else:
            state = {"waiting": {"reason": "PodInitializing"}}
        return {"name": container["name"], "image": container["image"], "imageID": "", "ready": False,
                "restartCount": restarts, "started": "running" in state, "state": state}

    def exec_init(self, pod: Obj, container: str, argv: list[str]) -> ExecResult:
        """An exec into a running init container: the command over its files; the wait loop sees the result
        at its next test."""
        dirs = self.ctl.emptydirs.setdefault(pod["metadata"]["uid"], {})
        rc, err = exec_in_init_container(self.ctl.store, pod, container, argv, self.ctl.runtime.image_files, dirs,
                                         self.ctl.volume_files)
        return ExecResult(rc, "", err)

    def _restart(self, key: tuple[str, str, str, str]) -> None:
        pod = self.ctl.store.get(key)
        if pod is not None:
            self.start(pod)

    def probe(self, key: tuple[str, str, str, str]) -> None:
        """One readiness probe, as the kubelet's prober worker counts it: the container's Ready changes only
        after `successThreshold` (1) successes or `failureThreshold` (3) failures in a row, so a Ready pod
        whose node stopped answering stays Ready for up to failureThreshold x periodSeconds."""
        pod = self.ctl.store.get(key)
        if pod is None or not self._main_state(pod).get("running"):
            return
        result = self._probe_ready(pod)
        uid = pod["metadata"]["uid"]
        last, run = self.ctl.probe_runs.get(uid, (None, 0))
        run = run + 1 if last == result else 1
        self.ctl.probe_runs[uid] = (result, run)
        spec = pod["spec"]["containers"][0].get("readinessProbe") or {}
        threshold = int(spec.get("successThreshold") or 1) if result else int(
            spec.get("failureThreshold") or KUBELET_FAILURE_THRESHOLD)
        statuses = pod["status"].get("containerStatuses") or [{}]
        if run >= threshold and bool(statuses[0].get("ready")) != result:
            self._set_containers(pod, self._main_state(pod), ready=result)
            self.ctl.store.update(pod)
        self.ctl.after(f"{uid}:probe", self._probe_period(pod), lambda: self.probe(key))

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
        self.ctl.probe_runs.pop(pod["metadata"]["uid"], None)
        if self._main_state(pod).get("running") and not self._system(pod):
            self.ctl.runtime.stop(self.ctl.cluster, pod)
