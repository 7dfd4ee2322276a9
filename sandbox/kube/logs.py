"""`GET /api/v1/namespaces/{ns}/pods/{name}/log`: a container's output as text/plain.

As the kubelet answers through the API server (kubernetes/kubernetes pkg/registry/core/pod/rest/log.go,
pkg/kubelet/kubelet_pods.go validateContainerLogStatus): `container` picks one of several containers
(400 "a container name must be specified for pod X, choose one of: [...]" when the pod has more than one
and none is named), `tailLines` keeps the last lines, `previous` is refused while no earlier run ended, and
a container that has not started answers 400 `container "c" in pod "p" is waiting to start: <reason>`;
`follow=true` keeps the stream open with the new lines until the container stops or the client leaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from sandbox.kube.store import ApiError, Obj

LogsOf = Callable[[Obj, str], list[str]]
PodNow = Callable[[], Obj | None]
FOLLOW_S = 0.2  # how often a followed log is looked at for new lines (on the event loop)


async def pod_log(request: web.Request, pod: Obj, logs_of: LogsOf, pod_now: PodNow) -> web.StreamResponse:
    """The log; with `follow=true` the stream stays open and sends new lines until the container stops."""
    name, lines = _lines(request, pod, logs_of)
    if request.query.get("follow") not in ("true", "1"):
        return web.Response(text="".join(line + "\n" for line in lines), content_type="text/plain")
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await resp.prepare(request)
    await resp.write("".join(line + "\n" for line in lines).encode())
    last = lines[-1] if lines else None
    while request.transport is not None and not request.transport.is_closing():
        await asyncio.sleep(FOLLOW_S)
        live = pod_now()
        states = {s["name"]: s.get("state") or {} for s in ((live or {}).get("status") or {}).get(
            "containerStatuses") or []}
        if live is None or live["metadata"].get("uid") != pod["metadata"].get("uid") or "running" not in states.get(
                name, {}):
            break  # the container ended: so does a followed log
        now = logs_of(live, name)
        new = now[now.index(last) + 1:] if last in now else now
        if new:
            await resp.write("".join(line + "\n" for line in new).encode())
            last = new[-1]
    return resp


def _lines(request: web.Request, pod: Obj, logs_of: LogsOf) -> tuple[str, list[str]]:
    query = request.query
    meta, spec = pod["metadata"], pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    name = query.get("container") or ""
    if not name:
        if len(names) != 1:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {meta['name']}, "
                           f"choose one of: {names} or one of the init containers: {inits}")
        name = names[0]
    if name not in names + inits:
        raise ApiError(400, "BadRequest", f"container {name} is not valid for pod {meta['name']}")
    status = pod.get("status") or {}
    statuses = {s["name"]: s for s in (status.get("containerStatuses") or []) + (
        status.get("initContainerStatuses") or [])}
    state = (statuses.get(name) or {}).get("state") or {}
    if not state or ("waiting" in state and not (statuses[name].get("lastState") or {}).get("terminated")):
        reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
        raise ApiError(400, "BadRequest",
                       f'container "{name}" in pod "{meta["name"]}" is waiting to start: {reason}')
    if query.get("previous") in ("true", "1") and not (statuses[name].get("lastState") or {}).get("terminated"):
        raise ApiError(400, "BadRequest",
                       f'previous terminated container "{name}" in pod "{meta["name"]}" not found')
    lines = logs_of(pod, name) if name in names else []
    tail = query.get("tailLines")
    if tail is not None:
        try:
            count = int(tail)
        except ValueError:
            raise ApiError(400, "BadRequest", f"tailLines: invalid value {tail!r}") from None
        lines = lines[-count:] if count > 0 else []
    return name, lines
