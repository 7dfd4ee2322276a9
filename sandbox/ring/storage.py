"""Replica-side storage of one partition: cells with write timestamps, TTLs and tombstones.

A partition is plain JSON: {"m": [ts, expires] | None (row marker of INSERT), "c": {column: [value,
ts, expires]}, "d": deletion ts | None}. Replicas may hold different versions; reads merge them
cell by cell, newest timestamp wins, as Cassandra does.
"""

from __future__ import annotations

from typing import Any

Partition = dict[str, Any]


def empty() -> Partition:
    return {"m": None, "c": {}, "d": None}


def _newer(a: list[Any] | None, b: list[Any] | None) -> list[Any] | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if b[-2] > a[-2] else a  # timestamp is the second-to-last item in both shapes


def merge(a: Partition | None, b: Partition | None) -> Partition | None:
    if a is None:
        return b
    if b is None:
        return a
    cols = set(a["c"]) | set(b["c"])
    deleted = max((x for x in (a["d"], b["d"]) if x is not None), default=None)
    return {
        "m": _newer(a["m"], b["m"]),
        "c": {col: _newer(a["c"].get(col), b["c"].get(col)) for col in cols},
        "d": deleted,
    }


def write(part: Partition | None, cells: dict[str, Any], ts: int, expires: float | None) -> Partition:
    """Apply an INSERT (row marker + cells) at timestamp ts."""
    update: Partition = {"m": [ts, expires], "c": {k: [v, ts, expires] for k, v in cells.items()}, "d": None}
    merged = merge(part, update)
    assert merged is not None
    return merged


def delete(part: Partition | None, ts: int) -> Partition:
    merged = merge(part, {"m": None, "c": {}, "d": ts})
    assert merged is not None
    return merged


def newest(part: Partition) -> int:
    """The newest timestamp in the partition (marker, cells, deletion): what a repair mark covers."""
    stamps = [c[-2] for c in part["c"].values()] + ([part["m"][0]] if part["m"] else []) + [part["d"] or 0]
    return max(stamps)


def _alive(ts: int, expires: float | None, deleted: int | None, now: float) -> bool:
    if deleted is not None and ts <= deleted:
        return False
    return expires is None or expires > now


def visible(part: Partition | None, now: float) -> dict[str, Any] | None:
    """The row a client sees, or None when it is deleted, expired or never written."""
    if part is None:
        return None
    d = part["d"]
    row = {col: cell[0] for col, cell in part["c"].items() if _alive(cell[1], cell[2], d, now)}
    marker = part["m"]
    has_marker = marker is not None and _alive(marker[0], marker[1], d, now)
    if not has_marker and all(v is None for v in row.values()):
        return None
    return row

