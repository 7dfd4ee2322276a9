"""The longest dependency chain of a ring build, in the sandbox's simulated seconds (= Azure seconds).

The plan DAG (`multidc_core.plan.build_plan`) gives the steps and their order; this module gives each
step the simulated work the sandbox really does for it, including what the DAG does not weigh:

- Azure steps: the ARM emulator's duration of their resource type (`sandbox.arm.types`): resource
  groups, identities and role assignments are synchronous; VNet 5 s, public IP 10 s, gateway 45 min,
  connection 3 min, peering 10 s, AKS cluster 10 min.
- `interconnect_ready`: in vpn-gateway mode a connection reports Connected `tunnel` (2 min) after
  both its directions are provisioned (sandbox/arm/emulator.py); peerings are Connected at once.
- `dns_expose`: the LoadBalancer address (`lb_address`, 20 s); kubeconfig, DNS forwarding (a CoreDNS
  restart: system pods start at once), keyspaces and verify: no simulated delay.
- `auth`: the full repairs of system_auth (tasks.cassandra.repair_nodes: one after another), each a
  session plus its streaming to every other DC (`repair_session` 30 s, `repair_per_remote_dc` 15 s;
  sandbox/ring/cluster.py `repair_seconds`; system_auth holds a few KiB, its per-MiB share is nil).
- `cassandra/<dc>`: one StatefulSet per rack, OrderedReady; each pod waits for its PVC to bind
  (`pvc_bind` 5 s) and its disk to attach (`volume_attach` 60 s); a seed is UN as soon as it
  starts; a non-seed streams for `node_bootstrap` (2 min), and only one node of the ring may be
  joining at a time: its pod is created, and its disk attached, as soon as the pod before it in its
  rack is Ready, and its start gate (tasks/start_gate.py) holds it until the slot is free. A pod is Ready at the first readiness probe at or after its node is UN: the
  kubelet probes every `periodSeconds` of the product's probe from the container's start, and the
  sandbox never more often than every `PROBE_FLOOR_S` real seconds (sandbox/kube/pods.py), so at
  fast time scales the period is `PROBE_FLOOR_S / time_scale` simulated seconds. That last rule crosses datacenters, so the DCs are scheduled in spec order
  with one ring-wide "joining" slot, and each cassandra step is weighted by the time from its start
  to its last pod Ready (waiting for the slot included).

The result goes through `Plan.critical_path` with per-step-id durations; the DAG is the product's.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from multidc_core import manifests, naming
from multidc_core.plan import Plan, build_plan
from multidc_core.spec import InterconnectMode, RingSpec
from sandbox.clock import AZURE_DURATIONS
from sandbox.kube.pods import PROBE_FLOOR_S
from tasks.cassandra_cql import repair_nodes

# ARM types whose PUT completes synchronously in the emulator (sandbox/arm/types.py: duration_kind None).
SYNC_KINDS = ("resource_group", "identity", "role_assignment")
ZERO_KINDS = ("vpn_key", "connected", "interconnect_ready", "kubeconfig", "kubeconfig_saved", "dns_forward", "admin_credentials", "admin_secret", "dns_check", "cassandra",
              "seeds", "ready", "dns_final", "auth", "keyspaces", "rebuild", "verify")


def probe_period(spec: RingSpec, time_scale: float | None) -> float:
    """Simulated seconds between two readiness probes of a Cassandra pod, as the sandbox runs them."""
    dc = spec.datacenters[0]
    sts = manifests.statefulsets(spec, dc)[0]
    period = float(sts["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSeconds"])
    return max(period, PROBE_FLOOR_S / time_scale) if time_scale else period


@dataclass(frozen=True)
class Chain:
    seconds: float  # longest chain, simulated (Azure) seconds
    path: list[str]
    sequential: float  # every step and every node one after another (the seeds' scripts)
    weights: dict[str, float]


def kind_weights(spec: RingSpec, durations: dict[str, float]) -> dict[str, float]:
    w = {k: 0.0 for k in (*SYNC_KINDS, *ZERO_KINDS)}
    for k in ("vnet", "public_ip", "gateway", "cluster", "connection", "peering"):
        w[k] = durations[k]
    w["dns_expose"] = durations["lb_address"]
    if spec.interconnect.mode is InterconnectMode.VPN_GATEWAY and len(spec.azure_dcs) > 1:
        w["connected"] = durations["tunnel"]
    repair = durations["repair_session"] + durations["repair_per_remote_dc"] * (len(spec.datacenters) - 1)
    w["auth"] = len(repair_nodes(spec)[1]) * repair
    return w


def _pods(spec: RingSpec, dc: str) -> list[tuple[int, int, bool]]:
    """(rack index, ordinal, is_seed) of every pod of the DC, in node order."""
    d = spec.dc(dc)
    racks = len(d.cassandra.racks)
    return [(i % racks, i // racks, i < naming.SEEDS_PER_DC) for i in range(d.cassandra.nodes)]


def schedule_dc(spec: RingSpec, dc: str, start: float, slot_free: float, durations: dict[str, float],
                period: float) -> tuple[float, float, float]:
    """(time the DC's last pod is Ready, time the ring's joining slot is free again, time its seeds are
    Ready); `period`: the readiness probe's, in simulated seconds."""
    start_up = durations["pvc_bind"] + durations["volume_attach"]
    by_rack: dict[int, list[bool]] = {}
    for rack, _ordinal, seed in _pods(spec, dc):
        by_rack.setdefault(rack, []).append(seed)
    # Events: (time the pod's container starts, rack, ordinal); pods of a rack start in order.
    heap = [(start + start_up, rack, 0) for rack in by_rack]
    heapq.heapify(heap)
    done = seeds = start
    while heap:
        t, rack, ordinal = heapq.heappop(heap)
        if by_rack[rack][ordinal]:
            up = t
        else:
            begin = max(t, slot_free)
            up = slot_free = begin + durations["node_bootstrap"]
        ready = t + max(1, math.ceil((up - t) / period - 1e-9)) * period  # the first probe at or after UN
        done = max(done, ready)
        seeds = max(seeds, ready) if by_rack[rack][ordinal] else seeds
        if ordinal + 1 < len(by_rack[rack]):
            heapq.heappush(heap, (ready + start_up, rack, ordinal + 1))
    return done, slot_free, seeds


def _finish_of(plan: Plan, sid: str, weights: dict[str, float]) -> float:
    keep = plan.ancestors(sid) | {sid}
    sub = Plan(plan.ring, tuple(s for s in plan.steps if s.id in keep))
    return sub.critical_path(weights)[0]


def critical_chain(spec: RingSpec, durations: dict[str, float] | None = None,
                   time_scale: float | None = None) -> Chain:
    """The longest chain of `spec`'s build with the sandbox's durations (default: AZURE_DURATIONS);
    with `time_scale`, the readiness probes as the sandbox runs them at that scale, else as a kubelet."""
    dur = dict(AZURE_DURATIONS if durations is None else durations)
    period = probe_period(spec, time_scale)
    plan = build_plan(spec)
    weights: dict[str, float] = kind_weights(spec, dur)
    seq_weights = dict(weights)
    slot_free = 0.0
    # The plan's `cassandra/<dc>` applies the objects; its `seeds/<first dc>` and `ready/<dc>` wait for
    # pods. Each DC is scheduled from the end of its apply, in spec order (the ring-wide join slot);
    # a wait step weighs what is left of it once every step it depends on has ended.
    for step in plan.of_kind("cassandra"):
        assert step.dc is not None
        begin = _finish_of(plan, step.id, weights)
        done, slot_free, seeds = schedule_dc(spec, step.dc, begin, slot_free, dur, period)
        for kind, until in (("seeds", seeds), ("ready", done)):
            sid = f"{kind}/{step.dc}"
            if sid in {s.id for s in plan.steps}:
                after = max((_finish_of(plan, d, weights) for d in plan.step(sid).depends_on), default=0.0)
                weights[sid] = max(0.0, until - after)
        pods = _pods(spec, step.dc)
        seq_weights[f"ready/{step.dc}"] = len(pods) * (dur["pvc_bind"] + dur["volume_attach"]) + dur[
            "node_bootstrap"] * sum(1 for *_, seed in pods if not seed)
    total, path = plan.critical_path(weights)
    return Chain(total, path, plan.sequential_total(seq_weights), weights)


def describe_path(chain: Chain) -> str:
    return " -> ".join(f"{sid} ({chain.weights.get(sid, chain.weights.get(sid.split('/')[0], 0)):g}s)" for sid in chain.path
                       if chain.weights.get(sid, chain.weights.get(sid.split("/")[0], 0)))
