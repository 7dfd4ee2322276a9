"""Running multidc on a sandbox process and reading back what happened: ARM traffic, task timings."""

from __future__ import annotations

import inspect
import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.process import down, up

# Azure's throttling limits (FIELD-NOTES: per subscription and region).
READ_BUCKET, READ_REFILL = 250, 25.0
WRITE_BUCKET, WRITE_REFILL = 200, 10.0
NETWORK_WRITES_5MIN, NETWORK_READS_5MIN = 1000, 10000
ARM_RETRY_AFTER_S = 10.0  # what ARM usually answers on a long operation; the block polls this often (real terms)
KUBE_POLL_S = 5.0  # KubeWaits.poll_s, real terms


@dataclass
class Run:
    label: str
    wall: float
    ok: bool
    message: str
    flow_run_id: Any
    requests: list[dict[str, Any]] = field(default_factory=list)
    time_scale: float = 1.0


class Sandbox:
    """A sandbox started as its own process, as `multidc sandbox up` does (scripts/demo.sh)."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    def requests(self) -> list[dict[str, Any]]:
        url = str(self.info["admin_url"]) + "/requests?source=arm"
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback admin endpoint
            return list(json.load(resp))

    def writes(self) -> int:
        return sum(1 for e in self.requests() if _kind(e) == "write")


@contextmanager
def sandbox(state_dir: Path, time_scale: float, block: str) -> Iterator[Sandbox]:
    """A fresh sandbox process and an AzureCloud block for it, polling every ARM_RETRY_AFTER_S in real terms."""
    from multidc.sandbox_cmd import sandbox_cloud

    info = up(state_dir, time_scale)
    try:
        cloud: Any = sandbox_cloud(info)
        cloud.poll_interval_seconds = ARM_RETRY_AFTER_S * time_scale
        cloud.save(block, overwrite=True)
        yield Sandbox(info)
    finally:
        down(state_dir)


def register_blocks() -> None:
    """What `prefect block register -m blocks` does in scripts/demo.sh before any flow runs."""
    from blocks.azure import AzureCloud
    from blocks.kube import DatacenterKubeconfig

    for block in (AzureCloud, DatacenterKubeconfig):
        block.register_type_and_schema()


def scaled_waits(time_scale: float) -> Any:
    from tasks.kube_objects import KubeWaits

    return KubeWaits(poll_s=KUBE_POLL_S * time_scale)


def full_accepts_waits() -> bool:
    from flows.full import multidc

    return "waits" in inspect.signature(multidc.fn).parameters


def run_full(tw: Sandbox, label: str, spec_path: Path, block: str, time_scale: float) -> Run:
    from flows.full import multidc
    from flows.spec_ref import SpecRef

    before = len(tw.requests())
    kwargs: dict[str, Any] = {"spec": SpecRef(path=str(spec_path)), "cloud_block": block}
    if full_accepts_waits():
        kwargs["waits"] = scaled_waits(time_scale)
    t0 = time.monotonic()
    state: Any = multidc(**kwargs, return_state=True)
    wall = time.monotonic() - t0
    return Run(label, wall, bool(state.is_completed()), str(state.message or ""),
               state.state_details.flow_run_id, tw.requests()[before:], time_scale)


# --- ARM traffic ----------------------------------------------------------------------------------


def _kind(e: dict[str, Any]) -> str:
    path = e["path"].lower()
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if e["method"] in ("PUT", "PATCH", "DELETE") or (e["method"] == "POST" and not last.startswith("list")):
        return "write"
    if "/operations/" in path or "/operationresults/" in path:
        return "poll"
    return "read"


def _peak(times: list[float], window: float) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] < t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _min_bucket(times: list[float], size: float, refill: float) -> float:
    """Lowest level a token bucket (size, refill per real second) reaches under these request times."""
    level, last, low = size, None, size
    for t in sorted(times):
        if last is not None:
            level = min(size, level + (t - last) * refill)
        level -= 1
        low = min(low, level)
        last = t
    return low


def arm_budget(requests: list[dict[str, Any]], time_scale: float) -> dict[str, Any]:
    """Counts, and peaks per subscription in real-time terms (sandbox seconds / time_scale)."""
    out: dict[str, Any] = {"total": len(requests), "reads": 0, "writes": 0, "polls": 0, "throttled": 0}
    by_sub: dict[str, dict[str, list[float]]] = {}
    t0 = min((e["time"] for e in requests), default=0.0)
    for e in requests:
        kind = _kind(e)
        out[kind + "s"] += 1
        out["throttled"] += e["status"] == 429
        parts = e["path"].split("/")
        sub = parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else "-"
        t = (e["time"] - t0) / time_scale
        lists = by_sub.setdefault(sub, {"all": [], "read": [], "write": [], "netw": [], "netr": []})
        lists["all"].append(t)
        lists["write" if kind == "write" else "read"].append(t)
        if "/providers/microsoft.network/" in e["path"].lower():
            lists["netw" if e["method"] in ("PUT", "DELETE") else "netr"].append(t)
    out["subscriptions"] = {
        sub: {
            "peak_per_min": _peak(v["all"], 60),
            "peak_writes_per_min": _peak(v["write"], 60),
            "peak_reads_per_min": _peak(v["read"], 60),
            "network_writes_5min": _peak(v["netw"], 300),
            "network_reads_5min": _peak(v["netr"], 300),
            "read_bucket_low": _min_bucket(v["read"], READ_BUCKET, READ_REFILL),
            "write_bucket_low": _min_bucket(v["write"], WRITE_BUCKET, WRITE_REFILL),
            "span_min": (max(v["all"]) - min(v["all"])) / 60 if v["all"] else 0.0,
        }
        for sub, v in by_sub.items()
    }
    return out


# --- where the time goes --------------------------------------------------------------------------


def task_timeline(flow_run_id: Any) -> list[tuple[str, float, float]]:
    """(task run name, start, end) in seconds from the flow run's start, for the run and its subflows."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        root = client.read_flow_run(flow_run_id)
        runs = [root, *client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])))]
        ids = [r.id for r in runs]
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=200)
    t0 = root.start_time.timestamp() if root.start_time else 0.0
    out = []
    for t in tasks:
        if t.start_time and t.end_time:
            out.append((t.name, t.start_time.timestamp() - t0, t.end_time.timestamp() - t0))
    end = root.end_time.timestamp() - t0 if root.end_time else 0.0
    out.append(("(flow run end)", end, end))
    return sorted(out, key=lambda x: x[2])
