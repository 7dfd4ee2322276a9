"""Parse `nodetool status` output (real Cassandra 3.x-5.x format) into structured rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "?" when the node is neither live nor unreachable in the caller's gossip (Status.java).
STATUS_CODES = {"U", "D", "?"}
STATE_CODES = {"N", "L", "J", "M"}

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_LOAD = r"(?P<load>\?|[0-9][0-9.,]*\s*(?:bytes|B|KB|KiB|MB|MiB|GB|GiB|TB|TiB))"
_OWNS = r"(?P<owns>\?|[0-9][0-9.,]*%)"
_HOST_ID = rf"(?P<host_id>{_UUID}|\?|null)"
# One node row: status+state, address, load (a number and a unit, or "?"), then the layout's columns.
# Written against the token stream rather than columns because the blog's copy of the output has
# lost its line breaks and column padding; the same pattern then works for both shapes.
_HEAD = r"(?P<ss>[UD?][NLJM])\s+(?P<address>[0-9A-Za-z.:\[\]_-]+)\s+" + _LOAD + r"\s+"
# Status.java prints a Tokens column (vnodes) unless the ring has no more tokens than DCs; then it
# prints each node's first token after the Host ID instead ("Token" column).
_ROW_VNODES = re.compile(_HEAD + r"(?P<tokens>[0-9]+)\s+" + _OWNS + r"\s+" + _HOST_ID + r"\s+(?P<rack>\S+)")
_ROW_PER_TOKEN = re.compile(_HEAD + _OWNS + r"\s+" + _HOST_ID + r"\s+(?P<token>-?[0-9]+)\s+(?P<rack>\S+)")
_DC = re.compile(r"Datacenter:\s*(?P<dc>\S+)")
# "Owns (effective)" with a keyspace's effective ownership, plain "Owns" (values "?") after a Note.
_LEGEND = (
    r"={3,}\s*Status=Up/Down\s*\|/\s*State=Normal/Leaving/Joining/Moving\s*"
    r"--\s+Address\s+Load\s+(?P<vnodes>Tokens\s+)?Owns(?:\s*\(effective\))?\s+Host ID\s+"
    r"(?P<per_token>Token\s+)?Rack"
)


@dataclass(frozen=True)
class NodeStatus:
    """One row of `nodetool status`: a node as the calling node sees it."""

    dc: str
    status: str  # "U" up, "D" down, "?" neither live nor unreachable in the caller's gossip
    state: str  # "N" normal, "L" leaving, "J" joining, "M" moving
    address: str
    load: str  # as printed, e.g. "69.89 KiB", or "?"
    tokens: int | None  # None in the per-token layout, which prints no count
    owns: float | None  # percent; None when nodetool prints "?"
    host_id: str
    rack: str
    token: str | None = None  # the node's first token, printed only in the per-token layout

    @property
    def code(self) -> str:
        """The two-letter code nodetool prints, e.g. "UN"."""
        return self.status + self.state


def parse_status(text: str) -> list[NodeStatus]:
    """Parse the whole output of `nodetool status [keyspace]`.

    Accepts the normal multi-line output and the one-line flattened copy (line breaks lost).
    Raises ValueError naming what is wrong when the text is not `nodetool status` output.
    """
    if not text or not text.strip():
        raise ValueError("nodetool status output is empty")
    headers = list(_DC.finditer(text))
    if not headers:
        snippet = text.strip().splitlines()[0][:120]
        raise ValueError(f"not nodetool status output: no 'Datacenter:' header (starts with {snippet!r})")
    nodes: list[NodeStatus] = []
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        dc = header.group("dc")
        section = text[header.end() : end]
        legend = re.match(r"\s*" + _LEGEND, section)
        if legend is None or (legend.group("vnodes") is None) == (legend.group("per_token") is None):
            raise ValueError(f"datacenter {dc!r}: missing the Status/State legend and column header line")
        row = _ROW_VNODES if legend.group("vnodes") else _ROW_PER_TOKEN
        nodes.extend(_parse_rows(dc, section[legend.end() :], row))
    return nodes


def _parse_rows(dc: str, body: str, row: re.Pattern[str]) -> list[NodeStatus]:
    rows: list[NodeStatus] = []
    pos = 0
    while True:
        rest = body[pos:]
        stripped = rest.lstrip()
        m = row.match(stripped)
        if not stripped or m is None:
            # Anything after the rows must be the optional trailing note, never a half-parsed row.
            if stripped and not stripped.startswith("Note:") and re.match(r"[UD?][NLJM?]\s", stripped):
                raise ValueError(f"datacenter {dc!r}: malformed node row: {stripped.splitlines()[0][:120]!r}")
            if stripped and not stripped.startswith("Note:"):
                raise ValueError(f"datacenter {dc!r}: unexpected text: {stripped.splitlines()[0][:120]!r}")
            break
        owns = m.group("owns")
        rows.append(
            NodeStatus(
                dc=dc,
                status=m.group("ss")[0],
                state=m.group("ss")[1],
                address=m.group("address"),
                load=" ".join(m.group("load").split()),
                tokens=int(m.group("tokens")) if "tokens" in row.groupindex else None,
                owns=None if owns == "?" else float(owns.rstrip("%").replace(",", ".")),
                host_id=m.group("host_id"),
                rack=m.group("rack"),
                token=m.group("token") if "token" in row.groupindex else None,
            )
        )
        pos += len(rest) - len(stripped) + m.end()
    if not rows:
        raise ValueError(f"datacenter {dc!r}: no node rows")
    return rows
