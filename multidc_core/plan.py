"""The plan: the step DAG the flows run, its critical path, and a markdown view of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from multidc_core.azure_bodies import mesh
from multidc_core.render import azure_files, kubernetes_files
from multidc_core.spec import InterconnectMode, Provider, RingSpec

AZURE_KINDS = (
    "resource_group",
    "identity",
    "vnet",
    "role_assignment",
    "public_ip",
    "gateway",
    "cluster",
    "connection",
    "peering",
)
# Every step kind, in the order a flow meets them.
STEP_KINDS = (
    *AZURE_KINDS,
    "interconnect_ready",
    "kubeconfig",
    "dns_expose",
    "dns_forward",
    "cassandra",
    "auth",
    "keyspaces",
    "verify",
)
INTERCONNECT_READY = "interconnect_ready"
AUTH = "auth"
KEYSPACES = "keyspaces"
VERIFY = "verify"


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

    def to_markdown(self) -> str:
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
        out += ["", "```mermaid", "graph TD"]
        node = {s.id: f"s{i}" for i, s in enumerate(self.steps, 1)}
        out += [f'    {node[s.id]}["{s.id}"]' for s in self.steps]
        out += [f"    {node[d]} --> {node[s.id]}" for s in self.steps for d in s.depends_on]
        out += ["```", ""]
        return "\n".join(out)


def build_plan(spec: RingSpec) -> Plan:
    """The deterministic step DAG for a spec, in a topological order."""
    steps: list[Step] = []

    def add(kind: str, dc: str | None, deps: list[str], peer: str | None = None) -> str:
        sid = step_id(kind, dc, peer)
        key = kind if kind in AZURE_KINDS else None
        steps.append(Step(sid, kind, dc, tuple(deps), key, peer))
        return sid

    mode = spec.interconnect.mode
    links: list[str] = []
    kubeconfig: dict[str, str] = {}
    for dc in spec.azure_dcs:
        d = dc.name
        rg = add("resource_group", d, [])
        ident = add("identity", d, [rg])
        vnet = add("vnet", d, [rg])
        role = add("role_assignment", d, [ident, vnet])
        if mode is InterconnectMode.VPN_GATEWAY:
            # The gateway needs only the GatewaySubnet: it is built while the cluster is.
            ip = add("public_ip", d, [rg])
            add("gateway", d, [vnet, ip])
        add("cluster", d, [role])
    for src, dst in mesh(spec):
        if mode is InterconnectMode.VPN_GATEWAY:
            links.append(add("connection", src, [step_id("gateway", src), step_id("gateway", dst)], dst))
        elif mode is InterconnectMode.GLOBAL_PEERING:
            links.append(add("peering", src, [step_id("vnet", src), step_id("vnet", dst)], dst))
    ready = add(INTERCONNECT_READY, None, links)
    for dc in spec.datacenters:
        deps = [step_id("cluster", dc.name)] if dc.provider is Provider.AZURE else []
        kubeconfig[dc.name] = add("kubeconfig", dc.name, deps)
    exposed = [add("dns_expose", dc.name, [kubeconfig[dc.name]]) for dc in spec.datacenters]
    forwarded = {dc.name: add("dns_forward", dc.name, [*exposed, ready]) for dc in spec.datacenters}
    first = spec.datacenters[0].name
    # The first DC starts a ring as soon as its cluster exists; every other DC must reach its
    # seeds before bootstrapping or it would start a second ring with the same name.
    deployed = [add("cassandra", first, [kubeconfig[first]])]
    for dc in spec.datacenters[1:]:
        deps = [kubeconfig[dc.name], ready, forwarded[dc.name], deployed[0]]
        deployed.append(add("cassandra", dc.name, deps))
    last = add(AUTH, None, deployed)
    if spec.keyspaces:
        last = add(KEYSPACES, None, [last])
    add(VERIFY, None, [last, *forwarded.values()])
    return Plan(spec.name, tuple(steps))


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
