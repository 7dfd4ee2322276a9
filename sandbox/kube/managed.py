"""Field ownership (metadata.managedFields) and server-side apply's conflicts and removals.

As kube-apiserver's fieldmanager (k8s.io/apiserver pkg/endpoints/handlers/fieldmanager, structured-merge-diff):
- every write records which fields its manager set: `fieldManager` query parameter, else the client's
  User-Agent up to the first "/"; operation `Apply` for `application/apply-patch+yaml`, else `Update`;
  fields in FieldsV1 form (`f:<name>`, list items of keyed lists as `k:{"name":"x"}` with a `.` entry);
- an apply that changes a field another manager owns to a different value fails with 409 Conflict
  `Apply failed with N conflict(s): conflict with "<manager>": .spec.replicas` unless `force=true`,
  which takes the field over;
- a field the applier owned before and no longer applies is removed, unless another manager owns it.
https://kubernetes.io/docs/reference/using-api/server-side-apply/
"""

from __future__ import annotations

import copy
import json
from typing import Any

from sandbox.kube.patch import merge_key_of
from sandbox.kube.store import ApiError, Obj, timestamp

Path = tuple[str, ...]
# Identity and server-owned metadata are nobody's fields.
SERVER_FIELDS = {"name", "namespace", "resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"}


def _paths(value: Any, prefix: Path, field: str = "") -> set[Path]:
    """Leaf paths of a value; keyed list items become `k:{...}` steps."""
    if isinstance(value, dict) and value:
        out: set[Path] = set()
        for key, item in value.items():
            if not prefix and key in ("kind", "apiVersion", "status"):
                continue
            if prefix == ("f:metadata",) and key in SERVER_FIELDS:
                continue
            out |= _paths(item, (*prefix, f"f:{key}"), key)
        return out
    if isinstance(value, list) and value:
        mkey = merge_key_of(field, value)
        if mkey is not None:
            out = set()
            for item in value:
                step = (*prefix, "k:" + json.dumps({mkey: item[mkey]}, separators=(",", ":")))
                out |= {step + (".",)} | _paths({k: v for k, v in item.items() if k != mkey}, step)
            return out
    return {prefix}


def to_fields(paths: set[Path]) -> Obj:
    root: Obj = {}
    for path in paths:
        node = root
        for step in path:
            node = node.setdefault(step, {})
    return root


def from_fields(fields: Obj, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for step, sub in fields.items():
        if sub:
            out |= from_fields(sub, (*prefix, step))
        else:
            out.add((*prefix, step))
    return out


def _child(value: Any, step: str) -> tuple[bool, Any]:
    if step.startswith("f:") and isinstance(value, dict):
        return (step[2:] in value, value.get(step[2:]))
    if step.startswith("k:") and isinstance(value, list):
        want = json.loads(step[2:])
        for item in value:
            if isinstance(item, dict) and all(item.get(k) == v for k, v in want.items()):
                return True, item
    return False, None


def value_at(obj: Any, path: Path) -> tuple[bool, Any]:
    for step in path:
        if step == ".":
            return True, obj
        found, obj = _child(obj, step)
        if not found:
            return False, None
    return True, obj


def remove(obj: Any, path: Path) -> None:
    if path and path[-1] == ".":
        path = path[:-1]
    found, parent = value_at(obj, path[:-1])
    if not found:
        return
    step = path[-1]
    if step.startswith("f:") and isinstance(parent, dict):
        parent.pop(step[2:], None)
    elif step.startswith("k:") and isinstance(parent, list):
        _, item = _child(parent, step)
        if item is not None:
            parent.remove(item)


def _render(path: Path) -> str:
    return "".join(f".{s[2:]}" if s.startswith("f:") else f"[{s[2:]}]" for s in path if s != ".")


def manager_of(query: Any, user_agent: str) -> str:
    return str(query.get("fieldManager") or user_agent.split("/", 1)[0] or "unknown")


def record(new: Obj, old: Obj | None, manager: str, operation: str, now: float,
           applied: Obj | None = None, force: bool = False) -> Obj:
    """The object to store: managedFields updated for this write, apply conflicts and removals done."""
    entries = [e for e in (old or {}).get("metadata", {}).get("managedFields") or []
               if isinstance(e, dict)]
    mine = [e for e in entries if e.get("manager") == manager and e.get("operation") == operation]
    others = [e for e in entries if e not in mine]
    if operation == "Apply" and applied is not None:
        owned = _paths(applied, ())
        conflicts: list[tuple[str, Path]] = []
        if old is not None:
            for entry in others:
                theirs = from_fields(entry.get("fieldsV1") or {})
                for path in sorted(owned & theirs):
                    if path[-1] != "." and value_at(applied, path) != value_at(old, path):
                        conflicts.append((entry["manager"], path))
            if conflicts and not force:
                detail = "; ".join(f'conflict with "{m}": {_render(p)}' for m, p in conflicts)
                raise ApiError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict"
                               f"{'s' if len(conflicts) > 1 else ''}: {detail}",
                               {"causes": [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}"',
                                            "field": _render(p)} for m, p in conflicts]})
            held = set().union(*(from_fields(e.get("fieldsV1") or {}) for e in others)) if others else set()
            before = set().union(*(from_fields(e.get("fieldsV1") or {}) for e in mine)) if mine else set()
            for path in sorted(before - owned - held, key=len, reverse=True):
                remove(new, path)
        # Agreeing appliers share a field; a forced apply takes the conflicting ones over.
        taken = {p for _, p in conflicts} if old is not None else set()
    else:
        taken = {p for p in _paths(new, ()) if value_at(new, p) != value_at(old or {}, p)}
        kept = from_fields(mine[0].get("fieldsV1") or {}) if mine else set()
        owned = taken | {p for p in kept if value_at(new, p)[0]}
    # Fields this write set (forced, agreeing or updated) leave their former owners.
    for entry in others:
        entry["fieldsV1"] = to_fields(from_fields(entry.get("fieldsV1") or {}) - taken)
    others = [e for e in others if e["fieldsV1"]]
    if not owned:
        result = others
    else:
        entry = {"manager": manager, "operation": operation, "apiVersion": new.get("apiVersion", ""),
                 "time": timestamp(now), "fieldsType": "FieldsV1", "fieldsV1": to_fields(owned)}
        if mine and from_fields(mine[0].get("fieldsV1") or {}) == owned:
            entry["time"] = mine[0].get("time", entry["time"])  # nothing new owned: keep the entry as it was
        result = [*others, entry]
    out = copy.deepcopy(new)
    out["metadata"]["managedFields"] = result
    return out
