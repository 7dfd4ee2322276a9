"""Watch: a bounded history of change events per cluster and the chunked JSON event stream of `?watch=true`.

As kube-apiserver's watch cache (k8s.io/apiserver pkg/storage/cacher/watch_cache.go, cacher.go):
- no resourceVersion: synthetic ADDED events for every matching object, then the changes after them;
  resourceVersion="0" the same ("any" version); resourceVersion=N: only the changes after N;
- N older than the history kept: one ERROR event holding a Status 410 reason Expired
  ("too old resource version: N (M)"), after which a client lists again;
- allowWatchBookmarks=true: a BOOKMARK event carrying only the current resourceVersion before the watch
  times out (cacher sends bookmarks ahead of the watch's deadline);
- DELETED events carry the object with the resourceVersion of its deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.kube.store import ApiError, Obj, Resource, Store

GONE_CHECK_S = 0.5  # how often an idle watch checks that its client is still connected
HISTORY = 1000  # events kept; kube-apiserver's watch cache keeps 100..100k per resource type
Matches = Callable[[Obj], bool]
Render = Callable[[Obj], Obj]


class WatchHub:
    """Fans the store's change events out to open watches, and keeps the recent ones for resuming."""

    def __init__(self, store: Store, size: int = HISTORY) -> None:
        self.store = store
        self.history: deque[tuple[int, str, Obj]] = deque(maxlen=size)
        self.floor = int(store.resource_version)  # events at or before this rv are not in the history
        self._queues: set[asyncio.Queue[tuple[int, str, Obj]]] = set()
        store.listeners.append(self._publish)

    def reset(self) -> None:
        """After a store load: nothing before the loaded resourceVersion can be replayed."""
        self.history.clear()
        self.floor = int(self.store.resource_version)

    def _publish(self, event: str, obj: Obj) -> None:
        rv = int(obj["metadata"].get("resourceVersion") or self.store.resource_version)
        if len(self.history) == self.history.maxlen:
            self.floor = self.history[0][0]
        self.history.append((rv, event, obj))
        for queue in self._queues:
            queue.put_nowait((rv, event, obj))

    async def serve(self, request: web.Request, res: Resource, ns: str, matches: Matches,
                    initial: Callable[[], list[Obj]], render: Render) -> web.StreamResponse:
        query = request.query
        timeout = float(query.get("timeoutSeconds") or 1800)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        since = query.get("resourceVersion") or ""
        queue: asyncio.Queue[tuple[int, str, Obj]] = asyncio.Queue()
        resp = web.StreamResponse(headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        await resp.prepare(request)

        def frame(kind: str, obj: Obj) -> bytes:
            return json.dumps({"type": kind, "object": obj}).encode() + b"\n"

        def wanted(obj: Obj) -> bool:
            meta = obj["metadata"]
            return obj.get("kind") == res.kind and (not ns or meta.get("namespace") == ns) and matches(obj)

        if since in ("", "0"):
            start = int(self.store.resource_version)
            for obj in initial():
                queue.put_nowait((start, "ADDED", obj))
        else:
            try:
                start = int(since)
            except ValueError:
                raise ApiError(400, "BadRequest", f"invalid resource version: {since!r}") from None
            if start < self.floor:
                expired = ApiError(410, "Expired", f"too old resource version: {start} ({self.floor + 1})")
                with contextlib.suppress(ConnectionError):
                    await resp.write(frame("ERROR", expired.status()))
                    await resp.write_eof()
                return resp
            for rv, event, obj in self.history:
                if rv > start:
                    queue.put_nowait((rv, event, obj))
        self._queues.add(queue)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while (left := deadline - loop.time()) > 0:
                try:
                    rv, event, obj = await asyncio.wait_for(queue.get(), min(left, GONE_CHECK_S))
                except TimeoutError:
                    if request.transport is None or request.transport.is_closing():
                        break  # the client went away: stop serving it rather than hold it to the timeout
                    continue
                start = max(start, rv)
                if wanted(obj):
                    await resp.write(frame(event, render(obj)))
            if bookmarks:
                mark = {"kind": res.kind, "apiVersion": res.api_version,
                        "metadata": {"resourceVersion": self.store.resource_version}}
                await resp.write(frame("BOOKMARK", mark))
        except ConnectionError:
            return resp
        finally:
            self._queues.discard(queue)
        with contextlib.suppress(ConnectionError):
            await resp.write_eof()
        return resp


def watch_requested(query: Any) -> bool:
    return query.get("watch") in ("true", "1", "True")
