"""OpenAPI v3 (/openapi/v3, /openapi/v3/<gv>) and v2 (/openapi/v2, JSON) documents, and strict field validation.

The schemas are the official Kubernetes 1.31 definitions bundled by the `kubernetes-validate` package
(generated from kubernetes/kubernetes api/openapi-spec), turned back from JSON Schema into OpenAPI: refs
under #/components/schemas (v3) or #/definitions (v2), `type: [t, "null"]` to `type: t`, IntOrString to
`type: string, format: int-or-string` as in the real spec. Each PATCH operation carries
`x-kubernetes-group-version-kind` and the `fieldValidation` query parameter: that is how kubectl
(k8s.io/cli-runtime pkg/resource/query_param_verifier_v3.go) learns that the server validates fields, and
then sends `?fieldValidation=Strict` instead of validating client-side.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from typing import Any

from sandbox.kube.discovery import REVIEWS, group_versions
from sandbox.kube.store import RESOURCES, ApiError, Obj, Resource

SCHEMA_VERSION = "v1.31.0-local"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."


@functools.cache
def _definitions() -> dict[str, Any]:
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema" / SCHEMA_VERSION / "_definitions.json"
    return dict(json.loads(root.read_text())["$defs"])


def _convert(node: Any, prefix: str) -> Any:
    if isinstance(node, list):
        return [_convert(n, prefix) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("$ref", "").endswith("intstr.IntOrString"):
        intstr: dict[str, Any] = {"type": "string", "format": "int-or-string"}
        if "description" in node:
            intstr["description"] = node["description"]
        return intstr
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = prefix + value.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            out[key] = types[0] if len(types) == 1 else types
        else:
            out[key] = _convert(value, prefix)
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _closure(names: list[str]) -> list[str]:
    defs, seen, todo = _definitions(), set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        more: set[str] = set()
        _refs(defs[name], more)
        todo += sorted(more - seen)
    return sorted(seen)


def definition_name(group: str, version: str, kind: str) -> str | None:
    for name, schema in _definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            # meta kinds (Status, WatchEvent...) are listed under every group: never theirs
            same = (gvk.get("group", ""), gvk.get("version"), gvk.get("kind")) == (group, version, kind)
            if same and not name.startswith("io.k8s.apimachinery"):
                return name
    return None


def _kinds(group: str, version: str) -> list[tuple[str, str | None]]:
    kinds = [(r.kind, definition_name(group, version, r.kind)) for r in RESOURCES if (r.group, r.version) == (
        group, version)]
    kinds += [(str(e["kind"]), definition_name(group, version, str(e["kind"])))
              for e in REVIEWS.get((group, version), [])]
    return kinds


PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json")
_PARAMS = [
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldValidation", "in": "query", "description": "fieldValidation instructs the server on how to "
     "handle objects in the request containing unknown or duplicate fields (Ignore, Warn, Strict).",
     "schema": {"type": "string", "uniqueItems": True}},
]


def _paths(group: str, version: str, v3: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    for res in RESOURCES:
        if (res.group, res.version) != (group, version):
            continue
        gvk = {"group": group, "version": version, "kind": res.kind}
        ref = {"$ref": prefix + (definition_name(group, version, res.kind) or "")}
        body: dict[str, Any] | None = {"content": {"application/json": {"schema": ref}}} if v3 else None
        ns = "/namespaces/{namespace}" if res.namespaced else ""
        item: dict[str, Any] = {}
        for verb in ("get", "put", "patch", "delete"):
            op: dict[str, Any] = {"operationId": f"{verb}{res.kind}", "x-kubernetes-action": verb,
                                  "x-kubernetes-group-version-kind": gvk, "parameters": list(_PARAMS)}
            if verb == "put" and body:
                op["requestBody"] = body
            if verb == "patch" and v3:
                # kubectl computes a strategic merge patch from the v3 schema only when the path accepts it
                op["requestBody"] = {"content": {t: {"schema": {"$ref": prefix + _META + "Patch"}} for t in PATCH_TYPES}}
            op["responses"] = {"200": {"description": "OK", **(body or {"schema": ref})}}
            item[verb] = op
        paths[f"{base}{ns}/{res.plural}/{{name}}"] = item
        post: dict[str, Any] = {"operationId": f"create{res.kind}", "x-kubernetes-action": "post",
                "x-kubernetes-group-version-kind": gvk, "parameters": list(_PARAMS),
                "responses": {"201": {"description": "Created", **(body or {"schema": ref})}}}
        paths[f"{base}{ns}/{res.plural}"] = {"post": post}
    for entry in REVIEWS.get((group, version), []):
        gvk = {"group": group, "version": version, "kind": str(entry["kind"])}
        paths[f"{base}/{entry['name']}"] = {"post": {"operationId": f"create{entry['kind']}",
                                                     "x-kubernetes-group-version-kind": gvk,
                                                     "parameters": list(_PARAMS), "responses": {}}}
    return paths


@functools.cache
def v3_document(group: str, version: str) -> bytes:
    names = [n for _, n in _kinds(group, version) if n] + [_META + "Status", _META + "DeleteOptions", _META + "Patch"]
    schemas = {n: _convert(_definitions()[n], "#/components/schemas/") for n in _closure(names)}
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.31.2"},
           "paths": _paths(group, version, True), "components": {"schemas": schemas}}
    return json.dumps(doc).encode()


def v3_root() -> Obj:
    paths = {}
    for group, version in group_versions():
        key = f"apis/{group}/{version}" if group else f"api/{version}"
        digest = hashlib.sha512(v3_document(group, version)).hexdigest()[:128]
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest.upper()}"}
    return {"paths": paths}


@functools.cache
def v2_document() -> bytes:
    names: list[str] = []
    paths: dict[str, Any] = {}
    for group, version in group_versions():
        names += [n for _, n in _kinds(group, version) if n]
        paths.update(_paths(group, version, False))
    defs = {n: _convert(_definitions()[n], "#/definitions/") for n in _closure(names + [_META + "Status"])}
    doc = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.31.2"}, "paths": paths,
           "definitions": defs}
    return json.dumps(doc).encode()


def document(path: str, accept: str) -> bytes | None:
    """The OpenAPI document at this path; None when the path is not an OpenAPI path."""
    if path == "/openapi/v3":
        return json.dumps(v3_root()).encode()
    if path.startswith("/openapi/v3/"):
        key = path[len("/openapi/v3/"):]
        for group, version in group_versions():
            if key == (f"apis/{group}/{version}" if group else f"api/{version}"):
                return v3_document(group, version)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if path == "/openapi/v2":
        # Only the JSON form is served: a client asking for protobuf alone gets 406 Not Acceptable.
        if accept and not any(t.split(";")[0].strip() in ("application/json", "*/*") for t in accept.split(",")):
            raise ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json")
        return v2_document()
    return None


# -- strict field validation ----------------------------------------------------------------------

_SERVER_FIELDS = {"status"}


def unknown_fields(res: Resource, obj: Obj) -> list[str]:
    """Paths of fields the kind's schema does not declare (what `fieldValidation=Strict` rejects)."""
    name = definition_name(res.group, res.version, res.kind)
    if name is None:
        return []
    out: list[str] = []
    _walk(obj, _definitions()[name], "", out)
    return out


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _definitions().get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _walk(value: Any, schema: dict[str, Any], path: str, out: list[str]) -> None:
    schema = _resolve(schema)
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is None:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                for key, item in value.items():
                    _walk(item, extra, f"{path}.{key}" if path else key, out)
            return
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key.startswith("$"):  # strategic merge patch directives ($patch, $setElementOrder/...)
                continue
            if key not in props:
                if not (path == "" and key in _SERVER_FIELDS):
                    out.append(where)
                continue
            _walk(item, props[key], where, out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _walk(item, schema["items"], f"{path}[{i}]", out)


def check_strict(res: Resource, obj: Obj, directive: str | None) -> list[str]:
    """Apply the fieldValidation directive: raise 400 for Strict, return warnings for Warn."""
    if not directive or directive == "Ignore":
        return []
    unknown = unknown_fields(res, obj)
    if not unknown:
        return []
    messages = [f'unknown field "{u}"' for u in unknown]
    if directive == "Strict":
        raise ApiError(400, "BadRequest", "strict decoding error: " + ", ".join(messages))
    return messages
