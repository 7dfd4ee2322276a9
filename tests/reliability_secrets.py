"""The secrets scan: every known secret value, looked for in everything Prefect and the sandbox kept."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Where a secret must go, and nothing else: the VPN key in the connection PUT bodies (Azure needs it).
SHARED_KEY_PATH = "/providers/microsoft.network/connections/"


@dataclass(frozen=True)
class Finding:
    secret: str  # the label, never the value
    where: str


def forms(value: str) -> list[str]:
    """The value as it is, base64-encoded and JSON-escaped."""
    return sorted({value, base64.b64encode(value.encode()).decode(), json.dumps(value)[1:-1]})


def _texts() -> Iterator[tuple[str, str]]:
    """(where, text) for every log, artifact, flow run and task run the Prefect API holds."""
    from prefect import get_client
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)  # logs reach the API in batches: scan the last lines of the runs too
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            logs = client.read_logs(limit=200, offset=offset)
            for entry in logs:
                yield f"log of flow run {entry.flow_run_id}", entry.message
            if len(logs) < 200:
                break
            offset += 200
        for artifact in client.read_artifacts(limit=200):
            yield f"artifact {artifact.key or artifact.id}", json.dumps(artifact.data, default=str)
        offset = 0
        while True:
            runs = client.read_flow_runs(limit=200, offset=offset, sort=FlowRunSort.EXPECTED_START_TIME_DESC)
            for run in runs:
                yield f"flow run {run.name} parameters", json.dumps(run.parameters, default=str)
                yield f"flow run {run.name} state", (run.state.message or "") if run.state else ""
            if len(runs) < 200:
                break
            offset += 200
        offset = 0
        while True:
            tasks = client.read_task_runs(limit=200, offset=offset)
            for t in tasks:
                yield (
                    f"task run {t.name}",
                    json.dumps(t.model_dump(mode="json", include={"task_inputs", "state"})),
                )
            if len(tasks) < 200:
                break
            offset += 200


def _results(home: Path) -> Iterator[tuple[str, str]]:
    """Persisted results (local storage under PREFECT_HOME), if any were written."""
    for path in sorted(home.rglob("*")):
        if path.is_file() and "storage" in path.parts and path.stat().st_size < 5_000_000:
            yield f"persisted result {path.name}", path.read_bytes().decode("utf-8", "replace")


def scan(
    values: dict[str, str],
    arm_logs: list[list[dict[str, Any]]],
    kube_logs: list[list[dict[str, Any]]],
    prefect_home: Path,
) -> tuple[list[Finding], int]:
    """Every place a value shows where it should not; and how many texts were scanned."""
    findings: list[Finding] = []
    scanned = 0

    def look(where: str, text: str, allowed: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        nonlocal scanned
        scanned += 1
        for label, value in values.items():
            if label in allowed:
                continue
            if any(f in text for f in forms(value)):
                findings.append(Finding(label, where))

    for where, text in [*_texts(), *_results(prefect_home)]:
        look(where, text)
    vpn = {label for label in values if label.endswith("VPN shared key")}
    for log in arm_logs:
        for e in log:
            body = json.dumps(e.get("body"), default=str) if e.get("body") is not None else ""
            allowed = vpn if e["method"] == "PUT" and SHARED_KEY_PATH in e["path"].lower() else set()
            look(f"ARM {e['method']} {e['path']}", e["path"] + " " + body, allowed)
    for log in kube_logs:
        for e in log:
            look(f"Kubernetes {e['method']} {e['path']}", json.dumps(e, default=str))
    return findings, scanned
