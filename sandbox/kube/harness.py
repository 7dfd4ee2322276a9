"""Run emulated clusters on an event loop in a background thread, for tests and scripts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.kube.cluster import KubeCluster, start_cluster


class LoopThread:
    """An asyncio loop serving in a daemon thread; `run(coro)` waits for a coroutine from outside."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="kube-sandbox", daemon=True)
        self._thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def running_clusters(*specs: dict[str, Any]) -> Iterator[list[KubeCluster]]:
    """Serve one KubeCluster per dict of KubeCluster keyword arguments, all on one background loop."""
    thread = LoopThread()
    clusters: list[KubeCluster] = []
    try:
        for spec in specs:
            clusters.append(thread.run(start_cluster(**spec)))
        yield clusters
    finally:
        for cluster in clusters:
            thread.run(cluster.stop())
        thread.close()


@contextmanager
def running_cluster(**kwargs: Any) -> Iterator[KubeCluster]:
    """One cluster served from a background thread: `with running_cluster(name="c1") as c: ...`."""
    with running_clusters(kwargs) as clusters:
        yield clusters[0]
