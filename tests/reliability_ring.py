"""Fault-matrix scenarios of Cassandra ring operations: joiners racing across racks, a long repair."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from tests.reliability_matrix import Env, Row

ROOT = Path(__file__).resolve().parent.parent
# 70,000 Azure s at the matrix's 0.001 time scale: each repair of system_auth runs 70 s, past the
# 60 s that one exec was once allowed (then cut off, and started again while the first still ran).
LONG_REPAIR_AZURE_S = 70_000.0


def existing_text(racks: int, nodes: int) -> str:
    """The seed blog's two existing clusters, `nodes` per DC over `racks` racks."""
    raw = yaml.safe_load((ROOT / "examples" / "existing-clusters.yaml").read_text())
    for dc in raw["datacenters"]:
        dc["cassandra"].update(nodes=nodes, racks=[{"name": f"rack{i + 1}"} for i in range(racks)])
    raw["keyspaces"][0]["replication"] = {"aws-1": 2, "azure-1": 2}
    raw["name"] = "sandbox"
    return yaml.safe_dump(raw, sort_keys=False)


def _restarts(env: Env) -> dict[str, int]:
    return {
        f"{name}/{p['metadata']['name']}": s.get("restartCount", 0)
        for name, entry in env.world.clusters.items()
        for p in entry.kube.objects("Pod")
        if (p["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == "cassandra"
        for s in (p.get("status") or {}).get("containerStatuses") or []
    }


def joiners_racing(env: Env, row: Row) -> None:
    """Five nodes over three racks per DC: each rack's StatefulSet would start its joiner at once."""
    from tests.reliability_matrix import error_of, first_line, whole

    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    restarted = {pod: n for pod, n in _restarts(env).items() if n}
    row.ok = whole(state) and not restarted and len(_restarts(env)) == 10
    if row.ok:
        row.outcome = "survived: joined one at a time, no restart, ring whole"
    else:
        row.outcome = f"restarts {restarted}" if restarted else first_line(error_of(state))


def long_repair(env: Env, row: Row) -> None:
    """Every repair takes 70 s: the run waits for it, never starts it twice, and the ring ends whole."""
    from tests.reliability_matrix import error_of, first_line, whole

    ring = env.world.ring
    env.tw.call(setattr, ring, "repair_slowdown", LONG_REPAIR_AZURE_S / 45.0)
    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    lines = [line for n in ring.nodes.values() for line in n.log if "repair" in line.lower()]
    started = [line for line in lines if "Starting repair command" in line]
    refused = [line for line in lines if "refused" in line]
    row.ok = whole(state) and len(started) >= 1 and not refused and all("incremental: false" in s for s in started)
    if row.ok:
        row.outcome = f"survived: {len(started)} full repair(s), each ran once to completion, ring whole"
    else:
        why = first_line(error_of(state)) or "ring not whole"
        row.outcome = f"{len(started)} repair(s) started, {len(refused)} refused while one ran: {why}"
