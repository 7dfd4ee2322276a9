"""Shared by the render/plan tests: example specs, a checker of ARM bodies against OpenAPI, strict
validation of Kubernetes manifests and every manifest applied at run time."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from kubernetes_validate.utils import latest_version

from multidc_core import manifests as m
from multidc_core import naming as n
from multidc_core.render import dc_manifests
from multidc_core.spec import RingSpec
from tests.paths import AZURE_SPECS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
SPECS = AZURE_SPECS


def load_example(name: str) -> RingSpec:
    return RingSpec.model_validate(yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text()))


def example_names() -> list[str]:
    return [p.stem for p in EXAMPLES]


@functools.cache
def _doc(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _resolve(ref: str, base: Path) -> tuple[dict[str, Any], Path]:
    file, _, pointer = ref.partition("#")
    path = (base.parent / file).resolve() if file else base
    node: Any = _doc(path)
    for part in pointer.strip("/").split("/"):
        if part not in node:
            # v5 types.json defines SystemData while Network files ask for systemData (README).
            matches = [k for k in node if k.lower() == part.lower()]
            assert matches, f"unresolvable $ref {ref} from {base}"
            part = matches[0]
        node = node[part]
    return node, path


def _flatten(schema: dict[str, Any], base: Path) -> tuple[dict[str, Any], Path]:
    """Follow a top-level $ref chain."""
    while "$ref" in schema:
        schema, base = _resolve(schema["$ref"], base)
    return schema, base


def _collect(schema: dict[str, Any], base: Path) -> tuple[dict[str, tuple[dict, Path]], set[str], Any]:
    """Properties (with their base file), required names and additionalProperties, through allOf."""
    schema, base = _flatten(schema, base)
    props = {k: (v, base) for k, v in schema.get("properties", {}).items()}
    required = set(schema.get("required", []))
    additional = (schema.get("additionalProperties"), base) if "additionalProperties" in schema else None
    for parent in schema.get("allOf", []):
        p, r, a = _collect(parent, base)
        props = {**p, **props}
        required |= r
        additional = additional or a
    return props, required, additional


def check(value: Any, schema: dict[str, Any], base: Path, path: str = "$") -> list[str]:
    """Every problem of `value` against an OpenAPI 2 schema: unknown or read-only properties,
    missing required ones, enum violations, wrong basic types."""
    schema, base = _flatten(schema, base)
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    kind = schema.get("type")
    if isinstance(value, dict):
        if kind not in (None, "object"):
            return [f"{path}: object where {kind} expected"]
        props, required, additional = _collect(schema, base)
        errors += [f"{path}: missing required {r}" for r in sorted(required - set(value))]
        for key, item in value.items():
            if key in props:
                sub, sub_base = props[key]
                if _flatten(sub, sub_base)[0].get("readOnly") or sub.get("readOnly"):
                    errors.append(f"{path}.{key}: read-only")
                errors += check(item, sub, sub_base, f"{path}.{key}")
            elif isinstance(additional, tuple) and isinstance(additional[0], dict):
                errors += check(item, additional[0], additional[1], f"{path}.{key}")
            elif isinstance(additional, tuple) and additional[0] is True:
                continue
            else:
                errors.append(f"{path}.{key}: unknown property")
    elif isinstance(value, list):
        if kind != "array":
            return [f"{path}: array where {kind} expected"]
        for i, item in enumerate(value):
            errors += check(item, schema.get("items", {}), base, f"{path}[{i}]")
    elif isinstance(value, bool):
        if kind not in (None, "boolean"):
            errors.append(f"{path}: boolean where {kind} expected")
    elif isinstance(value, int):
        if kind not in (None, "integer", "number"):
            errors.append(f"{path}: integer where {kind} expected")
    elif isinstance(value, str) and kind not in (None, "string"):
        errors.append(f"{path}: string where {kind} expected")
    return errors


NETWORK = SPECS / "network/resource-manager/Microsoft.Network/Network/stable/2026-01-01"
AKS = SPECS / "containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-08-01"
MSI = SPECS / "msi/resource-manager/Microsoft.ManagedIdentity/ManagedIdentity/stable/2026-05-31"
AUTHZ = SPECS / "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01"

# ARM kind -> (spec file, definition) of the PUT body.
DEFINITIONS: dict[str, tuple[Path, str]] = {
    "vnet": (NETWORK / "virtualNetwork.json", "VirtualNetwork"),
    "public_ip": (NETWORK / "virtualNetwork.json", "PublicIPAddress"),
    "peering": (NETWORK / "virtualNetwork.json", "VirtualNetworkPeering"),
    "gateway": (NETWORK / "networkGateway.json", "VirtualNetworkGateway"),
    "connection": (NETWORK / "networkGateway.json", "VirtualNetworkGatewayConnection"),
    "cluster": (AKS / "managedClusters.json", "ManagedCluster"),
    "identity": (MSI / "ManagedIdentity.json", "Identity"),
    "role_assignment": (AUTHZ / "authorization-RoleAssignmentsCalls.json", "RoleAssignmentCreateParameters"),
    # Microsoft.Resources is not among the stored specs; its PUT body is a tracked resource.
    "resource_group": (
        SPECS / "common-types/resource-management/v5/types.json",
        "TrackedResource",
    ),
}


def check_body(kind: str, body: dict[str, Any]) -> list[str]:
    path, name = DEFINITIONS[kind]
    return check(body, {"$ref": f"#/definitions/{name}"}, path.resolve())


PASSWORD = "pw-that-must-not-leak"


def strict_validate(manifest: dict[str, Any], version: str | None = None) -> None:
    """Strict validation; an unknown kind raises SchemaNotFoundError, which fails like any error."""
    kubernetes_validate.validate(manifest, version or latest_version(), strict=True)


def runtime_manifests(spec: RingSpec, planned: bool = True) -> list[dict[str, Any]]:
    """Everything applied at run time: the plan's manifests plus those built with run-time values."""
    out: list[dict[str, Any]] = []
    for dc in spec.datacenters:
        out += dc_manifests(spec, dc) if planned else []
        out.append(m.admin_secret(dc.namespace, "admin", PASSWORD, n.labels(spec.name, dc.name)))
        remote = {d.name: "10.0.0.53" for d in spec.datacenters if d.name != dc.name}
        out.append(m.coredns_custom(spec, dc, remote))
    return out
