"""Where a run's seconds beyond the longest chain went: the chain's own steps against their modelled
work, the hand-offs between them, and Prefect's time before and after them."""

from __future__ import annotations

from dataclasses import dataclass

from perf_model import Chain

from multidc_core.plan import AZURE_KINDS

# Steps whose wait is an ARM long-running operation: the poller asks again after the emulator's
# Retry-After (at least 10 Azure s), so each ends up to one poll interval after the operation.
ARM_WAIT_KINDS = (*AZURE_KINDS, "connected")


@dataclass(frozen=True)
class Beyond:
    before: float  # flow run start -> the chain's first task run starts (spec, ring lock, plan, live ring)
    arm: dict[str, float]  # chain step -> its task run's time beyond its modelled work (ARM waits)
    kube: dict[str, float]  # the same, Kubernetes and Cassandra steps
    handoffs: float  # between one chain step's end and the next one's start (Prefect starting a task run)
    after: float  # the chain's last task run ends -> the flow run ends (verify subflow, Prefect's teardown)
    outside: float  # the flow run ends -> the call returns (Prefect's heartbeat thread stops, client)

    def prefect(self) -> float:
        """Seconds outside the chain's steps: Prefect's runs, subflow and hand-offs (no simulated work)."""
        return self.before + self.handoffs + self.after + self.outside


def beyond(chain: Chain, timeline: list[tuple[str, float, float]], wall: float, time_scale: float) -> Beyond:
    """Split `wall - chain` (real seconds) along the chain's steps; `timeline` from perf_run.task_timeline."""
    runs = {name: (start, end) for name, start, end in timeline}
    flow_end = runs["(flow run end)"][0]
    steps = [sid for sid in chain.path if sid in runs]
    arm: dict[str, float] = {}
    kube: dict[str, float] = {}
    handoffs, last_end = 0.0, None
    for sid in steps:
        start, end = runs[sid]
        weight = chain.weights.get(sid, chain.weights.get(sid.split("/")[0], 0.0)) * time_scale
        (arm if sid.split("/")[0] in ARM_WAIT_KINDS else kube)[sid] = (end - start) - weight
        if last_end is not None:
            handoffs += start - last_end
        last_end = end
    first = runs[steps[0]][0] if steps else flow_end
    return Beyond(first, arm, kube, handoffs, flow_end - (last_end if last_end is not None else first),
                  wall - flow_end)


def describe(b: Beyond, verify_s: float) -> str:
    def steps(d: dict[str, float]) -> str:
        return ", ".join(f"{sid} {v:+.2f}" for sid, v in d.items() if abs(v) >= 0.005)

    return (f"before the chain {b.before:.2f} s; ARM waits {sum(b.arm.values()):+.2f} s ({steps(b.arm)}); "
            f"Kubernetes/Cassandra steps {sum(b.kube.values()):+.2f} s ({steps(b.kube)}); hand-offs between "
            f"chain steps {b.handoffs:.2f} s; after the chain to the flow run's end {b.after:.2f} s (the verify "
            f"subflow {verify_s:.2f} s of it); outside the flow run {b.outside:.2f} s")
