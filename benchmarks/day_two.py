"""Day two on the sandbox: time to add a datacenter to a ring that holds rows, and rows lost (must be 0).

    uv run python benchmarks/day_two.py

A one-DC ring (aws-1, 3 nodes) holding 40 rows; multidc/full then adds azure-1 (3 nodes) while a
writer inserts at LOCAL_QUORUM in aws-1; every acknowledged row is read back at LOCAL_QUORUM in
both DCs. Bounded: one sandbox, at most 150 writes. Exit 1 when a row is lost or the run fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Before Prefect is imported: a throw-away PREFECT_HOME, no telemetry, a start-up timeout 2 cores meet.
HOME = Path(tempfile.mkdtemp(prefix="multidc-day-two-"))
os.environ["PREFECT_HOME"] = str(HOME / "prefect")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.day_two_ops import ROWS_BEFORE, add_dc, one_dc_ring  # noqa: E402


def main() -> int:
    from prefect.testing.utilities import prefect_test_harness

    from sandbox.harness import world_in_thread

    with prefect_test_harness(server_startup_timeout=180), world_in_thread(HOME / "state", 0.001) as tw:
        kubeconfig = tw.add_existing("seed-blog")
        one_dc_ring(HOME, kubeconfig)
        out = add_dc(HOME, kubeconfig)
    if not out.state.is_completed():
        print(f"add of azure-1 failed: {out.state.message}")
        return 1
    acked = ROWS_BEFORE + out.acked_during
    print(f"time to add a DC (3 nodes, sandbox time x1/1000): {out.seconds:.1f} s")
    print(f"acknowledged rows: {acked} ({ROWS_BEFORE} before, {out.acked_during} during the add)")
    for dc, lost in out.lost.items():
        print(f"rows lost in {dc} (read at LOCAL_QUORUM): {len(lost)}")
    return 1 if any(out.lost.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
