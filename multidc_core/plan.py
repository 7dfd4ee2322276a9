"""The plan: the step DAG the flows run, its critical path, and a markdown view of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from multidc_core import naming
from multidc_core.azure_bodies import mesh
from multidc_core.render import azure_files, kubernetes_files
from multidc_core.spec import InterconnectMode, Provider, RingSpec

AZURE_KINDS = (
    "resource_group",
    "vnet",
    "identity",
    "role_assignment",
    "cluster",
    "public_ip",
    "gateway",
    "connection",
    "peering",
)
# The steps on the clusters, once each is reachable (flows/ring.py runs them).
RING_KINDS = (
    "admin_credentials",
    "dns_expose",
    "admin_secret",
    "dns_forward",
    "dns_check",
    "cassandra",
    "seeds",
    "ready",
    "dns_final",
    "auth",
    "keyspaces",
    "rebuild",
)
# Every step kind, in the order a flow meets them. Each is one Prefect task (flows/steps.py), but
# for INTERCONNECT_READY, a join of the link waits, and VERIFY, the verify-ring subflow that runs
# once every task has ended.
STEP_KINDS = (*AZURE_KINDS, "vpn_key", "connected", "interconnect_ready", "kubeconfig", "kubeconfig_saved", *RING_KINDS,
              "verify")
INTERCONNECT_READY = "interconnect_ready"
AUTH = "auth"
ADMIN_CREDENTIALS = "admin_credentials"
VPN_KEY = "vpn_key"
KUBECONFIG_SAVED = "kubeconfig_saved"
KEYSPACES = "keyspaces"
VERIFY = "verify"
# Steps that are not a task submission of their own.
NOT_TASKS = (INTERCONNECT_READY, VERIFY)


def step_id(kind: str, dc: str | None = None, peer: str | None = None) -> str:
    """`kind`, `kind/dc` or `kind/dc-to-peer`."""
    if dc is None:
        return kind
    return f"{kind}/{dc}-to-{peer}" if peer else f"{kind}/{dc}"


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    dc: str | None
    depends_on: tuple[str, ...]
    # Key of the step's typical duration in Azure seconds (sandbox.clock.AZURE_DURATIONS); None
    # for steps that are not one Azure operation.
    azure_duration_key: str | None = None
    peer: str | None = None


@dataclass(frozen=True)
class Plan:
    ring: str
    steps: tuple[Step, ...]
    _index: dict[str, Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.id: s for s in self.steps})

    def step(self, sid: str) -> Step:
        return self._index[sid]

    def ids(self) -> list[str]:
        return [s.id for s in self.steps]

    def of_kind(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]

    def ancestors(self, sid: str) -> set[str]:
        """Every step `sid` waits for, directly or not."""
        seen: set[str] = set()
        todo = list(self.step(sid).depends_on)
        while todo:
            cur = todo.pop()
            if cur not in seen:
                seen.add(cur)
                todo += self.step(cur).depends_on
        return seen

    def edges(self, skip: tuple[str, ...] = NOT_TASKS) -> set[tuple[str, str]]:
        """(upstream, step) pairs between steps whose kind is not in `skip`, through skipped ones:
        the task graph a flow running the plan submits."""
        ends: dict[str, set[str]] = {}
        out: set[tuple[str, str]] = set()
        for s in self.steps:
            ups = {u for d in s.depends_on for u in ends[d]}
            if s.kind in skip:
                ends[s.id] = ups
            else:
                ends[s.id] = {s.id}
                out |= {(u, s.id) for u in ups}
        return out

    def _weight(self, s: Step, durations: dict[str, float]) -> float:
        if s.id in durations:
            return durations[s.id]
        if s.azure_duration_key is not None:
            return durations.get(s.azure_duration_key, 0.0)
        return durations.get(s.kind, 0.0)

    def critical_path(self, durations: dict[str, float]) -> tuple[float, list[str]]:
        """Longest path through the DAG; durations are keyed by step id, duration key or kind."""
        finish: dict[str, float] = {}
        via: dict[str, str | None] = {}
        for s in self.steps:  # steps are in topological order
            start, prev = 0.0, None
            for dep in s.depends_on:
                if prev is None or finish[dep] > start:
                    start, prev = finish[dep], dep
            finish[s.id] = start + self._weight(s, durations)
            via[s.id] = prev
        if not finish:
            return 0.0, []
        # Ties go to the later step, so the path runs on to the sink.
        end = max(reversed(self.ids()), key=lambda k: finish[k])
        path: list[str] = []
        cur: str | None = end
        while cur is not None:
            path.append(cur)
            cur = via[cur]
        return finish[end], path[::-1]

    def sequential_total(self, durations: dict[str, float]) -> float:
        """What running every step one after another would take."""
        return sum(self._weight(s, durations) for s in self.steps)

    def summary(self, durations: dict[str, float] | None = None) -> str:
        kinds: dict[str, int] = {}
        for s in self.steps:
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
        dcs = [s.dc for s in self.steps if s.dc is not None and s.kind == "cassandra"]
        lines = [
            f"ring {self.ring}: {len(dcs)} datacenter(s) ({', '.join(dcs)}), {len(self.steps)} steps",
            "  " + ", ".join(f"{k} x{v}" for k, v in kinds.items()),
        ]
        if durations is not None:
            total, path = self.critical_path(durations)
            seq = self.sequential_total(durations)
            lines.append(f"  critical path {total / 60:.0f} min (sequential {seq / 60:.0f} min):")
            lines.append("    " + " -> ".join(path))
        return "\n".join(lines)

    def to_markdown(self, picture_uri: str | None = None) -> str:
        """The steps as a table, then the graph: a mermaid block, or the picture at `picture_uri`."""
        out = [
            f"# Plan for ring `{self.ring}`",
            "",
            "| # | step | kind | dc | depends on | duration key |",
            "|---|---|---|---|---|---|",
        ]
        for i, s in enumerate(self.steps, 1):
            deps = ", ".join(f"`{d}`" for d in s.depends_on) or "-"
            out.append(
                f"| {i} | `{s.id}` | {s.kind} | {s.dc or '-'} | {deps} | {s.azure_duration_key or '-'} |"
            )
        if picture_uri is not None:
            return "\n".join([*out, "", f"![Step graph of ring {self.ring}]({picture_uri})", ""])
        out += ["", "```mermaid", "graph TD"]
        node = {s.id: f"s{i}" for i, s in enumerate(self.steps, 1)}
        out += [f'    {node[s.id]}["{s.id}"]' for s in self.steps]
        out += [f"    {node[d]} --> {node[s.id]}" for s in self.steps for d in s.depends_on]
        out += ["```", ""]
        return "\n".join(out)


def build_plan(spec: RingSpec, adding: Sequence[str] = (), forward_dns: bool = True) -> Plan:
    """The deterministic step DAG for a spec, in a topological order.

    Args:
        spec: The ring spec.
        adding: DCs joining a live ring: each is rebuilt after the keyspaces, one after another.
        forward_dns: False when DNS forwarding is someone else's job (the checks still run).
    """
    b = _Builder()
    ready = _azure_steps(b, spec)
    for d in spec.datacenters:
        b.add("kubeconfig", d.name, [step_id("cluster", d.name)] if d.provider is Provider.AZURE else [])
    # An AKS cluster's kubeconfig block is saved beside the Kubernetes steps, which use the fetched
    # kubeconfig at once: no Prefect API write on the chain. Verification waits for the saves.
    saved = [b.add(KUBECONFIG_SAVED, d.name, [step_id("kubeconfig", d.name)]) for d in spec.azure_dcs]
    names = [dc.name for dc in spec.datacenters]
    # The ring's superuser, generated (or read) at the start while Azure provisions: no DC's Secret then
    # waits on the Prefect API when every cluster's steps start at once.
    admin = b.add(ADMIN_CREDENTIALS, None, [])
    for dc in names:
        b.add("dns_expose", dc, [step_id("kubeconfig", dc)])
        # The Secret cannot make a DC bootstrap alone: it goes in as soon as the cluster exists.
        b.add("admin_secret", dc, [step_id("kubeconfig", dc), admin])
    forwarded: dict[str, list[str]] = {dc: [] for dc in names}
    if forward_dns and len(names) > 1:
        for dc in names:
            others = [step_id("dns_expose", o) for o in names if o != dc]
            forwarded[dc] = [b.add("dns_forward", dc, [step_id("kubeconfig", dc), *others])]
    every = _cassandra_steps(b, spec, ready, forwarded)
    finals = [b.add("dns_final", dc, [*every, *forwarded[dc]]) for dc in names] if len(names) > 1 else []
    last = b.add(AUTH, None, [*every, *finals])
    if spec.keyspaces:
        last = b.add(KEYSPACES, None, [last])
    for dc in (d for d in names if d in adding):  # one DC after another: one node streams at a time
        last = b.add("rebuild", dc, [last])
    b.add(VERIFY, None, [last, *finals, *saved])
    return Plan(spec.name, tuple(b.steps))


class _Builder:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, kind: str, dc: str | None, deps: list[str], peer: str | None = None) -> str:
        sid = step_id(kind, dc, peer)
        key = kind if kind in AZURE_KINDS else None
        self.steps.append(Step(sid, kind, dc, tuple(deps), key, peer))
        return sid


def _azure_steps(b: _Builder, spec: RingSpec) -> str:
    """Every Azure DC's resources and the links between them; returns the interconnect join."""
    mode = spec.interconnect.mode
    for dc in spec.azure_dcs:
        d = dc.name
        rg = b.add("resource_group", d, [])
        vnet = b.add("vnet", d, [rg])
        ident = b.add("identity", d, [rg])
        # Network Contributor on the subnet before the cluster exists (AKS needs it at create).
        role = b.add("role_assignment", d, [ident, vnet])
        b.add("cluster", d, [role])
        if mode is InterconnectMode.VPN_GATEWAY:
            # The gateway needs only the GatewaySubnet and its IP: it is built while the cluster is.
            ip = b.add("public_ip", d, [rg])
            b.add("gateway", d, [vnet, ip])
    pairs = mesh(spec)
    link = {
        InterconnectMode.VPN_GATEWAY: ("connection", "gateway"),
        InterconnectMode.GLOBAL_PEERING: ("peering", "vnet"),
    }
    if mode not in link:
        return b.add(INTERCONNECT_READY, None, [])
    kind, end = link[mode]
    # The connections' shared key, read or generated at the start while the gateways build (45 min):
    # its Secret block is not written to when the gateways end and every connection starts at once.
    key = [b.add(VPN_KEY, None, [])] if kind == "connection" and pairs else []
    for src, dst in pairs:
        b.add(kind, src, [step_id(end, src), step_id(end, dst), *key], dst)
    # A link is up once both of its directions exist: each direction waits for that.
    waits = [b.add("connected", a, [step_id(kind, a, z), step_id(kind, z, a)], z) for a, z in pairs]
    return b.add(INTERCONNECT_READY, None, waits)


def _cassandra_steps(b: _Builder, spec: RingSpec, ready: str, forwarded: dict[str, list[str]]) -> list[str]:
    """Each DC's Cassandra: applied, then Ready; returns the `ready` steps.

    Seeds never bootstrap: every other DC's seeds start once that DC resolves the first DC's
    seeds (`dns_check`), which are up (`seeds`), so that no DC ever starts a ring alone. Nodes
    beyond the seeds stream data and only one node of the ring may do that at a time, so those
    join DC by DC in spec order: a DC's `ready` waits for the `ready` of the DC before, among
    those that have any (the ring-wide join slot).
    """
    anchor: str | None = None
    joining: str | None = None
    every: list[str] = []
    first = spec.datacenters[0]
    for d in spec.datacenters:
        dc, joins = d.name, naming.has_joiners(d)
        deps = [step_id("admin_secret", dc)]
        if anchor is not None:
            deps.append(b.add("dns_check", dc, [anchor, ready, step_id("kubeconfig", dc), *forwarded[dc]]))
        applied = b.add("cassandra", dc, deps)
        slot = [joining] if joins and joining is not None else []
        every.append(b.add("ready", dc, [applied, *slot]))
        if anchor is None:  # later DCs need the first DC's seeds only, not its joiners
            anchor = b.add("seeds", first.name, [applied]) if joins else every[-1]
        if joins:
            joining = every[-1]
    return every


NOTES = """## Filled in at run time

- `azure/*/..-connection-*.json`: `properties.sharedKey` (one generated key, the same on both sides).
- `azure/*/..-role-assignment-*.json`: `properties.principalId` (the identity's, once it exists);
  the scope is the node subnet, given in the request URL.
- `kubernetes/*/..-coredns-custom.yaml`, `..-corefile-multidc.txt`: the other clusters' DNS
  addresses, where the spec does not pin them.
- Secret `cassandra-admin` (generated username and password): never written to files.
"""


def render_files(spec: RingSpec) -> dict[str, str]:
    """Relative path -> text of every planned artifact, plus `plan.md`; sorted by path."""
    files = {**azure_files(spec), **kubernetes_files(spec), "plan.md": build_plan(spec).to_markdown() + NOTES}
    return dict(sorted(files.items()))
