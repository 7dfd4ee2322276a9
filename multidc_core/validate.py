"""Every semantic check of a ring spec, run before any cloud call; each problem names its fix."""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterator
from decimal import Decimal

from multidc_core.cassandra_config import SUPPORTED_VERSIONS, tag_version
from multidc_core.problems import Problem, show
from multidc_core.spec import (
    AZURE_NAME,
    DNS1123_LABEL,
    HEAP,
    QUANTITY,
    SUBSCRIPTION_ID,
    CassandraDC,
    Cloud,
    CorednsMode,
    Datacenter,
    DnsExposure,
    InterconnectMode,
    KubeconfigDC,
    Provider,
    RingSpec,
    Sku,
)
from multidc_core.validate_azure import azure_request_problems
from multidc_core.validate_net import address_problems

KEYSPACE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LOCATION = re.compile(r"^[a-z][a-z0-9]*$")
VM_SIZE = re.compile(r"^Standard_[A-Za-z0-9_]+$")
K8S_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$")
# A Kubernetes annotation key: an optional DNS subdomain prefix and a name of at most 63 characters.
ANNOTATION_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
AZURE_ZONES = ("1", "2", "3")
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
# The namespace becomes a DNS zone forwarded to the other clusters; forwarding one of these
# would hijack the remote cluster's own kubernetes/kube-dns names.
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# StatefulSet names longer than 52 leave no room for the controller-revision-hash label (63).
STATEFULSET_NAME_MAX = 52
AKS_NAME_MAX = 63
CONNECTION_NAME_MAX = 80

LABEL_FIX = "use at most {n} lower-case letters, digits and '-', starting and ending with a letter or digit"
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


def validate(spec: RingSpec) -> list[Problem]:
    """Every problem of a structurally valid spec, in a stable order; empty when the spec is usable."""
    problems: list[Problem] = []
    for check in (_names, _providers, _azure_fields, _cassandra, _keyspaces, _kubeconfig):
        problems.extend(check(spec))
    problems.extend(address_problems(spec))
    problems.extend(azure_request_problems(spec))
    return sorted(problems, key=_document_order)


def _document_order(problem: Problem) -> tuple[object, ...]:
    """Sort key: top-level fields in model order, then indexes numerically (datacenters[10] after [9])."""
    tokens = re.findall(r"\[(\d+)\]|([^.\[\]]+)", problem.path)
    top = list(RingSpec.model_fields)
    key: list[object] = []
    for index, name in tokens:
        if index:
            key.append((0, int(index), ""))
        elif not key and name in top:
            key.append((0, top.index(name), ""))
        else:
            key.append((1, 0, name))
    return tuple(key)


def _label(path: str, value: str, limit: int = 63, example: str = "dc-eastus") -> Iterator[Problem]:
    if not DNS1123_LABEL.match(value) or len(value) > limit:
        yield Problem(
            path, f"{show(value)} is not a DNS-1123 label", LABEL_FIX.format(n=limit) + f", e.g. {example!r}"
        )


def _duplicates(paths_values: list[tuple[str, str]], what: str) -> Iterator[Problem]:
    first: dict[str, str] = {}
    for path, value in paths_values:
        if value in first:
            yield Problem(
                path, f"{what} {show(value)} is also used by {first[value]}", f"make each {what} unique"
            )
        else:
            first[value] = path


def _names(spec: RingSpec) -> Iterator[Problem]:
    for i, dc in enumerate(spec.datacenters):
        p = f"datacenters[{i}]"
        yield from _label(f"{p}.name", dc.name)
        yield from _label(
            f"{p}.namespace", dc.namespace, example=dc.name if DNS1123_LABEL.match(dc.name) else "dc1"
        )
        if dc.namespace in RESERVED_NAMESPACES:
            yield Problem(
                f"{p}.namespace",
                f"{show(dc.namespace)} is a Kubernetes system namespace; its DNS zone is forwarded to other clusters",
                f"use a namespace of its own, e.g. {'cassandra-' + dc.name if DNS1123_LABEL.match(dc.name) else 'dc1'!r}",
            )
        for k, rack in enumerate(dc.cassandra.racks):
            yield from _label(
                f"{p}.cassandra.racks[{k}].name", rack.name, STATEFULSET_NAME_MAX - len("cassandra-"), "rack1"
            )
        yield from _duplicates(
            [(f"{p}.cassandra.racks[{k}].name", r.name) for k, r in enumerate(dc.cassandra.racks)],
            "rack name",
        )
        if dc.provider is Provider.AZURE and DNS1123_LABEL.match(dc.name):
            aks = f"{spec.name}-{dc.name}-aks"
            if len(aks) > AKS_NAME_MAX:
                yield Problem(
                    f"{p}.name",
                    f"makes the AKS cluster name {aks!r} {len(aks)} characters long; Azure allows {AKS_NAME_MAX}",
                    "shorten the datacenter name or the ring name",
                )
    yield from _duplicates(
        [(f"datacenters[{i}].name", d.name) for i, d in enumerate(spec.datacenters)], "datacenter name"
    )
    yield from _duplicates(
        [(f"datacenters[{i}].namespace", d.namespace) for i, d in enumerate(spec.datacenters)], "namespace"
    )
    if spec.interconnect.mode is not InterconnectMode.NONE:
        yield from _connection_names(spec)


def _connection_names(spec: RingSpec) -> Iterator[Problem]:
    """Gateway connections and peerings are named R-D-to-E; Azure caps those names at 80."""
    azure = [(i, dc) for i, dc in enumerate(spec.datacenters) if dc.provider is Provider.AZURE]
    for i, dc in azure:
        longest = max((len(e.name) for j, e in azure if j != i), default=0)
        length = len(spec.name) + len(dc.name) + longest + len("--to-")
        if longest and length > CONNECTION_NAME_MAX:
            yield Problem(
                f"datacenters[{i}].name",
                f"makes a connection name R-D-to-E {length} characters long; Azure allows {CONNECTION_NAME_MAX}",
                "shorten the datacenter names or the ring name",
            )


def _providers(spec: RingSpec) -> Iterator[Problem]:
    mode = spec.interconnect.mode
    for i, dc in enumerate(spec.datacenters):
        p = f"datacenters[{i}]"
        if dc.provider is Provider.AZURE:
            if dc.azure is None:
                yield Problem(f"{p}.azure", "missing: provider is azure", _AZURE_BLOCK_FIX)
            if dc.kubeconfig is not None:
                yield Problem(
                    f"{p}.kubeconfig",
                    "is set but provider is azure",
                    "remove the kubeconfig block, or set provider: kubeconfig for an existing cluster",
                )
            continue
        if dc.kubeconfig is None:
            yield Problem(
                f"{p}.kubeconfig",
                "missing: provider is kubeconfig",
                "add a 'kubeconfig:' block with path and context of the existing cluster",
            )
        if dc.azure is not None:
            yield Problem(
                f"{p}.azure",
                "is set but provider is kubeconfig",
                "remove the azure block, or set provider: azure to have multidc create the cluster",
            )
        if mode is not InterconnectMode.NONE:
            yield Problem(
                f"{p}.provider",
                f"kubeconfig datacenter {show(dc.name)} cannot be joined by interconnect mode {mode.value!r}, "
                "which needs an Azure VNet multidc creates",
                "set interconnect.mode: none if the clusters' pod networks already route to each other, "
                "or make it an azure datacenter",
            )
    if mode is InterconnectMode.NONE and spec.azure_dcs and len(spec.datacenters) > 1:
        yield Problem(
            "interconnect.mode",
            "'none' leaves the new VNets of the azure datacenters unreachable from the other datacenters",
            "use vpn-gateway or global-peering",
        )
    yield from _gateway_sku(spec.interconnect.gateway_sku)


_AZURE_BLOCK_FIX = (
    "add an 'azure:' block (subscription_id, location, resource_group, vnet_cidr, node_subnet, "
    "gateway_subnet, service_cidr, dns_service_ip), or set provider: kubeconfig for an existing cluster"
)


def _gateway_sku(sku: str) -> Iterator[Problem]:
    known = typing.get_args(Sku)
    if sku in known:
        return
    path = "interconnect.gateway_sku"
    if re.fullmatch(r"VpnGw[1-5]", sku):
        yield Problem(path, f"{sku!r} (non-zonal) cannot be created since 2025-01-01", f"use {sku + 'AZ'!r}")
    elif sku in ("Standard", "HighPerformance"):
        yield Problem(path, f"{sku!r} is a retired gateway SKU", "use 'VpnGw1AZ'")
    else:
        close = difflib.get_close_matches(sku, known, n=1)
        hint = f"did you mean {close[0]!r}? Otherwise " if close else ""
        yield Problem(path, f"{show(sku)} is not a VPN gateway SKU", hint + "use one of " + ", ".join(known))


def _azure_fields(spec: RingSpec) -> Iterator[Problem]:
    for i, dc in enumerate(spec.datacenters):
        a, p = dc.azure, f"datacenters[{i}].azure"
        if a is None or dc.provider is not Provider.AZURE:
            continue
        if not SUBSCRIPTION_ID.match(a.subscription_id):
            yield Problem(
                f"{p}.subscription_id",
                f"{show(a.subscription_id)} is not a GUID",
                "copy the subscription id from 'az account show --query id', "
                "e.g. 00000000-0000-0000-0000-000000000000",
            )
        if not LOCATION.match(a.location):
            yield Problem(
                f"{p}.location",
                f"{show(a.location)} is not an Azure region name",
                "use the region's programmatic name ('az account list-locations -o table'), e.g. 'eastus'",
            )
        if not AZURE_NAME.match(a.resource_group):
            yield Problem(
                f"{p}.resource_group",
                f"{show(a.resource_group)} is not a valid resource group name",
                "use 2-80 ASCII letters, digits, '-', '_' or '.', not ending in '.' or '-'",
            )
        if not VM_SIZE.match(a.vm_size):
            yield Problem(
                f"{p}.vm_size", f"{show(a.vm_size)} is not an AKS VM size", "use e.g. 'Standard_D4s_v5'"
            )
        if a.kubernetes_version is not None and not K8S_VERSION.match(a.kubernetes_version):
            yield Problem(
                f"{p}.kubernetes_version",
                f"{show(a.kubernetes_version)} is not a Kubernetes version",
                'write MAJOR.MINOR or MAJOR.MINOR.PATCH in quotes, e.g. "1.33", or leave it out',
            )
        for z, zone in enumerate(a.zones):
            if zone not in AZURE_ZONES:
                yield Problem(
                    f"{p}.zones[{z}]",
                    f"{show(zone)} is not an Azure availability zone",
                    'use "1", "2" or "3"',
                )
        yield from _duplicates([(f"{p}.zones[{z}]", zone) for z, zone in enumerate(a.zones)], "zone")
        if a.zones and a.node_count < len(set(a.zones)):
            yield Problem(
                f"{p}.node_count",
                f"{a.node_count} nodes cannot cover {len(set(a.zones))} zones; "
                "racks pinned to a zone without a node stay Pending",
                f"set node_count to at least {len(set(a.zones))}, or list fewer zones",
            )


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


def _cassandra(spec: RingSpec) -> Iterator[Problem]:
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


def _keyspaces(spec: RingSpec) -> Iterator[Problem]:
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


def _kubeconfig(spec: RingSpec) -> Iterator[Problem]:
    for i, dc in enumerate(spec.datacenters):
        kc, p = dc.kubeconfig, f"datacenters[{i}].kubeconfig"
        if kc is None or dc.provider is not Provider.KUBECONFIG:
            continue
        for field in ("path", "context"):
            value: str = getattr(kc, field)
            if not value.strip() or not value.isprintable():
                yield Problem(
                    f"{p}.{field}",
                    f"{show(value)} is empty or holds control characters",
                    f"give the kubeconfig {field} on one line",
                )
        exposure, addresses = kc.dns_exposure, kc.dns_addresses
        if exposure is not DnsExposure.LOADBALANCER and not addresses:
            yield Problem(
                f"{p}.dns_addresses",
                f"empty, but dns_exposure {exposure.value!r} needs the addresses",
                "list the node addresses (nodeport) or the one DNS address (address) other clusters reach",
            )
        elif exposure is DnsExposure.ADDRESS and len(addresses) > 1:
            yield Problem(
                f"{p}.dns_addresses",
                f"{len(addresses)} addresses, but dns_exposure 'address' takes one",
                "give one address, or use dns_exposure: nodeport for node addresses",
            )
        elif exposure is DnsExposure.LOADBALANCER and addresses:
            yield Problem(
                f"{p}.dns_addresses",
                "is ignored with dns_exposure 'loadbalancer'",
                "remove dns_addresses, or set dns_exposure to nodeport or address",
            )
        yield from _cloud(kc, p)


def _cloud(kc: KubeconfigDC, p: str) -> Iterator[Problem]:
    cloud, annotations, exposure, mode = kc.cloud, kc.dns_lb_annotations, kc.dns_exposure, kc.coredns_mode
    lb = exposure is DnsExposure.LOADBALANCER
    if lb and cloud is Cloud.OTHER and not annotations:
        yield Problem(
            f"{p}.cloud",
            "is 'other' with dns_exposure 'loadbalancer': without its cloud's annotation the load balancer "
            "in front of kube-dns gets a public address (a DNS resolver open to the internet)",
            "set cloud to aks, eks or gke, or give dns_lb_annotations that make the load balancer internal, "
            "or use dns_exposure nodeport or address",
        )
    if annotations and not lb:
        yield Problem(
            f"{p}.dns_lb_annotations",
            f"is ignored with dns_exposure {exposure.value!r}",
            "remove dns_lb_annotations, or set dns_exposure to loadbalancer",
        )
    for key, value in annotations.items():
        if not ANNOTATION_KEY.match(key) or not value.isprintable():
            yield Problem(
                f"{p}.dns_lb_annotations",
                f"key {show(key)} is not an annotation key, or its value holds control characters",
                "use keys like service.beta.kubernetes.io/aws-load-balancer-scheme and one-line values",
            )
    if cloud is Cloud.EKS and kc.pod_cidrs and not kc.node_cidrs:
        yield Problem(
            f"{p}.node_cidrs",
            "is empty, but EKS's VPC CNI sends pods' traffic to other networks from the node's address "
            "(AWS_VPC_K8S_CNI_EXTERNALSNAT=false by default): the other DCs' NetworkPolicy would drop it",
            "list the node subnets (the same ranges as pod_cidrs when pods share the node subnets)",
        )
    if mode is CorednsMode.CUSTOM and cloud in (Cloud.EKS, Cloud.GKE):
        yield Problem(
            f"{p}.coredns_mode",
            f"is 'coredns-custom', but the DNS of {cloud.value} clusters does not import a coredns-custom "
            "ConfigMap (only AKS does)",
            "use coredns_mode: corefile, or leave it out",
        )
