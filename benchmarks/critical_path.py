"""How close multidc gets to its longest unavoidable chain, on the sandbox, with Azure's proportions of time.

    uv run python benchmarks/critical_path.py [--quick] [--update-readme] [--profile]

Runs the `multidc` flow (flows/full.py) against sandboxes started as their own process (`sandbox.process.up`,
as `multidc sandbox up` does; one fresh sandbox per run) and a temporary Prefect server (`prefect_test_harness`, SQLite), and prints:

1. critical-path efficiency: wall time / the longest dependency chain of the simulated durations
   (benchmarks/perf_model.py: the plan DAG weighted with the sandbox's real simulated work), for
   vpn-gateway and global-peering; and what running every step in turn (the seeds' way) would take;
2. scaling with 2, 3, 4 and 6 datacenters;
3. the ARM budget in real-time terms (sandbox seconds / time scale) against Azure's throttling limits,
   and a no-op re-run;
4. verify-ring latency and Prefect's own overhead per task and per subflow;

then what to expect on real Azure from the same chain with real durations. It is a script that
prints figures, not a test: nothing here fails on a slow machine. `--update-readme` rewrites the
region between the performance markers of README.md with what was printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
# Before Prefect is imported: a throw-away PREFECT_HOME, no telemetry, a start-up timeout 2 cores meet.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="multidc-bench-prefect-")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the flows' INFO lines would drown the figures

from perf_beyond import beyond, describe  # noqa: E402
from perf_model import Chain, critical_chain, describe_path  # noqa: E402
from perf_run import (  # noqa: E402
    ARM_RETRY_AFTER_S,
    KUBE_POLL_S,
    NETWORK_READS_5MIN,
    NETWORK_WRITES_5MIN,
    Run,
    arm_budget,
    full_accepts_waits,
    register_blocks,
    run_full,
    sandbox,
    task_timeline,
)
from perf_specs import write_spec  # noqa: E402

from sandbox.clock import AZURE_DURATIONS  # noqa: E402

BEGIN, END = "<!-- performance:begin -->", "<!-- performance:end -->"
EFFICIENCY_TARGET, SCALING_TARGET = 1.03, 1.15  # issue 14: at most 1.03 in both modes


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


def profile(out: Report, run: Run, chain_s: float) -> None:
    """Task runs of the flow (and its subflows) in end order, with start/end from the flow's start."""
    out(f"  profile of {run.label} (sandbox seconds from the flow run's start; chain {chain_s:.2f} s):")
    for name, start, end in task_timeline(run.flow_run_id):
        out(f"    {start:7.2f} {end:7.2f}  {name}")


def where(run: Run, chain: Chain, ts: float) -> str:
    """The seconds beyond the chain, step by step (perf_beyond), and the verify subflow's share of them."""
    timeline = task_timeline(run.flow_run_id)
    verify = [(a, b) for name, a, b in timeline if name.startswith("verify-ring")]
    span = max(b for _, b in verify) - min(a for a, _ in verify) if verify else 0.0
    b = beyond(chain, timeline, run.wall, ts)
    allowed = (EFFICIENCY_TARGET - 1) * chain.seconds * ts
    return (f"{describe(b, span)}\n    the target allows {allowed:.2f} s beyond "
            f"this chain; the seconds outside its steps (before, hand-offs, after, outside) alone are {b.prefect():.2f} s")


def efficiency(out: Report, tmp: Path, mode: str, dcs: int, nodes: int, ts: float, args: argparse.Namespace,
               extra: bool = False) -> tuple[Run, float]:
    name = f"bench-{mode.split('-')[0]}-{dcs}x{nodes}"
    path, spec = write_spec(tmp, name, dcs, nodes, mode)
    chain = critical_chain(spec, time_scale=ts)
    block = f"{name}-cloud"
    with sandbox(tmp / name, ts, block) as tw:
        run = run_full(tw, name, path, block, ts)
        eff = run.wall / (chain.seconds * ts)
        over = run.wall - chain.seconds * ts
        out(f"{mode:15} {dcs} DCs x {nodes} nodes, time scale {ts:g}: wall {run.wall:6.1f} s, chain "
            f"{chain.seconds * ts:6.1f} s ({chain.seconds / 60:.1f} Azure min) -> efficiency {eff:.2f}; "
            f"beyond the chain {over:.1f} s (real Azure: {(chain.seconds + over) / chain.seconds:.3f})"
            f"{'' if eff <= EFFICIENCY_TARGET or dcs != 2 or nodes != 3 else f'; above the target {EFFICIENCY_TARGET:.2f}'}"
            f"{'' if run.ok else '  FAILED: ' + run.message[:200]}")
        out(f"    beyond the chain: {where(run, chain, ts)}")
        if extra:
            seq = chain.sequential * ts
            out(f"    chain: {describe_path(chain)}")
            out(f"    sequential (the seeds' way, every step and node in turn): {chain.sequential / 60:.0f} Azure min"
                f" = {seq:.1f} s here, {seq / run.wall:.1f}x this run's wall time")
            budget(out, run)
            writes = tw.writes()
            again = run_full(tw, name + " re-run", path, block, ts)
            more = tw.writes() - writes
            b = arm_budget(again.requests, ts)
            out(f"    no-op re-run: wall {again.wall:.1f} s, ARM writes {more}, reads {b['reads']}, polls {b['polls']}"
                f"{'' if again.ok else '  FAILED: ' + again.message[:200]}")
            verify_latency(out, tw, path, f"{dcs} DCs x {nodes} nodes")
        if args.profile:
            profile(out, run, chain.seconds * ts)
    return run, chain.seconds


def budget(out: Report, run: Run) -> None:
    b = arm_budget(run.requests, run.time_scale)
    out(f"    ARM: {b['total']} requests ({b['writes']} writes, {b['reads']} reads, {b['polls']} operation polls, "
        f"{b['throttled']} throttled)")
    for sub, s in b["subscriptions"].items():
        out(f"    subscription {sub[:8]}..: peak {s['peak_per_min']}/min real time ({s['peak_writes_per_min']} writes,"
            f" {s['peak_reads_per_min']} reads) over {s['span_min']:.0f} min; Microsoft.Network peak 5 min: "
            f"{s['network_writes_5min']} PUT/DELETE (limit {NETWORK_WRITES_5MIN}), {s['network_reads_5min']} GET "
            f"(limit {NETWORK_READS_5MIN}); lowest bucket level: reads {s['read_bucket_low']:.0f}/250, "
            f"writes {s['write_bucket_low']:.0f}/200")


def verify_latency(out: Report, tw: object, path: Path, what: str) -> None:
    from flows.spec_ref import SpecRef
    from flows.verify import verify_ring

    t0 = time.monotonic()
    state = verify_ring(spec=SpecRef(path=str(path)), return_state=True)
    wall = time.monotonic() - t0
    verdict = state.result().verdict if state.is_completed() else f"FAILED {state.message}"
    out(f"    verify-ring {what}: {wall:.1f} s ({verdict})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 1-2 minute subset (small time scales, no scaling)")
    parser.add_argument("--update-readme", action="store_true", help="write the figures into README.md")
    parser.add_argument("--profile", action="store_true", help="print every task run's start and end")
    parser.add_argument("--only", choices=("efficiency", "scaling", "verify"), default=None,
                        help="run one group (for profiling; --update-readme is refused)")
    parser.add_argument("--dcs", default="2,3,4,6", help="datacenter counts of the scaling runs")
    parser.add_argument("--vpn-scale", type=float, default=None, help="real s per Azure s in vpn-gateway runs")
    parser.add_argument("--peering-scale", type=float, default=None, help="same, global-peering runs")
    args = parser.parse_args()
    if args.only and args.update_readme:
        parser.error("--update-readme needs every group: drop --only")
    vpn_ts = args.vpn_scale or (0.004 if args.quick else 0.02)
    peer_ts = args.peering_scale or (0.012 if args.quick else 0.06)
    scale_ts = 0.004 if args.quick else 0.01

    from prefect.testing.utilities import prefect_test_harness

    out = Report()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="multidc-bench-"))
    with prefect_test_harness(server_startup_timeout=180):
        harness_s = time.monotonic() - started
        register_blocks()
        out(f"multidc/full on the sandbox ({'--quick' if args.quick else 'full run'}); sandbox in its own process "
            f"(sandbox.process.up, as `multidc sandbox up`) + prefect_test_harness (temporary local server, SQLite, {harness_s:.0f} s to start)")
        out(f"ARM polling: the AzureCloud block polls every {ARM_RETRY_AFTER_S:g} s and Kubernetes waits every "
            f"{KUBE_POLL_S:g} s in real terms (x time scale); the emulator's Retry-After is a quarter of what is "
            f"left, at least 10 s real terms{'' if full_accepts_waits() else ' (Kubernetes waits: the flow default 5 s, unscaled)'}")
        out(f"machine: {load()}")
        out()
        out("1. critical-path efficiency (wall / longest chain of simulated work; target <= "
            f"{EFFICIENCY_TARGET:.2f})")
        if args.only in (None, "efficiency"):
            efficiency(out, tmp, "vpn-gateway", 2, 3, vpn_ts, args, extra=True)
            efficiency(out, tmp, "global-peering", 2, 3, peer_ts, args)
            out(f"   {load()}")
            out()
        if not args.quick and args.only in (None, "scaling"):
            counts = [int(x) for x in args.dcs.split(",")]
            out(f"2. scaling (vpn-gateway, 2 nodes per DC, time scale {scale_ts:g}; target wall(6)/wall(2) <= "
                f"{SCALING_TARGET:.2f})")
            walls: dict[int, float] = {}
            real: dict[int, float] = {}
            for dcs in counts:
                run, chain_s = efficiency(out, tmp, "vpn-gateway", dcs, 2, scale_ts, args)
                walls[dcs] = run.wall
                # Prefect's and the sandbox's own seconds do not scale with time: on real Azure they
                # add to the real chain as they are.
                real[dcs] = chain_s + (run.wall - chain_s * scale_ts)
            lo, hi = counts[0], counts[-1]
            out(f"   wall({hi})/wall({lo}) = {walls[hi] / walls[lo]:.2f} here; with real durations and the same "
                f"seconds of overhead: {real[hi] / real[lo]:.3f}; {load()}")
            c2 = critical_chain(write_spec(tmp, "c2", 2, 3, "vpn-gateway")[1]).seconds
            c6 = critical_chain(write_spec(tmp, "c6", 6, 3, "vpn-gateway")[1]).seconds
            out(f"   with 3 nodes per DC the chain itself grows {c6 / c2:.2f}x from 2 to 6 DCs: one node of the ring"
                " bootstraps at a time, 2 min each")
            out()
        if args.only not in (None, "verify"):
            return 0
        out("4. verification and Prefect overhead")
        name = "bench-verify-4x5"
        path, spec = write_spec(tmp, name, 2 if args.quick else 4, 3 if args.quick else 5, "global-peering")
        if not args.quick:
            with sandbox(tmp / name, 0.004, name + "-cloud") as tw:
                run = run_full(tw, name, path, name + "-cloud", 0.004)
                if not run.ok:
                    out(f"    building the 4x5 ring FAILED: {run.message[:300]}")
                verify_latency(out, tw, path, "4 DCs x 5 nodes")
        from perf_overhead import measure

        o = measure()
        out(f"    Prefect: empty flow {o['flow']:.2f} s, of which {o['after_return']:.2f} s (median of 5; at most "
            f"{o['after_return_max']:.2f} s) after its function returns; per task {o['task_sequential'] * 1000:.1f} ms called in turn, "
            f"{o['task_submitted'] * 1000:.1f} ms submitted ({o['n']:.0f} no-op tasks); per subflow "
            f"{o['subflow']:.2f} s (median of {o['m']:.0f} no-op subflows); {load()}")
        out()
        out("5. what to expect on real Azure (the same chain with real durations; plus Prefect's seconds)")
        for mode, what in (("vpn-gateway", "gateway-bound"), ("global-peering", "cluster-bound")):
            spec2 = write_spec(tmp, f"real-{mode}", 2, 3, mode)[1]
            low = critical_chain(spec2).seconds / 60
            high = critical_chain(spec2, {**AZURE_DURATIONS, "gateway": 60 * 60, "cluster": 15 * 60}).seconds / 60
            out(f"    {mode:15} 2 DCs x 3 nodes: {low:.0f}-{high:.0f} min ({what}: gateway 45-60 min, cluster 10-15 min)")
        out()
        out(f"script run time: {time.monotonic() - started:.0f} s; {load()}")
    if args.update_readme:
        readme = ROOT / "README.md"
        text = readme.read_text()
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        block = "\n".join(["```text", *out.lines, "```"])
        readme.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")
        print("README.md performance region updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
