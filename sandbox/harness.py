"""For tests and benchmarks: the whole sandbox world on its own loop in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sandbox.serve import add_existing, build_world
from sandbox.world import World

T = TypeVar("T")


class ThreadedWorld:
    """A World plus the loop it runs on; `call` runs a function on that loop and returns its result."""

    def __init__(self, world: World, loop: asyncio.AbstractEventLoop, state_dir: Path) -> None:
        self.world, self.loop, self.state_dir = world, loop, state_dir

    def call(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            out = fn(*args)
            return await out if asyncio.iscoroutine(out) else out

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(60)

    def add_existing(self, preset: str = "seed-blog") -> Path:
        self.call(add_existing, self.world, self.state_dir, preset)
        return self.state_dir / "existing.kubeconfig"


@contextmanager
def world_in_thread(state_dir: Path, time_scale: float = 0.001) -> Iterator[ThreadedWorld]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sandbox-world", daemon=True)
    thread.start()
    try:
        world, _ = asyncio.run_coroutine_threadsafe(build_world(state_dir, time_scale, None), loop).result(60)
        try:
            yield ThreadedWorld(world, loop, state_dir)
        finally:

            async def stop() -> None:
                for entry in list(world.clusters.values()):
                    await entry.kube.stop()
                if world.arm is not None:
                    await world.arm.stop()

            asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
