"""Secret blocks a process keeps for a while: a Block.load costs a Prefect API call through a new
HTTP client (about 65 ms of CPU), and many concurrent tasks reading the same block serialise on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Kept(Generic[T]):
    """Values loaded by name, kept for `seconds`; whoever saves or deletes one calls `forget`.

    A value changed from another process is seen within `seconds`. Two threads missing at once
    may both load; the later load wins, which is harmless for values read back from one block.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._values: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, load: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._values.get(name)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        value = load()
        with self._lock:
            self._values[name] = (now, value)
        return value

    def forget(self, name: str) -> None:
        with self._lock:
            self._values.pop(name, None)
