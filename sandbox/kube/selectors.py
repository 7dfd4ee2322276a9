"""Label selectors (equality and set based) and field selectors over dotted paths."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.kube.store import ApiError, Obj

Predicate = Callable[[Obj], bool]

_SET_EXPR = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside a set expression's parentheses."""
    terms, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def _label_term(term: str) -> Predicate:
    m = _SET_EXPR.match(term)
    if m:
        key, op, raw = m.groups()
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in term:
            key, value = (p.strip() for p in term.split(op, 1))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if re.fullmatch(r"[\w./-]+", term):
        return lambda labels: term in labels
    raise ApiError(400, "BadRequest", f"unable to parse requirement: {term!r}")


def label_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda obj: True
    preds = [_label_term(t) for t in _split_terms(selector)]
    return lambda obj: all(p(obj.get("metadata", {}).get("labels") or {}) for p in preds)


def _lookup(obj: Obj, path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def field_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda obj: True
    preds: list[Predicate] = []
    for term in _split_terms(selector):
        negate = "!=" in term
        op = "!=" if negate else ("==" if "==" in term else "=")
        if op not in term:
            raise ApiError(400, "BadRequest", f"invalid field selector: {term!r}")
        path, value = (p.strip() for p in term.split(op, 1))

        def pred(obj: Obj, path: str = path, value: str = value, negate: bool = negate) -> bool:
            found = _lookup(obj, path)
            text = "" if found is None else str(found)
            return (text != value) if negate else (text == value)

        preds.append(pred)
    return lambda obj: all(p(obj) for p in preds)


def match_labels(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """A LabelSelector object (matchLabels + matchExpressions) against a label map."""
    if not selector:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
        ok = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(op, False)
        if not ok:
            return False
    return True
