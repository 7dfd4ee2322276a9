"""PasswordAuthenticator and CassandraRoleManager behaviour: role rows live in system_auth.roles."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import TYPE_CHECKING, Any

from sandbox.ring.node import Node

if TYPE_CHECKING:
    from sandbox.ring.cluster import RingSim


def hash_password(password: str, salt: str | None = None) -> str:
    # Stands in for bcrypt: the dump never holds a clear-text password.
    salt = salt or secrets.token_hex(8)
    return f"$sandbox$${salt}$" + hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def check_password(password: str, salted_hash: str | None) -> bool:
    if not salted_hash or not salted_hash.startswith("$sandbox$$"):
        return False
    salt = salted_hash.split("$")[3]
    return secrets.compare_digest(hash_password(password, salt), salted_hash)


def default_role_cells() -> dict[str, Any]:
    return {
        "role": "cassandra",
        "can_login": True,
        "is_superuser": True,
        "member_of": None,
        "salted_hash": hash_password("cassandra"),
    }


# CassandraRoleManager.setup schedules setupDefaultRole after `cassandra.superuser_setup_delay_ms`.
SUPERUSER_SETUP_DELAY_S = 10.0


def role_level(role: str, write: bool, version: str) -> str:
    """CassandraRoleManager.consistencyForRoleRead/Write: the default superuser at QUORUM; other roles at
    auth_read_consistency_level (LOCAL_QUORUM) and auth_write_consistency_level (EACH_QUORUM) since 4.1,
    LOCAL_ONE in 4.0."""
    if role == "cassandra":
        return "QUORUM"
    if version == "4.0":
        return "LOCAL_ONE"
    return "EACH_QUORUM" if write else "LOCAL_QUORUM"


def read_role(sim: RingSim, node: Node, role: str) -> dict[str, Any] | None:
    """The role's row as seen from this node; raises Unavailable like the role manager would."""
    ring = sim.rings[node.ring_id or ""]
    coord = sim.coordinator(node)
    level = role_level(role, False, node.config.version)
    return coord.read("system_auth", ring.keyspaces["system_auth"], "roles", json.dumps(role), level)


class AuthFailed(Exception):
    """The server's [Bad credentials] text (cqlsh wraps it in a Connection error)."""


def authenticate(sim: RingSim, node: Node, user: str | None, password: str | None) -> bool:
    """Log in on `node`; returns whether the role is a superuser. Raises AuthFailed."""
    from sandbox.ring.consistency import Unavailable

    if user is None:
        raise AuthFailed("Remote end requires authentication")
    try:
        row = read_role(sim, node, user)
    except Unavailable as e:
        raise AuthFailed(
            f"Unable to perform authentication: Cannot achieve consistency level {e.level}"
        ) from e
    if row is None or not check_password(password or "", row.get("salted_hash")):
        raise AuthFailed(f"Provided username {user} and/or password are incorrect")
    if not row.get("can_login"):
        raise AuthFailed(f"{user} is not permitted to log in")
    return bool(row.get("is_superuser"))
