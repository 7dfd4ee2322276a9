"""Pod exec over the websocket channel protocol the `kubernetes` client's `stream()` speaks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from sandbox.kube.runtime import ExecResult, PodRuntime
from sandbox.kube.store import ApiError, Obj

STDOUT, STDERR, STATUS = 1, 2, 3
# v4 is what the client's channel parsing expects; v5 only adds a close-channel frame we never need.
PROTOCOLS = ("v4.channel.k8s.io", "v5.channel.k8s.io", "channel.k8s.io")
_CHUNK = 32 * 1024

EnvFor = Callable[[Obj, dict[str, Any]], dict[str, str]]
InitExec = Callable[[Obj, str, list[str]], ExecResult]


def status_frame(result: ExecResult) -> bytes:
    if result.returncode == 0:
        status: dict[str, Any] = {"metadata": {}, "status": "Success"}
    else:
        status = {
            "metadata": {},
            "status": "Failure",
            "message": f"command terminated with non-zero exit code: exit status {result.returncode}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(result.returncode)}]},
        }
    return bytes([STATUS]) + json.dumps(status).encode()


class ExecHandler:
    """Runs one command per websocket through the PodRuntime and streams its output back."""

    def __init__(self, cluster: str, runtime: PodRuntime, env_for: EnvFor, init_exec: InitExec | None = None):
        self.cluster, self.runtime, self.env_for, self.init_exec = cluster, runtime, env_for, init_exec

    async def __call__(self, request: web.Request, pod: Obj) -> web.StreamResponse:
        query = request.query
        argv = query.getall("command", [])
        if not argv:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        containers = pod["spec"]["containers"]
        inits = pod["spec"].get("initContainers") or []
        name = query.get("container") or containers[0]["name"]
        # The kubelet execs into any running container of the pod, an init container included.
        container = next((c for c in containers + inits if c["name"] == name), None)
        if container is None:
            raise ApiError(400, "BadRequest", f"container {name} is not valid for pod {pod['metadata']['name']}")
        status = pod.get("status") or {}
        statuses = {s["name"]: s for s in (status.get("containerStatuses") or []) + (
            status.get("initContainerStatuses") or [])}
        if "running" not in statuses.get(name, {}).get("state", {}):
            raise ApiError(
                400,
                "BadRequest",
                f"unable to upgrade connection: container not found (\"{name}\")",
            )
        try:
            env = self.env_for(pod, container)
        except LookupError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        ws = web.WebSocketResponse(protocols=PROTOCOLS)
        if not ws.can_prepare(request).ok:
            raise ApiError(400, "BadRequest", "exec needs a websocket upgrade (Upgrade: websocket)")
        await ws.prepare(request)
        try:
            if container in inits and self.init_exec is not None:
                result = self.init_exec(pod, name, list(argv))
            else:
                result = self.runtime.exec(self.cluster, pod, name, list(argv), env)
        except Exception as exc:  # a runtime bug shows up as a failed command, as a broken binary would
            result = ExecResult(126, "", f"exec failed: {exc}\n")
        if result.seconds > 0:  # a long command (a repair): the client waits, or gives up, meanwhile
            await asyncio.sleep(result.seconds)
        for channel, text in ((STDOUT, result.stdout), (STDERR, result.stderr)):
            data = text.encode()
            for i in range(0, len(data), _CHUNK):
                await ws.send_bytes(bytes([channel]) + data[i : i + _CHUNK])
        await ws.send_bytes(status_frame(result))
        await ws.close()
        # Drain whatever the client still sends (stdin, close) so the close handshake completes.
        async for msg in ws:
            if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        return ws
