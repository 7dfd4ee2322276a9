"""Day two on the sandbox: each operation on a live ring that holds rows, timed, with rows lost (must be 0).

    uv run python benchmarks/day_two.py

A one-DC ring (aws-1, 3 nodes) holding 40 rows, then in turn: add azure-1 (multidc/full), scale aws-1
up to 4 (scale-dc, through multidc/full) and back down to 3 (scale-dc), remove azure-1 (remove-dc), a
settings roll (image cassandra:5.0 -> 5.0.2, multidc/full: one pod at a time, each back UN). A writer inserts at
LOCAL_QUORUM in aws-1 throughout each operation; after each, every row acknowledged so far is read back
at LOCAL_QUORUM in every DC of the ring. Bounded: one sandbox, at most 150 writes per operation.
Exit 1 when a row is lost or an operation fails.
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

from tests import day_two_ops as ops  # noqa: E402

BOTH = ["aws-1", "azure-1"]


def main() -> int:
    from prefect.testing.utilities import prefect_test_harness

    from sandbox.harness import world_in_thread

    failed = False
    with prefect_test_harness(server_startup_timeout=180), world_in_thread(HOME / "state", 0.001) as tw:
        kc = tw.add_existing("seed-blog")
        ops.one_dc_ring(HOME, kc)
        steps = [
            ("add a DC (azure-1, 3 nodes)", lambda: ops.add_dc(HOME, kc)),
            ("scale aws-1 up 3 -> 4", lambda: ops.scale(HOME, kc, BOTH, {"aws-1": 4}, "aws-1")),
            ("scale aws-1 down 4 -> 3", lambda: ops.scale(HOME, kc, BOTH, {"aws-1": 3}, "aws-1", confirm="aws-1")),
            ("remove a DC (azure-1)", lambda: ops.remove(HOME, kc, BOTH, "azure-1", confirm="azure-1")),
            ("settings roll (image 5.0 -> 5.0.2, 3 pods)", lambda: ops.roll(HOME, kc, ["aws-1"], "cassandra:5.0.2")),
        ]
        for what, run in steps:
            out = run()
            if not out.state.is_completed():
                print(f"{what}: failed: {out.state.message}")
                return 1
            lost = ", ".join(f"{len(rows)} in {dc}" for dc, rows in out.lost.items())
            print(f"{what}: {out.seconds:.1f} s; acknowledged rows {out.acked} ({out.acked_during} during); "
                  f"rows lost (LOCAL_QUORUM): {lost}")
            failed = failed or any(out.lost.values())
        on, of = ops.pods_on(out.spec, "aws-1", "cassandra:5.0.2")
        print(f"after the roll: {on}/{of} aws-1 pods run cassandra:5.0.2")
        failed = failed or on != of
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
