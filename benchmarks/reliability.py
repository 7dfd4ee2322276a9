"""Reliability of multidc on the sandbox: the fault matrix, the bad-input table and the secrets scan.

    uv run python benchmarks/reliability.py [--quick] [--update-readme]

Exit 1 when any row differs from its expected outcome or any secret is found. Bounded: each
scenario runs on its own sandbox with a fixed time limit; no loop runs without a bound.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# Before Prefect is imported: a throw-away PREFECT_HOME, no telemetry, a start-up timeout 2 cores meet.
HOME = Path(tempfile.mkdtemp(prefix="multidc-reliability-"))
os.environ["PREFECT_HOME"] = str(HOME / "prefect")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import reliability_inputs as inputs  # noqa: E402
from tests import reliability_matrix as matrix  # noqa: E402
from tests import reliability_secrets as secrets_scan  # noqa: E402

README = ROOT / "README.md"
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"


def table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(v: str) -> str:
        return v.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def bad_input_section() -> tuple[str, bool]:
    outcomes = [inputs.attempt(c) for c in inputs.cases()]
    groups: dict[str, list[inputs.Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.case.group, []).append(o)
    rows = []
    for group, items in groups.items():
        rejected = sum(o.rejected for o in items)
        named = sum(o.rejected and o.named for o in items)
        leaked = sum(o.leaked for o in items)
        taken = [o for o in items if not o.rejected]
        escaped = sum(
            all(check() for _, check in inputs.sinks_of_accepted(o.case.raw or "")) for o in taken
        )
        rows.append(
            [
                group,
                str(len(items)),
                str(rejected),
                str(named),
                str(leaked),
                str(escaped),
                "yes" if all(inputs.ok(o) for o in items) and escaped == len(taken) else "NO",
            ]
        )
    tried = len(outcomes)
    rejected = sum(o.rejected for o in outcomes)
    accepted = tried - rejected
    ok = all(r[-1] == "yes" for r in rows)
    text = table(
        [
            "inputs",
            "tried",
            "rejected",
            "rejected naming the field",
            "raw value echoed",
            "accepted and escaped",
            "as expected",
        ],
        rows,
    )
    summary = (
        f"Inputs tried: {tried}; rejected before any cloud call: {rejected}; accepted and escaped: "
        f"{accepted} (kubeconfig context/path: a lookup key, never a shell word, manifest or CQL)."
    )
    return summary + "\n\n" + text, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the CI subset of the fault matrix")
    parser.add_argument("--update-readme", action="store_true", help="rewrite README's reliability region")
    args = parser.parse_args()
    started = time.monotonic()

    bad_text, bad_ok = bad_input_section()
    print("## Bad input\n\n" + bad_text + "\n", flush=True)

    from prefect.testing.utilities import prefect_test_harness

    known = matrix.Secrets()
    with prefect_test_harness(server_startup_timeout=180):
        print("## Fault matrix (running)", flush=True)
        rows = matrix.run_matrix(HOME, args.quick, known, lambda s: print(s, flush=True))
        arm_logs, kube_logs = matrix.LOGS.arm, matrix.LOGS.kube
        findings, scanned = secrets_scan.scan(known.values, arm_logs, kube_logs, HOME / "prefect")

    fault_text = table(
        ["scenario", "injected", "expected", "outcome", "time to recover (s)", "holds"],
        [
            [r.scenario, r.injected, r.expected, r.outcome, f"{r.seconds:.1f}", "yes" if r.ok else "NO"]
            for r in rows
        ],
    )
    held = sum(r.ok for r in rows)
    faults_summary = f"Faults injected: {len(rows)}; held as expected: {held}."
    secrets_text = (
        f"secrets found: {len(findings)} ({len(known.values)} known secret values looked for in {scanned} "
        "Prefect logs, artifacts, flow/task runs, persisted results and sandbox ARM/Kubernetes requests; "
        "the VPN key allowed only in the connection PUT bodies)"
    )
    for f in findings:
        secrets_text += f"\n- {f.secret} in {f.where}"
    elapsed = time.monotonic() - started
    mode = "--quick" if args.quick else "full"
    body = (
        f"{faults_summary} {bad_text.split(chr(10))[0]} **{secrets_text.splitlines()[0].split(' (')[0]}**.\n\n"
        f"### Fault matrix\n\n{fault_text}\n\n### Bad input\n\n{bad_text.split(chr(10), 2)[2]}\n\n"
        f"### Secrets\n\n{secrets_text}\n\n"
        f"_{mode} run, {elapsed:.0f} s, sandbox time scale {matrix.TIME_SCALE}; deadlines of the ring's waits "
        "at a hundredth of production's (PVC 9 s, pod 18 s, DNS check 6 s)._"
    )
    print("\n## Fault matrix\n\n" + fault_text + "\n")
    print(faults_summary)
    print(secrets_text)
    print(f"elapsed: {elapsed:.0f} s")
    if args.update_readme:
        text = README.read_text()
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{BEGIN}\n{body}\n{END}{tail}")
        print("README reliability region updated")
    return 0 if bad_ok and held == len(rows) and not findings else 1


if __name__ == "__main__":
    sys.exit(main())
