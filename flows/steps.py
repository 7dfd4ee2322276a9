"""The plan's steps as Prefect task submissions: one task run per step, named by its id, that
starts once the steps it depends on (`Step.depends_on`) have ended."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prefect import Task
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote
from pydantic import BaseModel

from multidc_core.plan import Plan, Step

Future = PrefectFuture[Any]
Submitted = dict[str, Future]
# Submits one step, given the futures it waits for and the steps submitted so far; None when the
# step is not this flow's to run.
Runner = Callable[[Step, list[Future], Submitted], "Future | None"]


def submit(task: Task[..., Any], step: Step, deps: list[Future], *args: Any, **kwargs: Any) -> Future:
    """`task(*args, **kwargs)` as the step's task run, to start once every future in `deps` has ended.

    Models (the spec, the cloud block, the waits) go in quoted: Prefect links a parameter to any
    earlier task whose result holds one of its objects, and an ensure task's result holds the
    spec's own strings (a resource group's name), so every later step would appear to depend
    on it. Quoted, they are passed as they are and only futures and `deps` are dependencies.
    """
    named = task.with_options(task_run_name=step.id)
    quoted = [quote(a) if isinstance(a, BaseModel) else a for a in args]
    return named.submit(*quoted, wait_for=deps, return_state=False, **kwargs)


def _unique(futures: Iterable[Future]) -> list[Future]:
    return list({f.task_run_id: f for f in futures}.values())


def submit_plan(
    plan: Plan, runners: Mapping[str, Runner], given: Mapping[str, Sequence[Future]] | None = None
) -> Submitted:
    """Submit, in plan order, every step that a runner of its kind takes; returns step id -> future.

    A step that no runner takes (the interconnect join, a step another flow runs) hands what it
    waits for on to the steps that depend on it, so the task graph is the plan's (`Plan.edges`).
    `given` stands in for steps the caller ran itself: their futures are waited for instead.
    """
    ends: dict[str, list[Future]] = {}
    out: Submitted = {}
    for s in plan.steps:
        deps = _unique(f for d in s.depends_on for f in ends[d])
        if given is not None and s.id in given:
            ends[s.id] = list(given[s.id])
            continue
        run = runners.get(s.kind)
        future = run(s, deps, out) if run is not None else None
        if future is None:
            ends[s.id] = deps
        else:
            out[s.id] = future
            ends[s.id] = [future]
    return out


def first_failure(futures: Iterable[Future]) -> None:
    """Wait for every future; raise the first failure in the order given (the cause, not a follower)."""
    done = list(futures)
    for f in done:
        f.wait()
    for f in done:
        if f.state.is_failed() or f.state.is_crashed():
            f.result()  # raises the task's exception
