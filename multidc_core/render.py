"""Every artifact of a spec as file text: Azure bodies as JSON, Kubernetes manifests as YAML."""

from __future__ import annotations

import json
from typing import Any

import yaml

from multidc_core import manifests as m
from multidc_core.azure_bodies import azure_artifacts
from multidc_core.corefile import corefile_section
from multidc_core.spec import CorednsMode, Datacenter, RingSpec


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (cassandra.yaml, server blocks) as literal blocks, readable in a diff."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=1000)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def _file_kind(kind: str) -> str:
    return kind.replace("_", "-")


def azure_files(spec: RingSpec) -> dict[str, str]:
    out: dict[str, str] = {}
    counters: dict[str, int] = {}
    for art in azure_artifacts(spec):
        counters[art.dc] = counters.get(art.dc, 0) + 1
        path = f"azure/{art.dc}/{counters[art.dc]:02d}-{_file_kind(art.kind)}-{art.name}.json"
        out[path] = to_json(art.body)
    return out


def uses_corefile(dc: Datacenter) -> bool:
    return dc.kubeconfig is not None and dc.kubeconfig.dns_mode is CorednsMode.COREFILE


def dc_manifests(spec: RingSpec, dc: Datacenter) -> list[dict[str, Any]]:
    """Every manifest of one DC as the plan shows it (DNS addresses may be placeholders)."""
    remote = m.planned_dns_addresses(spec)
    out: list[dict[str, Any]] = [m.namespace(spec, dc)]
    svc = m.dns_service(spec, dc)
    if svc is not None:
        out.append(svc)
    if len(spec.datacenters) > 1 and not uses_corefile(dc):
        out.append(m.coredns_custom(spec, dc, remote))
    out += m.cassandra_manifests(spec, dc)[1:]
    return out


def kubernetes_files(spec: RingSpec) -> dict[str, str]:
    out: dict[str, str] = {}
    remote = m.planned_dns_addresses(spec)
    for dc in spec.datacenters:
        texts: list[tuple[str, str]] = [
            (f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml", to_yaml(obj))
            for obj in dc_manifests(spec, dc)
        ]
        if len(spec.datacenters) > 1 and uses_corefile(dc):
            # Goes into the cluster's own Corefile, whose rest the plan cannot know.
            at = 2 if m.dns_service(spec, dc) is not None else 1
            texts.insert(at, ("corefile-multidc.txt", corefile_section(spec, dc.name, remote)))
        for i, (name, text) in enumerate(texts, 1):
            out[f"kubernetes/{dc.name}/{i:02d}-{name}"] = text
    return out
