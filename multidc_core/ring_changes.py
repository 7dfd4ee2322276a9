"""The plan of changes between a spec and a live ring: datacenters added, removed and changed.

Pure: the live ring comes in as rows of `nodetool status` (multidc_core.nodetool) read in one of its
DCs, and optionally the image each live DC's StatefulSets run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from multidc_core.cassandra_config import cassandra_yaml
from multidc_core.nodetool import NodeStatus
from multidc_core.spec import RingSpec

REMOVAL_NOT_AVAILABLE = (
    "removing a datacenter is a separate operation (decommission, then drop it from every keyspace and "
    "seed list), not yet available in multidc"
)
SCALE_DOWN_NOT_AVAILABLE = (
    "scaling a datacenter down is a separate operation (decommission, highest ordinal first), not yet "
    "available in multidc"
)


@dataclass(frozen=True)
class LiveDC:
    """A datacenter as the live ring shows it."""

    nodes: int
    image: str | None = None  # the image its Cassandra StatefulSets run, when read
    config: str | None = None  # the cassandra.yaml of its ConfigMap, when read


@dataclass(frozen=True)
class RingChanges:
    """Datacenters to add, to remove and to change (with why), in spec order then ring order."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def refusal(self) -> str | None:
        """Why a multidc/full run must not act on these changes, or None when it may."""
        if self.removed:
            names = ", ".join(self.removed)
            return (
                f"the spec drops datacenter(s) {names} that the live ring still has: {REMOVAL_NOT_AVAILABLE}; "
                f"put {names} back in the spec to run multidc/full; nothing was changed"
            )
        shrunk = [dc for dc, why in self.changed.items() if any(w.startswith("nodes ") and "fewer" in w for w in why)]
        if shrunk:
            return (
                f"the spec has fewer nodes in {', '.join(shrunk)} than the live ring: {SCALE_DOWN_NOT_AVAILABLE}; "
                "nothing was changed"
            )
        return None

    def to_markdown(self, ring: str, seen_from: str) -> str:
        lines = [f"# Plan of changes for ring {ring}", "", f"Live ring read from datacenter `{seen_from}`.", ""]
        if self.empty:
            return "\n".join([*lines, "No datacenter to add, remove or change.", ""])
        for dc in self.added:
            lines.append(f"- **add** `{dc}`: provision, join DNS, start without bootstrap, replicate every "
                         "keyspace to it, `nodetool rebuild` node by node")
        for dc in self.removed:
            lines.append(f"- **remove** `{dc}`: refused ({REMOVAL_NOT_AVAILABLE})")
        for dc, why in self.changed.items():
            lines.append(f"- **change** `{dc}`: {'; '.join(why)}")
        refusal = self.refusal()
        lines += ["", f"**Refused:** {refusal}" if refusal else "multidc/full applies the additions and changes."]
        return "\n".join([*lines, ""])


def live_dcs(rows: list[NodeStatus]) -> dict[str, LiveDC]:
    """Node count per DC from `nodetool status` rows, in the order nodetool prints them."""
    counts = Counter(r.dc for r in rows)
    return {dc: LiveDC(nodes=count) for dc, count in counts.items()}


def ring_changes(spec: RingSpec, live: dict[str, LiveDC]) -> RingChanges:
    """Compare the spec with the live ring. Changed: node count, image, or cassandra.yaml settings."""
    wanted = {d.name: d for d in spec.datacenters}
    added = [d for d in wanted if d not in live]
    removed = [d for d in live if d not in wanted]
    changed: dict[str, list[str]] = {}
    for name, have in live.items():
        d = wanted.get(name)
        if d is None:
            continue
        why: list[str] = []
        if d.cassandra.nodes != have.nodes:
            more = "more" if d.cassandra.nodes > have.nodes else "fewer"
            why.append(f"nodes {have.nodes} -> {d.cassandra.nodes} ({more})")
        if have.image is not None and have.image != spec.cassandra.image:
            why.append(f"image {have.image} -> {spec.cassandra.image} (rolled one pod at a time)")
        if have.config is not None and have.config != cassandra_yaml(spec, d):
            why.append("cassandra.yaml settings or seeds differ (rolled one pod at a time, each back to UN first)")
        if why:
            changed[name] = why
    return RingChanges(added=added, removed=removed, changed=changed)
