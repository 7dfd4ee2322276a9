"""The ring half of multidc/full: DNS across clusters, one Cassandra DC per cluster, auth and keyspaces."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prefect import Task, flow
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from flows.steps import Runner, Submitted, first_failure, submit, submit_plan
from multidc_core import naming
from multidc_core.plan import INTERCONNECT_READY, RING_KINDS, Plan, Step, build_plan, step_id
from multidc_core.spec import RingSpec
from tasks.cassandra import apply_cassandra, wait_for_dc
from tasks.cassandra_admin import ensure_admin_credentials, ensure_admin_secret
from tasks.cassandra_cql import configure_auth, ensure_keyspaces
from tasks.dns import check_dns, ensure_dns_exposed, ensure_dns_forwarding
from tasks.kube_objects import Applied, KubeWaits
from tasks.ring_changes import rebuild_dc

# Each DC holds up to nine waiting threads (DNS, Secret, forwarding, two checks, two applies,
# two waits): 96 covers ten DCs. Python's default pool (cores + 4) would let waiting tasks starve
# the ones they wait for. Idle threads cost little.
MAX_WORKERS = 96

Futures = Sequence[PrefectFuture[Any]]


class DatacenterResult(BaseModel):
    """One DC's deployment: its DNS address, what was applied and how many nodes are Ready."""

    dns_address: str = Field(description="Where other clusters forward this DC's zone.")
    dns_changed: bool | None = Field(description="Whether forwarding changed (None: not configured here).")
    resolved: list[str] = Field(description="Remote seeds this DC resolved from inside, as 'fqdn ip'.")
    applied: list[Applied] = Field(description="Kubernetes objects and the action taken on each.")
    ready: str = Field(description="Ready Cassandra pods, 'n/N ready'.")


class RingResult(BaseModel):
    """What deploy-ring leaves behind: references and states only, no credentials."""

    datacenters: dict[str, DatacenterResult] = Field(description="Per DC, in spec order.")
    auth: str = Field(description="Login that configured auth: cassandra (first run), admin or none.")
    keyspaces: list[str] = Field(description="Keyspaces created or confirmed.")
    rebuilt: dict[str, str] = Field(
        default_factory=dict, description="Per DC added to the live ring: its `nodetool rebuild`, node by node."
    )


@dataclass
class RingFutures:
    """The submitted steps (step id -> future), for a caller that composes the ring with its own futures."""

    plan: Plan
    steps: Submitted

    @property
    def order(self) -> list[PrefectFuture[Any]]:
        """The ring's futures, in plan order."""
        return [self.steps[s.id] for s in self.plan.steps if s.kind in RING_KINDS and s.id in self.steps]

    def _of(self, kind: str, dc: str | None = None) -> Any:
        f = self.steps.get(step_id(kind, dc))
        return f.result() if f is not None else None

    def result(self) -> RingResult:
        """Wait for every step; raise the first failure in plan order (the cause, not a follower)."""
        first_failure(self.order)
        for f in self.order:
            if not f.state.is_completed():  # an upstream outside the ring (a caller's future) failed
                raise RuntimeError(f"a ring step did not run: {f.state.name}: {f.state.message}")
        dcs: dict[str, DatacenterResult] = {}
        for s in self.plan.of_kind("ready"):
            dc = s.dc
            dcs[str(dc)] = DatacenterResult(
                dns_address=self._of("dns_expose", dc),
                dns_changed=self._of("dns_forward", dc),
                resolved=self._of("dns_check", dc) or [],
                applied=[self._of("admin_secret", dc), *self._of("cassandra", dc)],
                ready=self._of("ready", dc),
            )
        return RingResult(
            datacenters=dcs,
            auth=self._of("auth"),
            keyspaces=self._of("keyspaces") or [],
            rebuilt={str(s.dc): self._of("rebuild", s.dc) for s in self.plan.of_kind("rebuild")},
        )


def ring_runners(spec: RingSpec, waits: KubeWaits) -> dict[str, Runner]:
    """Step kind -> the task that runs it, for the ring's steps."""
    w = waits

    def on_dc(task: Task[..., Any], *extra: Any, **kwargs: Any) -> Runner:
        return lambda s, deps, _: submit(task, s, deps, spec, s.dc, *extra, **kwargs)

    def forward(s: Step, deps: list[PrefectFuture[Any]], done: Submitted) -> PrefectFuture[Any]:
        remote = {o.name: done[step_id("dns_expose", o.name)] for o in spec.datacenters if o.name != s.dc}
        return submit(ensure_dns_forwarding, s, deps, spec, s.dc, remote)

    def check(fqdns: Callable[[str], list[str]]) -> Runner:
        return lambda s, deps, _: submit(check_dns, s, deps, spec, s.dc, fqdns(str(s.dc)), w)

    def first_seeds(_dc: str) -> list[str]:
        return naming.dc_seeds(spec.datacenters[0])

    def other_seeds(dc: str) -> list[str]:
        return [x for d in spec.datacenters if d.name != dc for x in naming.dc_seeds(d)]

    return {
        "dns_expose": on_dc(ensure_dns_exposed, w),
        "admin_credentials": lambda s, deps, _: submit(ensure_admin_credentials, s, deps, spec),
        "admin_secret": on_dc(ensure_admin_secret),
        "dns_forward": forward,
        "dns_check": check(first_seeds),
        "cassandra": on_dc(apply_cassandra, w),
        # wait_for_dc admits the nodes beyond the seeds one at a time, across racks.
        "seeds": on_dc(wait_for_dc, w, seeds_only=True),
        "ready": on_dc(wait_for_dc, w),
        "dns_final": check(other_seeds),
        "auth": lambda s, deps, _: submit(configure_auth, s, deps, spec, w),
        "keyspaces": lambda s, deps, _: submit(ensure_keyspaces, s, deps, spec, w),
        "rebuild": on_dc(rebuild_dc, w),
    }


def submit_ring(
    spec: RingSpec,
    *,
    waits: KubeWaits | None = None,
    forward_dns: bool = True,
    cluster_ready: Mapping[str, Futures] | None = None,
    interconnect: Futures = (),
    adding: Sequence[str] = (),
) -> RingFutures:
    """Submit the ring's steps of the plan (`multidc_core.plan.build_plan`) inside the calling flow.

    The first DC deploys as soon as its cluster is ready (`cluster_ready[dc]`); each other DC
    starts its seeds once `interconnect` is done, the first DC's seeds are up and its own
    in-cluster check resolves them; nodes beyond the seeds bootstrap DC by DC (one node of the
    ring at a time). Auth and keyspaces come last, after every DC resolves every other DC's
    seeds. Submitted tasks hold a thread while they wait for upstream futures: run the calling
    flow with a ThreadPoolTaskRunner of at least MAX_WORKERS, and call `.result()` on the
    returned RingFutures.

    Args:
        spec: The ring spec.
        waits: Deadlines of every wait.
        forward_dns: False when DNS forwarding is someone else's job (it is still checked).
        cluster_ready: Per DC, futures that finish when its cluster's API is reachable.
        interconnect: Futures that finish when the clusters' networks reach each other.
        adding: DCs joining a live ring (rendered with auto_bootstrap false, see
            tasks.ring_changes.without_bootstrap): once every keyspace replicates to them, each
            node of theirs runs `nodetool rebuild`, one node of the ring at a time.
    """
    plan = build_plan(spec, adding, forward_dns)
    given = {step_id("kubeconfig", dc): list(fs) for dc, fs in (cluster_ready or {}).items()}
    given[INTERCONNECT_READY] = list(interconnect)
    return RingFutures(plan, submit_plan(plan, ring_runners(spec, waits or KubeWaits()), given))


@flow(
    name="deploy-ring",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),  # type: ignore[arg-type]
)
def deploy_ring(spec: RingSpec, forward_dns: bool = True, waits: KubeWaits | None = None) -> RingResult:
    """Join every DC's cluster into one Cassandra ring, once the clusters exist and reach each other.

    Exposes each cluster's DNS, forwards the other DCs' zones to it and checks that from inside;
    deploys the first DC at once and each other DC's seeds once its DNS check reaches the first
    DC's seeds, so that no DC ever starts a ring alone; nodes beyond the seeds join one DC after
    another; then auth and keyspaces. Re-running changes nothing.

    Args:
        spec: The ring spec (AKS clusters need their kubeconfig blocks, see provision-azure).
        forward_dns: False to leave CoreDNS as it is (the in-cluster check still runs).
        waits: Deadlines (seconds) of every wait; the defaults fit real clusters.

    Returns:
        Per DC its DNS address, applied objects and readiness; the auth login used; keyspaces.
    """
    return submit_ring(spec, waits=waits, forward_dns=forward_dns).result()
