"""What differs between the body multidc would PUT and what ARM returns, ignoring what ARM adds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Fields ARM accepts on PUT but never returns on GET: comparing them would force a write every run.
WRITE_ONLY = frozenset({"sharedKey"})


def _norm(path: str, value: Any) -> Any:
    # ARM echoes ids and locations in its own casing ("East US", resourceGroups/RG).
    if isinstance(value, str) and (value.startswith("/subscriptions/") or path.endswith("location")):
        return value.replace(" ", "").lower()
    return value


def differences(desired: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where `actual` does not hold what `desired` sets; fields ARM adds are ignored."""
    if isinstance(desired, Mapping):
        if not isinstance(actual, Mapping):
            return [path or "."]
        lower = {str(k).lower(): v for k, v in actual.items()}
        out: list[str] = []
        for key, want in desired.items():
            if key in WRITE_ONLY:
                continue
            out += differences(want, lower.get(str(key).lower()), f"{path}.{key}" if path else key)
        return out
    if isinstance(desired, list):
        if not isinstance(actual, list):
            return [path]
        if all(isinstance(d, Mapping) and "name" in d for d in desired):
            by_name = {a.get("name"): a for a in actual if isinstance(a, Mapping)}
            out = []
            for d in desired:
                out += differences(d, by_name.get(d["name"]), f"{path}[{d['name']}]")
            return out
        if all(not isinstance(d, Mapping | list) for d in desired):
            # Address prefixes and zones are sets to ARM; order is not a difference.
            want = sorted(str(_norm(path, d)) for d in desired)
            have = sorted(str(_norm(path, a)) for a in actual)
            return [] if want == have else [path]
        if len(desired) != len(actual):
            return [path]
        return [
            p
            for i, (d, a) in enumerate(zip(desired, actual, strict=True))
            for p in differences(d, a, f"{path}[{i}]")
        ]
    return [] if _norm(path, desired) == _norm(path, actual) else [path]
