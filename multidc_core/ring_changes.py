"""The plan of changes between a spec and a live ring: datacenters added, removed and changed.

Pure: the live ring comes in as rows of `nodetool status` (multidc_core.nodetool) read in one of its
DCs, and optionally the image each live DC's StatefulSets run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from multidc_core.cassandra_config import cassandra_yaml, tag_version
from multidc_core.cql import SYSTEM_KEYSPACES
from multidc_core.naming import SEEDS_PER_DC
from multidc_core.nodetool import NodeStatus
from multidc_core.spec import Cloud, Datacenter, Provider, RingSpec

REMOVAL_NOT_AVAILABLE = (
    "removing a datacenter is a separate operation (drop it from every keyspace, decommission, drop it from "
    "every seed list): run the remove-dc flow (deployment remove-dc/remove-dc) with the spec that still lists "
    "it and confirm set to its name"
)
SCALE_DOWN_NOT_AVAILABLE = (
    "scaling a datacenter down is a separate operation (decommission, highest ordinal first, then cleanup): "
    "run the scale-dc flow (deployment scale-dc/scale-dc) with confirm set to the datacenter's name"
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
    bad_upgrades: dict[str, str] = field(default_factory=dict)  # DC -> why its image change is refused

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
        if self.bad_upgrades:
            return "; ".join(f"datacenter {dc}: {why}" for dc, why in self.bad_upgrades.items())
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
    bad: dict[str, str] = {}
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
            refused = upgrade_refusal(have.image, spec.cassandra.image)
            if refused:
                bad[name] = refused
        if have.config is not None and have.config != cassandra_yaml(spec, d):
            why.append("cassandra.yaml settings or seeds differ (rolled one pod at a time, each back to UN first)")
        if why:
            changed[name] = why
    return RingChanges(added=added, removed=removed, changed=changed, bad_upgrades=bad)


def _major(version: str) -> int:
    return int(version.split(".", 1)[0])


def upgrade_refusal(running: str, wanted: str) -> str | None:
    """Why a rolling change of image from `running` to `wanted` is refused, or None when Cassandra supports it.

    Cassandra upgrades one major version at a time (3.x -> 4.0/4.1 -> 5.0; 3.11 -> 5.0 directly is not
    supported) and never downgrades a major: version X+1 reads X's files, not the inverse (NEWS.txt).
    An image whose tag names no version is not judged here (validation asks for `cassandra.version`).
    """
    old, new = tag_version(running), tag_version(wanted)
    if old is None or new is None or old == new:
        return None
    if _major(new) < _major(old):
        return (f"cassandra.image {wanted} would downgrade the running {running} ({old} -> {new}): Cassandra "
                f"cannot read the newer major's data files; keep cassandra.image at a {old.split('.')[0]}.x image; "
                "nothing was changed")
    if _major(new) > _major(old) + 1:
        step = "4.1" if _major(old) == 3 else f"{_major(old) + 1}.x"
        return (f"cassandra.image {wanted} is more than one major version above the running {running} ({old} -> "
                f"{new}): Cassandra upgrades one major at a time; set cassandra.image to a {step} image first, "
                f"run multidc/full, then {wanted}; nothing was changed")
    return None


def replicas_in(replication: dict[str, str], dc: str) -> int:
    """Replicas a keyspace keeps in the DC, from its replication map as system_schema shows it."""
    cls = replication.get("class", "")
    if cls.endswith("NetworkTopologyStrategy"):
        return int(replication.get(dc, "0") or 0)
    if cls.endswith("SimpleStrategy"):
        return int(replication.get("replication_factor", "0") or 0)
    return 0  # LocalStrategy and the like: never streamed


def largest_rf(spec: RingSpec, dc: str, live: dict[str, dict[str, str]]) -> tuple[str, int]:
    """(where it is set, replicas) of the largest replication factor the DC will keep.

    The spec's keyspaces and the system keyspaces (`cassandra.system_rf`, else min(3, nodes)) at the
    spec's values, since the run sets them first; any other keyspace of the live ring (`live`, as
    system_schema.keyspaces shows it) at its own.
    """
    d = spec.dc(dc)
    found = [("cassandra.system_rf (system_auth, system_distributed, system_traces)",
              spec.cassandra.system_rf or min(3, d.cassandra.nodes))]
    found += [(f"keyspaces[{ks.name}].replication.{dc}", ks.replication.get(dc, 0)) for ks in spec.keyspaces]
    known = {ks.name for ks in spec.keyspaces} | set(SYSTEM_KEYSPACES)
    found += [(f"keyspace {name} (not in the spec: ALTER KEYSPACE it yourself)", replicas_in(rep, dc))
              for name, rep in live.items() if name not in known]
    return max(found, key=lambda x: x[1])


def scale_down_refusal(spec: RingSpec, dc: str, live_nodes: int, live: dict[str, dict[str, str]]) -> str | None:
    """Why the DC must not shrink from `live_nodes` to the spec's node count, or None when it may."""
    target = spec.dc(dc).cassandra.nodes
    if target >= live_nodes:
        return None
    where, rf = largest_rf(spec, dc, live)
    if target < rf:
        return (f"datacenter {dc}: cassandra.nodes {target} is below the largest replication factor there, "
                f"{where}: {rf}; Cassandra refuses to decommission a node a keyspace needs for its replicas. "
                f"Keep datacenters[{dc}].cassandra.nodes at {rf} or more, or lower that replication first; "
                "nothing was changed")
    if target < SEEDS_PER_DC:
        return (f"datacenter {dc}: cassandra.nodes {target} would remove one of the DC's {SEEDS_PER_DC} seeds, which "
                f"every node of the ring lists; keep datacenters[{dc}].cassandra.nodes at {SEEDS_PER_DC} or more; "
                "nothing was changed")
    return None


_COMPASS = ("north", "south", "east", "west", "central")


def region_family(d: Datacenter) -> str:
    """The geography of an Azure DC's region (eastus2 -> us, westeurope -> europe); "" when not on Azure."""
    if d.azure is None:
        return ""
    name = d.azure.location.lower().rstrip("0123456789")
    for word in _COMPASS:
        name = name.replace(word, "")
    return name


def _cloud(d: Datacenter) -> str:
    if d.provider is Provider.AZURE:
        return Cloud.AKS.value
    return d.kubeconfig.cloud.value if d.kubeconfig is not None else ""


def nearest_source(spec: RingSpec, dc: str, exclude: list[str]) -> str:
    """The DC a new DC rebuilds from when `rebuild_from` is not named: the nearest that holds data.

    Among the spec's other DCs not in `exclude` (those still being added): same cloud first, then the
    same region, then the same geography (region family), then spec order (the spec declares no
    latency, and none is measured before the DC exists).
    """
    me = spec.dc(dc)
    named = me.cassandra.rebuild_from
    if named:
        return named
    candidates = [d for d in spec.datacenters if d.name != dc and d.name not in exclude]
    if not candidates:
        return spec.datacenters[0].name

    def distance(d: Datacenter) -> tuple[int, int, int]:
        same_region = me.azure is not None and d.azure is not None and me.azure.location == d.azure.location
        family = region_family(me)
        return (_cloud(d) != _cloud(me), not same_region, not (family and family == region_family(d)))

    return min(candidates, key=distance).name


def without_dc(spec: RingSpec, dc: str) -> RingSpec:
    """The spec once the DC is removed: the other DCs, and keyspaces that no longer replicate to it."""
    keyspaces = [ks.model_copy(update={"replication": {k: v for k, v in ks.replication.items() if k != dc}})
                 for ks in spec.keyspaces]
    return spec.model_copy(update={"datacenters": [d for d in spec.datacenters if d.name != dc],
                                   "keyspaces": keyspaces})


def removal_refusal(spec: RingSpec, dc: str, live: dict[str, dict[str, str]],
                    clients: list[str] | None = None) -> str | None:
    """Why datacenter `dc` must not be removed, or None: a keyspace (of the spec or of the live ring, as
    system_schema.keyspaces shows it) whose replicas are all in `dc` would lose every row with it; or
    applications still connected to its nodes (`clients`, from `nodetool clientstats`) read and write there."""
    if [d.name for d in spec.datacenters] == [dc]:
        return f"datacenter {dc} is the ring's only datacenter: use the teardown flow to delete the ring"
    only: list[str] = []
    for ks in spec.keyspaces:
        if ks.replication.get(dc, 0) > 0 and not any(v > 0 for k, v in ks.replication.items() if k != dc):
            only.append(f"{ks.name} (keyspaces[{ks.name}].replication)")
    known = {ks.name for ks in spec.keyspaces}
    for name, rep in live.items():
        if name in known or not rep.get("class", "").endswith("NetworkTopologyStrategy"):
            continue
        factors = {k: int(v or 0) for k, v in rep.items() if k != "class"}
        if factors.get(dc, 0) > 0 and not any(v > 0 for k, v in factors.items() if k != dc):
            only.append(f"{name} (not in the spec)")
    if only:
        return (f"keyspace(s) {', '.join(only)} replicate only to datacenter {dc}: removing it would lose every "
                f"row of them. Replicate them to another datacenter first (ALTER KEYSPACE, then `nodetool "
                f"rebuild` or a full repair there), or drop them; nothing was changed")
    if clients:
        shown = "; ".join(clients[:5]) + (f"; and {len(clients) - 5} more" if len(clients) > 5 else "")
        return (f"datacenter {dc} still serves {len(clients)} client connection(s): {shown}. Point those "
                f"applications at another datacenter first (their driver's local datacenter and contact points) "
                f"and let them reconnect, then run this again; nothing was changed")
    return None
