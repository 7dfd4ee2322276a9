"""Faults a test or the admin endpoint can inject into one cluster; each is bounded and removable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AttachDelay:
    factor: float = 1.0
    extra_seconds: float = 0.0  # Azure seconds, scaled by the clock like every other duration


@dataclass
class Throttle:
    """The API server answers 429 to the next `left` requests whose path holds `path_contains`."""

    left: int
    path_contains: str = ""
    methods: list[str] | None = None


@dataclass
class KubeFaults:
    # Key "" applies to every namespace of the cluster; a namespace key overrides it.
    attach_delays: dict[str, AttachDelay] = field(default_factory=dict)
    # (namespace, pod) -> crashes still to inject; None means until removed.
    crash_loops: dict[tuple[str, str], int | None] = field(default_factory=dict)
    # (namespace, pod) whose container is held stopped until started again.
    stopped: set[tuple[str, str]] = field(default_factory=set)
    # (namespace, pod) -> the readiness probe command the kubelet runs instead of the pod's own.
    probes: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # API priority and fairness (or --max-requests-inflight) refusing requests: 429, Retry-After 1.
    throttles: list[Throttle] = field(default_factory=list)

    def attach_delay(self, namespace: str) -> AttachDelay:
        return self.attach_delays.get(namespace) or self.attach_delays.get("") or AttachDelay()

    def take_crash(self, namespace: str, pod: str) -> bool:
        """Whether this start of the pod's container should crash; counts the crash down."""
        key = (namespace, pod)
        if key not in self.crash_loops:
            return False
        left = self.crash_loops[key]
        if left is None:
            return True
        if left <= 1:
            del self.crash_loops[key]
        else:
            self.crash_loops[key] = left - 1
        return True

    def take_throttle(self, method: str, path: str) -> bool:
        """Whether this request is refused with 429; counts the refusal down."""
        for t in self.throttles:
            if t.path_contains in path and (t.methods is None or method in t.methods):
                t.left -= 1
                if t.left <= 0:
                    self.throttles.remove(t)
                return True
        return False

    def clear(self) -> None:
        self.attach_delays.clear()
        self.crash_loops.clear()
        self.stopped.clear()
        self.probes.clear()
        self.throttles.clear()

    def dump(self) -> dict[str, Any]:
        return {
            "attach_delays": {ns: vars(d) for ns, d in self.attach_delays.items()},
            "crash_loops": [[ns, pod, n] for (ns, pod), n in self.crash_loops.items()],
            "stopped": sorted([ns, pod] for ns, pod in self.stopped),
            "probes": [[ns, pod, cmd] for (ns, pod), cmd in self.probes.items()],
            "throttles": [vars(t) for t in self.throttles],
        }

    def load(self, data: dict[str, Any]) -> None:
        self.attach_delays = {ns: AttachDelay(**d) for ns, d in data.get("attach_delays", {}).items()}
        self.crash_loops = {(ns, pod): n for ns, pod, n in data.get("crash_loops", [])}
        self.stopped = {(ns, pod) for ns, pod in data.get("stopped", [])}
        self.probes = {(ns, pod): list(cmd) for ns, pod, cmd in data.get("probes", [])}
        self.throttles = [Throttle(**t) for t in data.get("throttles", [])]
