"""The ring half of multidc/full: DNS across clusters, one Cassandra DC per cluster, auth and keyspaces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from multidc_core import naming
from multidc_core.spec import RingSpec
from tasks.cassandra import apply_cassandra, wait_for_dc
from tasks.cassandra_admin import ensure_admin_secret
from tasks.cassandra_cql import configure_auth, ensure_keyspaces
from tasks.dns import check_dns, ensure_dns_exposed, ensure_dns_forwarding
from tasks.kube_objects import Applied, KubeWaits
from tasks.ring_changes import rebuild_dc

# Each DC holds up to nine waiting threads (DNS, Secret, forwarding, two checks, two applies,
# two waits): 96 covers ten DCs. Python's default pool (cores + 4) would let waiting tasks starve
# the ones they wait for. Idle threads cost little.
MAX_WORKERS = 96

Futures = Sequence[PrefectFuture[Any]]
T = TypeVar("T")


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
    """The submitted steps, for a caller that composes the ring with its own futures."""

    dns: dict[str, PrefectFuture[str]] = field(default_factory=dict)
    forwarding: dict[str, PrefectFuture[bool]] = field(default_factory=dict)
    checks: dict[str, PrefectFuture[list[str]]] = field(default_factory=dict)
    final_checks: dict[str, PrefectFuture[list[str]]] = field(default_factory=dict)
    secrets: dict[str, PrefectFuture[Applied]] = field(default_factory=dict)
    applied: dict[str, PrefectFuture[list[Applied]]] = field(default_factory=dict)
    ready: dict[str, PrefectFuture[str]] = field(default_factory=dict)
    auth: PrefectFuture[str] | None = None
    keyspaces: PrefectFuture[list[str]] | None = None
    rebuilt: dict[str, PrefectFuture[str]] = field(default_factory=dict)
    order: list[PrefectFuture[Any]] = field(default_factory=list)

    def add(self, future: PrefectFuture[T]) -> PrefectFuture[T]:
        self.order.append(future)
        return future

    def result(self) -> RingResult:
        """Wait for every step; raise the first failure in submission order (the cause, not a follower)."""
        for f in self.order:
            f.wait()
        for f in self.order:
            if f.state.is_failed() or f.state.is_crashed():
                f.result()  # raises the task's exception
        for f in self.order:
            if not f.state.is_completed():  # an upstream outside the ring (a caller's future) failed
                raise RuntimeError(f"a ring step did not run: {f.state.name}: {f.state.message}")
        dcs: dict[str, DatacenterResult] = {}
        for dc, ready in self.ready.items():
            check = self.checks.get(dc)
            dcs[dc] = DatacenterResult(
                dns_address=self.dns[dc].result(),
                dns_changed=self.forwarding[dc].result() if dc in self.forwarding else None,
                resolved=check.result() if check is not None else [],
                applied=[self.secrets[dc].result(), *self.applied[dc].result()],
                ready=ready.result(),
            )
        assert self.auth is not None and self.keyspaces is not None
        return RingResult(
            datacenters=dcs,
            auth=self.auth.result(),
            keyspaces=self.keyspaces.result(),
            rebuilt={dc: f.result() for dc, f in self.rebuilt.items()},
        )


def submit_ring(
    spec: RingSpec,
    *,
    waits: KubeWaits | None = None,
    forward_dns: bool = True,
    cluster_ready: Mapping[str, Futures] | None = None,
    interconnect: Futures = (),
    adding: Sequence[str] = (),
) -> RingFutures:
    """Submit the ring's steps inside the calling flow, with as much overlap as is safe.

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
    w = waits or KubeWaits()
    ready_of = dict(cluster_ready or {})
    out = RingFutures()
    names = [d.name for d in spec.datacenters]
    for dc in names:
        cluster = ready_of.get(dc, ())
        out.dns[dc] = out.add(ensure_dns_exposed.submit(spec, dc, w, wait_for=cluster, return_state=False))
        # The Secret cannot make a DC bootstrap alone: it goes in as soon as the cluster exists.
        out.secrets[dc] = out.add(ensure_admin_secret.submit(spec, dc, wait_for=cluster, return_state=False))
    if forward_dns and len(names) > 1:
        for dc in names:
            remote = {o: out.dns[o] for o in names if o != dc}
            out.forwarding[dc] = out.add(
                ensure_dns_forwarding.submit(
                    spec, dc, remote, wait_for=ready_of.get(dc, ()), return_state=False
                )
            )
    # Seeds never bootstrap: every DC's seeds start as soon as the DC reaches the first DC's seeds.
    # Nodes beyond the seeds stream data, and only one node of the ring may do that at a time, so
    # those join DC by DC in spec order (`joining`: the DC before, among those that have any).
    first = spec.datacenters[0]
    anchor: PrefectFuture[str] | None = None
    joining: PrefectFuture[str] | None = None
    for d in spec.datacenters:
        dc, joins = d.name, naming.has_joiners(d)
        deps: list[PrefectFuture[Any]] = [out.secrets[dc]]
        if anchor is not None:
            check_deps = [anchor, *interconnect, *ready_of.get(dc, ()), *_of(out.forwarding, dc)]
            out.checks[dc] = out.add(
                check_dns.submit(spec, dc, naming.dc_seeds(first), w, wait_for=check_deps, return_state=False)
            )
            deps.append(out.checks[dc])
        # The seeds start at once; wait_for_dc admits the other nodes one at a time, across racks,
        # once the ring's joining slot is free.
        out.applied[dc] = out.add(apply_cassandra.submit(spec, dc, wait_for=deps, return_state=False))
        slot = [joining] if joins and joining is not None else []
        out.ready[dc] = out.add(
            wait_for_dc.submit(spec, dc, w, wait_for=[out.applied[dc], *slot], return_state=False)
        )
        if anchor is None:  # later DCs need the first DC's seeds only, not its joiners
            anchor = (
                out.add(
                    wait_for_dc.submit(
                        spec, dc, w, seeds_only=True, wait_for=[out.applied[dc]], return_state=False
                    )
                )
                if joins
                else out.ready[dc]
            )
        if joins:
            joining = out.ready[dc]
    every = list(out.ready.values())
    if len(names) > 1:
        for dc in names:  # every DC must resolve every other DC's seeds, for its later restarts
            seeds = [s for d in spec.datacenters if d.name != dc for s in naming.dc_seeds(d)]
            deps = [*every, *_of(out.forwarding, dc)]
            out.final_checks[dc] = out.add(
                check_dns.submit(spec, dc, seeds, w, wait_for=deps, return_state=False)
            )
    finals = list(out.final_checks.values())
    out.auth = out.add(configure_auth.submit(spec, w, wait_for=[*every, *finals], return_state=False))
    out.keyspaces = out.add(ensure_keyspaces.submit(spec, w, wait_for=[out.auth], return_state=False))
    before: PrefectFuture[Any] = out.keyspaces
    for dc in (d for d in names if d in adding):  # one DC after another: one node streams at a time
        out.rebuilt[dc] = before = out.add(rebuild_dc.submit(spec, dc, w, wait_for=[before], return_state=False))
    return out


def _of(futures: Mapping[str, PrefectFuture[T]], key: str) -> list[PrefectFuture[T]]:
    return [futures[key]] if key in futures else []


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
