"""CQL literals to stored values (with the server's type errors) and stored values to cqlsh text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sandbox.ring.cql_parse import Func, Lit

TEXT = {"text", "varchar", "ascii", "inet"}
INTS = {"int", "bigint", "smallint", "tinyint", "varint", "counter"}
FLOATS = {"double", "float", "decimal"}
SCALARS = TEXT | INTS | FLOATS | {"uuid", "timeuuid", "timestamp", "boolean", "date"}


class ValueError_(Exception):  # noqa: N801 - trailing underscore avoids shadowing the builtin
    """An invalid value; the message is the server's InvalidRequest text."""


def known_type(t: str) -> bool:
    if "<" in t:
        return t.split("<", 1)[0] in ("set", "list", "map", "frozen")
    return t in SCALARS


_KIND_NAMES = {"str": "STRING", "num": "INTEGER", "uuid": "UUID", "bool": "BOOLEAN", "map": "MAP"}


def _func(f: Func, now: float) -> tuple[str, Any]:
    """Evaluate the few CQL functions the subset allows: now(), uuid(), toTimestamp(now()), ..."""
    if f.name in ("now", "uuid") and not f.args:
        return ("uuid", str(uuid.uuid1() if f.name == "now" else uuid.uuid4()))
    if f.name in ("currenttimestamp", "totimestamp") and (
        not f.args or (isinstance(f.args[0], Func) and f.args[0].name == "now")
    ):
        return ("timestamp", int(now * 1000))
    raise ValueError_(f"Unknown function {f.name}")


def coerce(term: Any, ctype: str, col: str, now: float) -> Any:
    """Check a literal against the column type; returns the JSON-able value stored in a cell."""
    if isinstance(term, Func):
        kind, value = _func(term, now)
        if kind == "uuid" and ctype in ("uuid", "timeuuid"):
            return value
        if kind == "timestamp" and ctype == "timestamp":
            return value
        raise ValueError_(f"Type error: cannot assign result of function {term.name} (type {kind}) to {col} (type {ctype})")
    assert isinstance(term, Lit)
    if term.kind == "null":
        return None
    bad = ValueError_(f'Invalid {_KIND_NAMES.get(term.kind, term.kind.upper())} constant ({term.value}) for "{col}" of type {ctype}')
    if ctype in TEXT:
        if term.kind != "str":
            raise bad
        return term.value
    if ctype in INTS:
        if term.kind != "num" or not term.value.lstrip("-").isdigit():
            raise bad
        return int(term.value)
    if ctype in FLOATS:
        if term.kind != "num":
            raise bad
        return float(term.value)
    if ctype == "boolean":
        if term.kind != "bool":
            raise bad
        return term.value
    if ctype in ("uuid", "timeuuid"):
        if term.kind != "uuid":
            raise bad
        return term.value.lower()
    if ctype == "timestamp":
        if term.kind == "num" and term.value.lstrip("-").isdigit():
            return int(term.value)
        if term.kind == "str":
            try:
                parsed = datetime.fromisoformat(term.value.replace("Z", "+00:00"))
            except ValueError as e:
                raise ValueError_(f"Unable to parse a date/time from '{term.value}'") from e
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return int(parsed.timestamp() * 1000)
        raise bad
    if term.kind == "map":
        return {k: v.value for k, v in term.value.items()}
    if term.kind == "str":
        return term.value
    raise bad


def fmt(value: Any, ctype: str) -> str:
    """A value as cqlsh prints it in a result table."""
    if value is None:
        return "null"
    if ctype == "boolean":
        return "True" if value else "False"
    if ctype == "timestamp":
        dt = datetime.fromtimestamp(value / 1000, tz=UTC)
        return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond:06d}+0000"
    if ctype == "double":
        return f"{value:.12g}"
    if ctype == "float":
        return f"{value:.5g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"'{k}': '{v}'" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(f"'{v}'" for v in value) + "}"
    return str(value)


def result_table(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> str:
    """cqlsh's tabular output: left-justified header, right-justified values, then (N rows)."""
    names = [c for c, _ in columns]
    cells = [[fmt(r.get(c), t) for c, t in columns] for r in rows]
    widths = [max([len(n)] + [len(row[i]) for row in cells]) for i, n in enumerate(names)]
    lines = ["", " " + " | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    lines.append("-" + "-+-".join("-" * w for w in widths) + "-")
    lines += [" " + " | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    lines += ["", f"({len(rows)} rows)", ""]
    return "\n".join(lines)
