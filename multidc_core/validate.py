"""Every semantic check of a ring spec, run before any cloud call; each problem names its fix."""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterator

from multidc_core import naming
from multidc_core.problems import Problem, show
from multidc_core.spec import (
    AZURE_NAME,
    DNS1123_LABEL,
    SUBSCRIPTION_ID,
    InterconnectMode,
    Provider,
    RingSpec,
    Sku,
)
from multidc_core.validate_azure import azure_request_problems
from multidc_core.validate_cassandra import cassandra_problems, keyspace_problems
from multidc_core.validate_kubeconfig import kubeconfig_problems
from multidc_core.validate_net import address_problems

LOCATION = re.compile(r"^[a-z][a-z0-9]*$")
VM_SIZE = re.compile(r"^Standard_[A-Za-z0-9_]+$")
K8S_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
AZURE_ZONES = ("1", "2", "3")
# The namespace becomes a DNS zone forwarded to the other clusters; forwarding one of these
# would hijack the remote cluster's own kubernetes/kube-dns names.
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# StatefulSet names longer than 52 leave no room for the controller-revision-hash label (63).
STATEFULSET_NAME_MAX = 52
AKS_NAME_MAX = 63
CONNECTION_NAME_MAX = 80

LABEL_FIX = "use at most {n} lower-case letters, digits and '-', starting and ending with a letter or digit"


def validate(spec: RingSpec) -> list[Problem]:
    """Every problem of a structurally valid spec, in a stable order; empty when the spec is usable."""
    problems: list[Problem] = []
    for check in (_names, _providers, _azure_fields, cassandra_problems, keyspace_problems, kubeconfig_problems):
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
            aks = naming.cluster_name(spec.name, dc.name)
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
