"""Native-protocol clients connected to a node (an application's driver) and `nodetool clientstats`."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.ring.cluster import ExecResult, RingSim
    from sandbox.ring.node import Node

UNDEFINED = "undefined"  # ConnectedClient.UNDEFINED: what a missing user, driver or TLS field prints
COLUMNS = ["Address", "SSL", "Cipher", "Protocol", "Version", "User", "Keyspace", "Requests", "Driver-Name",
           "Driver-Version"]


def connection(ip: str, port: int, user: str = "anonymous", keyspace: str = "", driver: str = "",
               driver_version: str = "", requests: int = 0) -> dict[str, Any]:
    """A connection as ConnectedClient.asMap holds it (no TLS, protocol v5); AllowAllAuthenticator's user is
    AuthenticatedUser.ANONYMOUS_USER, "anonymous"."""
    return {"address": f"/{ip}:{port}", "user": user, "version": "5", "keyspace": keyspace,
            "requests": str(requests), "driverName": driver or UNDEFINED,
            "driverVersion": driver_version or UNDEFINED, "ssl": "false", "cipher": UNDEFINED,
            "protocol": UNDEFINED}


def connect(sim: RingSim, node_id: str, ip: str, port: int, **fields: Any) -> None:
    """An application's driver connects to the node (a test's or a scenario's client; see `connection`)."""
    sim.nodes[node_id].clients.append(connection(ip, port, **fields))


def disconnect(sim: RingSim, node_id: str) -> None:
    """Every client of the node closes its connection (the application moved to another DC)."""
    sim.nodes[node_id].clients = []


def _table(rows: list[list[str]]) -> str:
    """TableBuilder.printTo: each column padded to its widest cell, joined by one space."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join(" ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + "\n" for r in rows)


def clientstats(node: Node, params: list[str]) -> ExecResult:
    """`nodetool clientstats [--all]` as ClientStats.java prints it (4.0+)."""
    from sandbox.ring.cluster import ExecResult

    out = ""
    if "--all" in params and node.clients:
        keys = ["address", "ssl", "cipher", "protocol", "version", "user", "keyspace", "requests", "driverName",
                "driverVersion"]
        out += _table([COLUMNS] + [[c[k] for k in keys] for c in node.clients]) + "\n"
    # ClientMetrics.connectedNativeClientsByUser counts authenticated connections by user name.
    by_user = Counter(c["user"] for c in node.clients if c["user"] != UNDEFINED)
    out += f"Total connected clients: {sum(by_user.values())}\n\n"
    out += _table([["User", "Connections"]] + [[u, str(n)] for u, n in by_user.items()])
    return ExecResult(0, out, "")
