"""JSON merge patch (RFC 7386), strategic merge patch for the fields multidc uses, and JSON patch (RFC 6902)."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.kube.store import ApiError

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# List fields Kubernetes merges item by item (patchMergeKey in the API types); every other list is replaced.
_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "imagePullSecrets": ("name",),
    "volumeMounts": ("mountPath",),
    "ports": ("containerPort", "port"),
    "conditions": ("type",),
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(field: str, items: list[Any]) -> str | None:
    for candidate in _MERGE_KEYS.get(field, ()):
        if items and all(isinstance(i, dict) and candidate in i for i in items):
            return candidate
    return None


merge_key_of = _merge_key


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Merge patch, except that lists of named objects merge by their merge key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        # Directives such as $setElementOrder and $retainKeys only steer ordering; we ignore them.
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        old = result.get(key)
        if isinstance(value, list) and isinstance(old, list):
            mkey = _merge_key(key, value + old)
            if mkey is not None:
                result[key] = _merge_lists(old, value, mkey)
                continue
        result[key] = strategic_merge_patch(old, value) if isinstance(value, dict) else copy.deepcopy(value)
    return result


def _merge_lists(old: list[Any], patch: list[Any], mkey: str) -> list[Any]:
    merged = copy.deepcopy(old)
    index = {item[mkey]: i for i, item in enumerate(merged)}
    for item in patch:
        if item.get("$patch") == "delete":
            merged = [m for m in merged if m[mkey] != item[mkey]]
            index = {m[mkey]: i for i, m in enumerate(merged)}
        elif item[mkey] in index:
            pos = index[item[mkey]]
            merged[pos] = strategic_merge_patch(merged[pos], item)
        else:
            index[item[mkey]] = len(merged)
            merged.append(strategic_merge_patch({}, item))
    return merged


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        return parent.pop(int(last))
    return parent.pop(last)


def json_patch(target: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 operations: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(target)
    try:
        for op in ops:
            kind, parts = op["op"], _pointer(op["path"])
            if kind == "add":
                doc = _add(doc, parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                _remove(doc, parts)
            elif kind == "replace":
                _walk(doc, parts)  # the target must exist
                if parts:
                    _remove(doc, parts)
                doc = _add(doc, parts, copy.deepcopy(op["value"]))
            elif kind in ("move", "copy"):
                src = _pointer(op["from"])
                value = _remove(doc, src) if kind == "move" else copy.deepcopy(_walk(doc, src))
                doc = _add(doc, parts, value)
            elif kind == "test":
                if _walk(doc, parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"test operation failed at {op['path']}")
            else:
                raise ApiError(422, "Invalid", f"unknown JSON patch op {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, "Invalid", f"the JSON patch could not be applied: {exc!r}") from exc
    return doc


def apply_patch(content_type: str, target: Any, body: Any) -> Any:
    """Apply a PATCH body of the given content type to the stored object."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == JSON_PATCH:
        if not isinstance(body, list):
            raise ApiError(400, "BadRequest", "a JSON patch must be a list of operations")
        return json_patch(target, body)
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "the patch body must be a JSON object")
    if ctype == MERGE_PATCH:
        return merge_patch(target, body)
    if ctype in (STRATEGIC_PATCH, APPLY_PATCH):
        # Server-side apply is approximated by a strategic merge of the applied configuration.
        return strategic_merge_patch(target, body)
    raise ApiError(415, "UnsupportedMediaType", f"the media type {content_type!r} is not supported")
