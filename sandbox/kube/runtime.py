"""What runs inside a pod: the protocol the sandbox glue implements, and a trivial default."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ExecResult:
    returncode: int
    stdout: str
    stderr: str = ""
    seconds: float = 0.0  # how long the command runs (real seconds) before it answers


class PodRuntime(Protocol):
    """Called by the controllers for every pod outside kube-system (system pods are the emulator's own).

    `pod` is the Pod object as stored (a dict); `env` is the container env resolved as the kubelet
    would; `files` maps `<mountPath>/<key>` to the contents of ConfigMap volumes.
    """

    def start(self, cluster: str, pod: dict[str, Any], env: dict[str, str], files: dict[str, str]) -> str | None:
        """Start the main container: None when it runs, else the crash message."""
        ...

    def ready(self, cluster: str, pod: dict[str, Any]) -> bool: ...

    def image_files(self, image: str) -> dict[str, str]:
        """The files an image ships, by absolute path (what an init container can copy)."""
        ...

    def exec(
        self, cluster: str, pod: dict[str, Any], container: str, argv: list[str], env: dict[str, str]
    ) -> ExecResult: ...

    def stop(self, cluster: str, pod: dict[str, Any]) -> None: ...

    def logs(self, cluster: str, pod: dict[str, Any], container: str) -> list[str]:
        """The container's output lines, oldest first (what `kubectl logs` prints)."""
        ...


class DefaultRuntime:
    """Every container starts, is ready at once, and exec echoes its command line."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []
        self.stopped: list[tuple[str, str]] = []

    def start(self, cluster: str, pod: dict[str, Any], env: dict[str, str], files: dict[str, str]) -> str | None:
        self.started.append((cluster, pod["metadata"]["name"]))
        return None

    def ready(self, cluster: str, pod: dict[str, Any]) -> bool:
        return True

    def image_files(self, image: str) -> dict[str, str]:
        return {}

    def exec(
        self, cluster: str, pod: dict[str, Any], container: str, argv: list[str], env: dict[str, str]
    ) -> ExecResult:
        return ExecResult(0, shlex.join(argv) + "\n", "")

    def stop(self, cluster: str, pod: dict[str, Any]) -> None:
        self.stopped.append((cluster, pod["metadata"]["name"]))

    def logs(self, cluster: str, pod: dict[str, Any], container: str) -> list[str]:
        return []
