"""Parse `nodetool clientstats --all` (Cassandra 4.0+): the native-protocol clients connected to a node."""

from __future__ import annotations

import re
from dataclasses import dataclass

# ClientStats.java prints the --all table with TableBuilder: each column padded to its widest cell and
# joined by one space, so a column's cells start where its header does (a driver's name has spaces).
_HEADER = re.compile(r"^Address\s+SSL\s+Cipher\s+Protocol\s+Version\s+User\s+Keyspace\s+Requests\s+Driver-Name")
_TOTAL = re.compile(r"^Total connected clients:\s*(?P<n>[0-9]+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Client:
    """One connection, as ConnectedClient.asMap gives it."""

    address: str  # "/10.2.0.40:52344" as InetSocketAddress prints it
    user: str
    keyspace: str
    requests: str
    driver: str  # Driver-Name and Driver-Version, "undefined" when the driver sent none

    @property
    def ip(self) -> str:
        host = self.address.lstrip("/").rsplit(":", 1)[0]
        return host.split("/")[-1].strip("[]")  # "name/1.2.3.4:port" when the address has a host name

    def describe(self) -> str:
        ks = f", keyspace {self.keyspace}" if self.keyspace else ""
        return f"{self.ip} (user {self.user}{ks}, {self.driver}, {self.requests} requests)"


def parse_clientstats(text: str) -> list[Client]:
    """The connections listed by `nodetool clientstats --all`; ValueError naming what is wrong otherwise.

    The table is absent when nothing is connected; the "Total connected clients" line is always there.
    """
    if _TOTAL.search(text or "") is None:
        snippet = (text or "").strip().splitlines()[0][:120] if (text or "").strip() else ""
        raise ValueError(f"not nodetool clientstats output: no 'Total connected clients' line (starts with {snippet!r})")
    lines = text.splitlines()
    head = next((i for i, line in enumerate(lines) if _HEADER.match(line)), None)
    if head is None:
        return []
    header = lines[head]
    names = header.split()
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    clients: list[Client] = []
    for line in lines[head + 1:]:
        if not line.strip():
            break
        cells = {name: line[s:e].strip() for name, s, e in
                 zip(names, starts, [*starts[1:], len(line) + 1], strict=True)}
        clients.append(Client(cells["Address"], cells["User"], cells["Keyspace"], cells["Requests"],
                              f"{cells.get('Driver-Name', 'undefined')} {cells.get('Driver-Version', '')}".strip()))
    return clients
