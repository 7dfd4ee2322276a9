"""What a ring verification saw, and the pure judgement of it: whole, degraded or broken, in plain words."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, Field

from multidc_core import naming
from multidc_core.nodetool import NodeStatus
from multidc_core.spec import Provider, RingSpec

Verdict = Literal["whole", "degraded", "broken"]
Severity = Literal["degraded", "broken"]
LinkStatus = Literal["ok", "degraded", "down", "split", "unknown"]

VERIFY_KEYSPACE = "multidc_verify"
SENTINEL_TABLE = "sentinel"
# Sentinels that a failed clean-up leaves behind vanish on their own after a day.
SENTINEL_TTL_S = 86400
STATE_WORDS = {"N": "normal", "J": "joining", "L": "leaving", "M": "moving"}


def verify_rf(nodes: int) -> int:
    """Replicas per DC of the verification keyspace: 3, or every node of a smaller DC."""
    return min(3, nodes)


def quorum(rf: int) -> int:
    return rf // 2 + 1


class NodeView(BaseModel):
    """One node as one observer's `nodetool status` shows it."""

    address: str = Field(description="Node's broadcast address.")
    dc: str = Field(description="Datacenter the node belongs to.")
    rack: str = Field(description="Rack the node belongs to.")
    state: str = Field(description="Two-letter status/state code: UN, DN, UJ, UL, UM ...")
    load: str = Field(description="Data on disk as printed, e.g. '70.1 KiB', or '?'.")
    owns: float | None = Field(default=None, description="Effective ownership in percent, when known.")
    host_id: str = Field(description="Cassandra host id.")

    @classmethod
    def of(cls, row: NodeStatus) -> NodeView:
        return cls(
            address=row.address,
            dc=row.dc,
            rack=row.rack,
            state=row.code,
            load=row.load,
            owns=row.owns,
            host_id=row.host_id,
        )

    @property
    def up(self) -> bool:
        return self.state.startswith("U")


class Observation(BaseModel):
    """The ring as one DC sees it: `nodetool status` in one of its pods, or why that failed."""

    observer: str = Field(description="Datacenter whose pod ran nodetool.")
    pod: str | None = Field(default=None, description="Pod that answered.")
    nodes: list[NodeView] = Field(default_factory=list, description="Every node the observer lists.")
    error: str | None = Field(default=None, description="Why no pod of the DC answered, if none did.")

    def of_dc(self, dc: str) -> list[NodeView]:
        return [n for n in self.nodes if n.dc == dc]


class WriteResult(BaseModel):
    writer: str = Field(description="Datacenter the sentinel was written from.")
    key: str = Field(description="Sentinel row id.")
    consistency: str | None = Field(default=None, description="Level the write succeeded at, if any.")
    error: str | None = Field(default=None, description="Why the EACH_QUORUM write failed.")

    @property
    def written(self) -> bool:
        return self.consistency is not None


class ReadResult(BaseModel):
    writer: str = Field(description="Datacenter that wrote the sentinel.")
    reader: str = Field(description="Datacenter that read it back at LOCAL_QUORUM.")
    ok: bool = Field(description="Whether the row was read within the deadline.")
    seconds: float | None = Field(default=None, description="How long until it was visible.")
    error: str | None = Field(default=None, description="What the last attempt answered.")


class DataPath(BaseModel):
    """The sentinel matrix: written from every DC at EACH_QUORUM, read from every other."""

    keyspace_error: str | None = Field(default=None, description="Why the keyspace could not be set up.")
    writes: list[WriteResult] = Field(default_factory=list)
    reads: list[ReadResult] = Field(default_factory=list)

    def read(self, writer: str, reader: str) -> ReadResult | None:
        return next((r for r in self.reads if r.writer == writer and r.reader == reader), None)


class Finding(BaseModel):
    severity: Severity
    text: str
    dcs: list[str] = Field(default_factory=list, description="Datacenters the finding is about.")


class DCInfo(BaseModel):
    """What the spec says a DC is: where it runs and how many nodes it should have."""

    name: str
    namespace: str
    region: str = Field(description="Azure location, or 'existing cluster'.")
    cluster: str = Field(description="AKS cluster name or kubeconfig context.")
    nodes: int = Field(description="Nodes the spec expects.")
    racks: list[str]


class Link(BaseModel):
    a: str
    b: str
    status: LinkStatus
    detail: str


class RingReport(BaseModel):
    """The verdict of one verification and everything it rests on (no secrets)."""

    ring: str
    verdict: Verdict
    findings: list[Finding]
    datacenters: list[DCInfo]
    observations: list[Observation]
    datapath: DataPath
    links: list[Link]

    def view(self, observer: str) -> Observation | None:
        return next((o for o in self.observations if o.observer == observer), None)

    def diagnosis(self) -> str:
        """Every finding, worst first, one per line."""
        ordered = sorted(self.findings, key=lambda f: f.severity != "broken")
        return "\n".join(f"- {f.text}" for f in ordered)


def dc_info(spec: RingSpec) -> list[DCInfo]:
    out = []
    for dc in spec.datacenters:
        if dc.provider is Provider.AZURE and dc.azure is not None:
            region, cluster = dc.azure.location, naming.cluster_name(spec.name, dc.name)
        else:
            region, cluster = "existing cluster", dc.kubeconfig.context if dc.kubeconfig else "?"
        racks = [r.name for r in dc.cassandra.racks]
        out.append(
            DCInfo(
                name=dc.name,
                namespace=dc.namespace,
                region=region,
                cluster=cluster,
                nodes=dc.cassandra.nodes,
                racks=racks,
            )
        )
    return out


def _seen_from(observers: list[str]) -> str:
    return (
        " and ".join(observers)
        if len(observers) <= 2
        else ", ".join(observers[:-1]) + " and " + observers[-1]
    )


def _membership(spec: RingSpec, views: list[Observation], out: list[Finding]) -> set[tuple[str, str]]:
    """Findings on who sees whom; returns the (observer, dc) pairs whose view is unusable (not seen, all down)."""
    names = [d.name for d in spec.datacenters]
    blind: set[tuple[str, str]] = set()
    for o in views:
        for dc in sorted({n.dc for n in o.nodes} - set(names)):
            out.append(
                Finding(
                    severity="degraded",
                    dcs=[o.observer, dc],
                    text=f"{o.observer} sees a datacenter {dc} that the spec does not name",
                )
            )
    by_name = {o.observer: o for o in views}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            va, vb = by_name.get(a), by_name.get(b)
            a_blind = va is not None and not va.of_dc(b)
            b_blind = vb is not None and not vb.of_dc(a)
            a_down = va is not None and bool(va.of_dc(b)) and not any(n.up for n in va.of_dc(b))
            b_down = vb is not None and bool(vb.of_dc(a)) and not any(n.up for n in vb.of_dc(a))
            if a_blind and b_blind:
                text = f"{a} and {b} do not see each other at all: two separate rings"
            elif a_blind or b_blind:
                x, y = (a, b) if a_blind else (b, a)
                text = f"{x} does not see {y} at all: two separate rings (while {y} lists {x})"
            elif a_down and b_down:
                text = f"{a} and {b} cannot reach each other: each sees every node of the other as down (DN)"
            elif a_down or b_down:
                x, y = (a, b) if a_down else (b, a)
                text = f"{x} sees every node of {y} as down (DN): {x} cannot reach {y}"
            else:
                continue
            out.append(Finding(severity="broken", text=text, dcs=[a, b]))
            for flag, pair in ((a_blind or a_down, (a, b)), (b_blind or b_down, (b, a))):
                if flag:
                    blind.add(pair)
    return blind


def _nodes(spec: RingSpec, views: list[Observation], blind: set[tuple[str, str]], out: list[Finding]) -> None:
    """Per-node findings (down, joining, missing) and the LOCAL_QUORUM budget of each DC."""
    for dc in spec.datacenters:
        not_normal: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
        down_in_own_view: int | None = None
        for o in views:
            if (o.observer, dc.name) in blind:
                continue
            rows = o.of_dc(dc.name)
            for n in rows:
                if n.state != "UN":
                    not_normal[(n.address, n.rack, n.state, n.dc)].append(o.observer)
            if len(rows) != dc.cassandra.nodes:
                fewer = "only " if len(rows) < dc.cassandra.nodes else ""
                out.append(
                    Finding(
                        severity="degraded",
                        dcs=[dc.name, o.observer],
                        text=(
                            f"{o.observer} lists {fewer}{len(rows)} nodes in {dc.name}; the spec expects "
                            f"{dc.cassandra.nodes}"
                        ),
                    )
                )
            if o.observer == dc.name:
                missing = max(0, dc.cassandra.nodes - len(rows))
                down_in_own_view = missing + sum(1 for n in rows if not n.up)
        for (address, rack, state, node_dc), observers in sorted(not_normal.items()):
            word = "down" if state.startswith("D") else STATE_WORDS.get(state[1:], state)
            out.append(
                Finding(
                    severity="degraded",
                    dcs=[node_dc],
                    text=(
                        f"{address} ({node_dc}, {rack}) is {state} ({word}) as seen from {_seen_from(observers)}"
                    ),
                )
            )
        rf = verify_rf(dc.cassandra.nodes)
        if down_in_own_view is not None and down_in_own_view > rf - quorum(rf):
            out.append(
                Finding(
                    severity="broken",
                    dcs=[dc.name],
                    text=(
                        f"{dc.name} has {down_in_own_view} of {dc.cassandra.nodes} nodes down or missing: "
                        f"LOCAL_QUORUM ({quorum(rf)} of {rf} replicas) cannot be served there"
                    ),
                )
            )


def _datapath(spec: RingSpec, dp: DataPath, out: list[Finding]) -> None:
    if dp.keyspace_error is not None:
        out.append(
            Finding(
                severity="broken",
                dcs=[d.name for d in spec.datacenters],
                text=(
                    f"the verification keyspace {VERIFY_KEYSPACE} could not be set up: {dp.keyspace_error}"
                ),
            )
        )
        return
    for w in dp.writes:
        if w.error is not None:
            fallback = f" (it did write at {w.consistency})" if w.written else ""
            out.append(
                Finding(
                    severity="broken",
                    dcs=[w.writer],
                    text=f"{w.writer} cannot write at EACH_QUORUM{fallback}: {w.error}",
                )
            )
    for r in dp.reads:
        if not r.ok:
            out.append(
                Finding(
                    severity="broken",
                    dcs=[r.reader, r.writer],
                    text=f"{r.reader} cannot read {r.writer}'s writes: {r.error or 'no answer'}",
                )
            )


def _links(spec: RingSpec, views: list[Observation], dp: DataPath) -> list[Link]:
    by_name = {o.observer: o for o in views}
    names = [d.name for d in spec.datacenters]
    links = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            va, vb = by_name.get(a), by_name.get(b)
            seen = [(v, o) for v, o in ((va, b), (vb, a)) if v is not None and v.error is None]
            if any(not v.of_dc(o) for v, o in seen):
                links.append(Link(a=a, b=b, status="split", detail="not in each other's ring"))
                continue
            reads = [r for r in (dp.read(a, b), dp.read(b, a)) if r is not None]
            up = [n.up for v, o in seen for n in v.of_dc(o)]
            failed = [f"{r.reader} cannot read {r.writer}" for r in reads if not r.ok]
            if failed or (up and not any(up)):
                links.append(Link(a=a, b=b, status="down", detail="; ".join(failed) or "all nodes DN across"))
            elif not reads and not seen:
                links.append(Link(a=a, b=b, status="unknown", detail="not measured"))
            elif not all(up):
                links.append(Link(a=a, b=b, status="degraded", detail="some nodes DN across; reads ok"))
            else:
                times = [r.seconds for r in reads if r.seconds is not None]
                worst = f"; reads in {max(times):.1f} s" if times else ""
                links.append(Link(a=a, b=b, status="ok", detail=f"all nodes UN across{worst}"))
    return links


def assess(spec: RingSpec, observations: list[Observation], datapath: DataPath) -> RingReport:
    """Judge a ring from what each DC saw and what the sentinels did.

    whole: every DC sees every expected node UN and every read worked. degraded: some node is not
    UN (down, joining, missing) but every DC still serves LOCAL_QUORUM and sees every other DC.
    broken: a DC is missing from another's view (split ring) or cannot reach it, a DC cannot be
    observed, cannot write at EACH_QUORUM or read another DC's writes, or has too many nodes down.
    """
    findings: list[Finding] = []
    views = [o for o in observations if o.error is None]
    for o in observations:
        if o.error is not None:
            findings.append(
                Finding(
                    severity="broken", dcs=[o.observer], text=f"{o.observer} could not be observed: {o.error}"
                )
            )
    blind = _membership(spec, views, findings)
    _nodes(spec, views, blind, findings)
    _datapath(spec, datapath, findings)
    verdict: Verdict = "whole"
    if findings:
        verdict = "broken" if any(f.severity == "broken" for f in findings) else "degraded"
    return RingReport(
        ring=spec.name,
        verdict=verdict,
        findings=findings,
        datacenters=dc_info(spec),
        observations=list(observations),
        datapath=datapath,
        links=_links(spec, views, datapath),
    )


_WARNING = re.compile(r"^(Warning: Using a password|Recommendation: use the credentials file)")
_UNAVAILABLE = re.compile(
    r"Cannot achieve consistency level (?P<level>\w+).*?required_replicas\\?'?: (?P<req>\d+), "
    r"\\?'alive_replicas\\?'?: (?P<alive>\d+)",
    re.S,
)
_HOST = re.compile(r"<Host: (?P<host>[^ >]+) (?P<dc>[^>]+)>")


def describe_cql_error(stderr: str, limit: int = 300) -> str:
    """cqlsh's stderr in a few plain words: 'Unavailable at EACH_QUORUM: 2 replicas needed, 0 alive'."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not _WARNING.match(ln.strip())]
    text = " ".join(lines)
    m = _UNAVAILABLE.search(text)
    if m:
        host = _HOST.search(text)
        via = f" (coordinator {host['host'].rsplit(':', 1)[0]} in {host['dc']})" if host else ""
        return f"Unavailable at {m['level']}: {m['req']} replicas needed, {m['alive']} alive{via}"
    text = text.removeprefix("<stdin>:1:")
    return text if len(text) <= limit else text[: limit - 3] + "..."
