"""The Cassandra part of a ring spec: image and version, per-DC resources and racks, keyspaces."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from decimal import Decimal

from multidc_core.cassandra_config import SUPPORTED_VERSIONS, tag_version
from multidc_core.problems import Problem, show
from multidc_core.spec import DNS1123_LABEL, HEAP, QUANTITY, CassandraDC, Datacenter, Provider, RingSpec

KEYSPACE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$")
# Cassandra owns these; CREATE KEYSPACE on them fails or, worse, alters system replication.
SYSTEM_KEYSPACES = frozenset(
    {
        "system",
        "system_auth",
        "system_schema",
        "system_distributed",
        "system_traces",
        "system_views",
        "system_virtual_schema",
        "system_cluster_metadata",
    }
)
_UNITS = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
}


def _quantity(text: str) -> Decimal | None:
    if not QUANTITY.match(text):
        return None
    number = re.match(r"^[0-9.]+", text)
    assert number is not None  # QUANTITY guarantees leading digits
    return Decimal(number.group()) * _UNITS[text[number.end() :]]


def _heap_bytes(text: str) -> int | None:
    if not HEAP.match(text):
        return None
    return int(text[:-1]) * (2**30 if text.endswith("G") else 2**20)


def cassandra_problems(spec: RingSpec) -> Iterator[Problem]:
    if not IMAGE.match(spec.cassandra.image):
        yield Problem(
            "cassandra.image",
            f"{show(spec.cassandra.image)} is not a container image reference",
            "use e.g. 'cassandra:5.0' or 'registry.example.com/cassandra:5.0.2'",
        )
    else:
        yield from _cassandra_version(spec.cassandra.image, spec.cassandra.version)
    smallest = min(dc.cassandra.nodes for dc in spec.datacenters)
    rf = spec.cassandra.system_rf
    if rf is not None and rf > smallest:
        yield Problem(
            "cassandra.system_rf",
            f"{rf} replicas per datacenter, but a datacenter has only {smallest} nodes",
            f"set it to at most {smallest}, or leave it out to use min(3, nodes)",
        )
    names = [d.name for d in spec.datacenters]
    for i, dc in enumerate(spec.datacenters):
        yield from _cassandra_dc(f"datacenters[{i}].cassandra", dc)
        source = dc.cassandra.rebuild_from
        if source is not None and (source == dc.name or source not in names):
            yield Problem(
                f"datacenters[{i}].cassandra.rebuild_from",
                f"{show(source)} is " + ("this datacenter itself" if source == dc.name else "not a datacenter of the spec"),
                "name another datacenter of the spec (the nearest), or leave it out to use the first: "
                + ", ".join(n for n in names if n != dc.name),
            )


def _cassandra_version(image: str, version: str | None) -> Iterator[Problem]:
    # cassandra.yaml is rendered with this version's setting names: Cassandra refuses unknown ones.
    supported = ", ".join(SUPPORTED_VERSIONS)
    from_tag = tag_version(image)
    if version is not None and version not in SUPPORTED_VERSIONS:
        yield Problem("cassandra.version", f"{show(version)} is not a Cassandra version multidc renders "
                      "cassandra.yaml for", f"use one of {supported}")
    elif from_tag is not None and from_tag not in SUPPORTED_VERSIONS:
        yield Problem("cassandra.image", f"{show(image)} is Cassandra {from_tag}, which multidc does not "
                      "render cassandra.yaml for", f"use an image of Cassandra {supported}, e.g. 'cassandra:5.0'")
    elif from_tag is not None and version is not None and version != from_tag:
        yield Problem("cassandra.version", f"{show(version)} differs from the image tag's version {from_tag}",
                      f"set it to {from_tag!r} or leave it out")
    elif from_tag is None and version is None:
        yield Problem("cassandra.version", f"the tag of image {show(image)} does not say which Cassandra "
                      "version it runs", f"set cassandra.version to the image's version ({supported}), "
                      "or use a tag such as 'cassandra:5.0'")


def _cassandra_dc(p: str, dc: Datacenter) -> Iterator[Problem]:
    c: CassandraDC = dc.cassandra
    examples = {"disk_size": "10Gi", "cpu": "2 or 500m", "memory": "8Gi"}
    for field, example in examples.items():
        value: str = getattr(c, field)
        amount = _quantity(value)
        if amount is None:
            yield Problem(
                f"{p}.{field}", f"{show(value)} is not a Kubernetes quantity", f"write e.g. {example}"
            )
        elif amount <= 0:
            yield Problem(
                f"{p}.{field}", f"{show(value)} is zero", f"write a positive amount, e.g. {example}"
            )
    if not SUBDOMAIN.match(c.storage_class) or len(c.storage_class) > 253:
        yield Problem(
            f"{p}.storage_class",
            f"{show(c.storage_class)} is not a StorageClass name",
            "use lower-case letters, digits, '-' and '.', e.g. 'managed-csi-premium'",
        )
    heap, heap_new, memory = _heap_bytes(c.heap), _heap_bytes(c.heap_new), _quantity(c.memory)
    for field, parsed in (("heap", heap), ("heap_new", heap_new)):
        if parsed is None:
            yield Problem(
                f"{p}.{field}",
                f"{show(getattr(c, field))} is not a JVM heap size",
                "write a whole number of megabytes or gigabytes, e.g. 2G or 512M",
            )
    if heap is not None and memory is not None and memory > 0 and heap >= memory:
        yield Problem(
            f"{p}.heap",
            f"heap {c.heap} does not fit in the memory limit {c.memory}; the pod would be OOM-killed",
            "keep the heap at most half of memory (Cassandra also uses off-heap memory)",
        )
    if heap is not None and heap_new is not None and heap_new >= heap:
        yield Problem(
            f"{p}.heap_new", f"{c.heap_new} is not smaller than heap {c.heap}", "use about a quarter of heap"
        )
    if len(c.racks) > c.nodes:
        yield Problem(
            f"{p}.racks",
            f"{len(c.racks)} racks for {c.nodes} nodes leaves a rack empty",
            f"use at most {c.nodes} racks, or raise nodes to {len(c.racks)}",
        )
    if dc.provider is Provider.AZURE and dc.azure is not None:
        yield from _rack_zones(p, c, dc.azure.zones)


def _rack_zones(p: str, c: CassandraDC, zones: list[str]) -> Iterator[Problem]:
    for k, rack in enumerate(c.racks):
        path = f"{p}.racks[{k}].zone"
        if zones and rack.zone is None:
            yield Problem(
                path,
                f"missing: the node pool spans zones {zones}",
                f'pin rack {show(rack.name)} to one zone, e.g. zone: "{zones[k % len(zones)]}"',
            )
        elif rack.zone is not None and rack.zone not in zones:
            where = f"one of azure.zones {zones}" if zones else "in azure.zones, which is empty"
            yield Problem(
                path,
                f"zone {show(rack.zone)} is not {where}",
                "pin the rack to a zone listed in azure.zones, or add the zone there",
            )


def keyspace_problems(spec: RingSpec) -> Iterator[Problem]:
    nodes = {dc.name: dc.cassandra.nodes for dc in spec.datacenters}
    seen: dict[str, str] = {}
    for k, ks in enumerate(spec.keyspaces):
        p = f"keyspaces[{k}]"
        if not KEYSPACE.match(ks.name):
            yield Problem(
                f"{p}.name",
                f"{show(ks.name)} is not a keyspace name",
                "start with a letter, then up to 47 letters, digits or '_', e.g. 'customers_ks'",
            )
        elif ks.name.lower() in SYSTEM_KEYSPACES:
            yield Problem(f"{p}.name", f"{ks.name!r} is a Cassandra system keyspace", "choose another name")
        # Unquoted CQL identifiers are case-insensitive: Foo and foo are the same keyspace.
        if ks.name.lower() in seen:
            yield Problem(
                f"{p}.name",
                f"keyspace {show(ks.name)} is also defined by {seen[ks.name.lower()]}",
                "define each keyspace once",
            )
        seen.setdefault(ks.name.lower(), f"{p}.name")
        yield from _replication(f"{p}.replication", ks.replication, nodes)


def _replication(p: str, replication: dict[str, int], nodes: dict[str, int]) -> Iterator[Problem]:
    if not any(rf > 0 for rf in replication.values()):
        yield Problem(
            p, "no replicas in any datacenter", "give at least one datacenter a replica count, e.g. dc1: 3"
        )
    for name, rf in replication.items():
        path = f"{p}[{show(name)}]" if not DNS1123_LABEL.match(name) else f"{p}.{name}"
        if name not in nodes:
            close = difflib.get_close_matches(name, list(nodes), n=1)
            hint = f"did you mean {close[0]!r}? Otherwise " if close else ""
            yield Problem(
                path,
                "names no datacenter of this ring",
                hint + "use one of " + ", ".join(repr(n) for n in nodes),
            )
        elif rf < 0:
            yield Problem(path, f"replication factor {rf} is negative", "use 0 or more")
        elif rf > nodes[name]:
            yield Problem(
                path,
                f"replication factor {rf} is more than the {nodes[name]} nodes of datacenter {name!r}",
                f"lower it to at most {nodes[name]}, or add nodes to that datacenter",
            )
