"""Prefect's own cost: a flow of N no-op tasks and one of M no-op subflows, against an empty flow."""

from __future__ import annotations

import time

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner


@task
def noop(i: int) -> int:
    return i


@flow
def empty_flow() -> None:
    return None


@flow
def sequential_tasks(n: int) -> None:
    for i in range(n):
        noop(i)


@flow(task_runner=ThreadPoolTaskRunner(max_workers=16))  # type: ignore[arg-type]
def submitted_tasks(n: int) -> None:
    for f in [noop.submit(i) for i in range(n)]:
        f.result()


@flow
def child() -> None:
    return None


@flow
def subflows(m: int) -> None:
    for _ in range(m):
        child()


def _time(fn: object, *args: int) -> float:
    t0 = time.monotonic()
    fn(*args)  # type: ignore[operator]
    return time.monotonic() - t0


def measure(n: int = 20, m: int = 5) -> dict[str, float]:
    _time(empty_flow)  # warm-up: first flow run of the process
    empty = min(_time(empty_flow) for _ in range(2))
    return {
        "flow": empty,
        "task_sequential": (_time(sequential_tasks, n) - empty) / n,
        "task_submitted": (_time(submitted_tasks, n) - empty) / n,
        "subflow": (_time(subflows, m) - empty) / m,
        "n": n,
        "m": m,
    }
