"""CQL quoting and the few statements multidc runs, built so that no name or value can break out."""

from __future__ import annotations

import re
from collections.abc import Mapping

NTS = "NetworkTopologyStrategy"
# Keyspaces that hold the ring's own metadata and must be replicated to every DC (login, repair
# history, traces). system and system_schema are node-local and cannot be altered.
SYSTEM_KEYSPACES = ("system_auth", "system_distributed", "system_traces")


def quote_identifier(name: str) -> str:
    """A double-quoted CQL identifier (case kept; an embedded `"` is doubled)."""
    if not name:
        raise ValueError("a CQL identifier cannot be empty")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A single-quoted CQL string literal (an embedded `'` is doubled)."""
    return "'" + value.replace("'", "''") + "'"


def replication(per_dc: Mapping[str, int]) -> str:
    """`{'class': 'NetworkTopologyStrategy', 'dc1': 3, ...}` in the order given."""
    if not per_dc:
        raise ValueError("NetworkTopologyStrategy needs a replica count for at least one datacenter")
    parts = [f"{quote_literal('class')}: {quote_literal(NTS)}"]
    for dc, rf in per_dc.items():
        if isinstance(rf, bool) or not isinstance(rf, int) or rf < 0:
            raise ValueError(f"replica count for {dc!r} must be a non-negative integer, not {rf!r}")
        parts.append(f"{quote_literal(dc)}: {rf}")
    return "{" + ", ".join(parts) + "}"


def create_keyspace(name: str, per_dc: Mapping[str, int]) -> str:
    return f"CREATE KEYSPACE IF NOT EXISTS {quote_identifier(name)} WITH replication = {replication(per_dc)}"


def alter_keyspace(name: str, per_dc: Mapping[str, int]) -> str:
    return f"ALTER KEYSPACE {quote_identifier(name)} WITH replication = {replication(per_dc)}"


def ensure_keyspace(name: str, per_dc: Mapping[str, int]) -> list[str]:
    """Create when missing, else bring the replication to what the spec says (both are idempotent)."""
    return [create_keyspace(name, per_dc), alter_keyspace(name, per_dc)]


def script(statements: list[str]) -> str:
    """Statements joined for `cqlsh -e`, each ending with `;`."""
    return "".join(s.rstrip().rstrip(";") + "; " for s in statements).rstrip()


def shell_double_quoted(text: str) -> str:
    """`text` inside a POSIX sh double-quoted word: `\\`, `"`, `$` and backquote are escaped."""
    for ch in ("\\", '"', "$", "`"):
        text = text.replace(ch, "\\" + ch)
    return '"' + text + '"'


def parse_replication_rows(cqlsh_output: str) -> dict[str, dict[str, str]]:
    """`SELECT keyspace_name, replication FROM system_schema.keyspaces` as cqlsh prints it -> name: map.

    cqlsh prints a map as `{'class': '...NetworkTopologyStrategy', 'dc1': '3'}`; rows it cannot read
    are skipped (the caller then treats the keyspace as different and alters it).
    """
    out: dict[str, dict[str, str]] = {}
    for line in cqlsh_output.splitlines():
        name, bar, rest = line.partition("|")
        rest = rest.strip()
        if not bar or not rest.startswith("{") or not rest.endswith("}"):
            continue
        pairs = re.findall(r"'((?:[^']|'')*)'\s*:\s*'((?:[^']|'')*)'", rest)
        out[name.strip()] = {k.replace("''", "'"): v.replace("''", "'") for k, v in pairs}
    return out


def replication_matches(current: Mapping[str, str] | None, per_dc: Mapping[str, int]) -> bool:
    """Whether a keyspace's replication (as system_schema shows it) is NTS with exactly these counts."""
    if not current or not current.get("class", "").endswith(NTS):
        return False
    return {k: v for k, v in current.items() if k != "class"} == {dc: str(rf) for dc, rf in per_dc.items()}


def repair_cover(nodes: Mapping[str, int], rf: Mapping[str, int]) -> tuple[str, int]:
    """(DC, how many of its first nodes) whose full repairs of a keyspace reach every replica of it.

    A full `nodetool repair <ks>` on a node brings every replica of that node's ranges, in every DC,
    to the merged data; the nodes of one DC together hold every range, and a single node does where
    the DC's replica count reaches its node count. So: the DC that needs the fewest repairs.
    """

    def cost(dc: str) -> int:
        return 1 if rf[dc] >= nodes[dc] else nodes[dc]

    dc = min(nodes, key=cost)
    return dc, cost(dc)
