"""Prefect's own cost: a flow of N no-op tasks and one of M no-op subflows, against an empty flow."""

from __future__ import annotations

import time

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner


@task
def noop(i: int) -> int:
    return i


_returned: list[float] = []


@flow
def empty_flow() -> None:
    _returned.append(time.monotonic())
    return None


@flow
def sequential_tasks(n: int) -> float:
    """Seconds per task run, timed inside the flow (its own start and end excluded)."""
    t0 = time.monotonic()
    for i in range(n):
        noop(i)
    return (time.monotonic() - t0) / n


@flow(task_runner=ThreadPoolTaskRunner(max_workers=16))  # type: ignore[arg-type]
def submitted_tasks(n: int) -> float:
    t0 = time.monotonic()
    for f in [noop.submit(i) for i in range(n)]:
        f.result()
    return (time.monotonic() - t0) / n


@flow
def child() -> None:
    return None


@flow
def subflows(m: int) -> float:
    """Median seconds per subflow call, timed inside the parent."""
    times = []
    for _ in range(m):
        t0 = time.monotonic()
        child()
        times.append(time.monotonic() - t0)
    return sorted(times)[len(times) // 2]


def _time(fn: object, *args: int) -> float:
    t0 = time.monotonic()
    fn(*args)  # type: ignore[operator]
    return time.monotonic() - t0


def _after_return() -> float:
    """Seconds from an empty flow's function returning to its call returning: Prefect 3.9's engine then
    reports the final state and joins the flow run's heartbeat thread, which sleeps in 1 s steps
    (flow_engine._send_heartbeats, PrefectHQ/prefect#19641), so up to a second more."""
    empty_flow()
    return time.monotonic() - _returned[-1]


def measure(n: int = 200, m: int = 5) -> dict[str, float]:
    _time(empty_flow)  # warm-up: first flow run of the process
    empty = min(_time(empty_flow) for _ in range(3))
    after = [_after_return() for _ in range(5)]
    return {
        "flow": empty,
        "after_return": sorted(after)[len(after) // 2],
        "after_return_max": max(after),
        "task_sequential": sequential_tasks(n),
        "task_submitted": submitted_tasks(n),
        "subflow": subflows(m),
        "n": n,
        "m": m,
    }
