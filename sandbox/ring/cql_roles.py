"""CREATE / ALTER / DROP ROLE for a cqlsh session, stored as rows of system_auth.roles."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.ring import storage
from sandbox.ring.auth import hash_password, read_role, role_level
from sandbox.ring.cql_errors import CqlError, invalid, unauthorized
from sandbox.ring.cql_parse import Lit, Stmt
from sandbox.ring.node import Node

if TYPE_CHECKING:
    from sandbox.ring.cluster import RingSim

ROLE_OPTIONS = {"password": "str", "superuser": "bool", "login": "bool"}


class RoleOps:
    """Mixed into Session (cql_exec.py), which provides these attributes."""

    sim: RingSim
    node: Node
    user: str | None
    superuser: bool

    def _options(self, st: Stmt) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, term in st.options.items():
            kind = ROLE_OPTIONS.get(name)
            if kind is None:
                raise CqlError("SyntaxException", f"line 1:0 no viable alternative at input '{name}'")
            if not isinstance(term, Lit) or term.kind != kind:
                raise invalid(f"Invalid value for role option {name.upper()}")
            out[name] = term.value
        return out

    def _write_role(self, role: str, cells: dict[str, Any] | None) -> None:
        ring = self.sim.rings[self.node.ring_id or ""]
        ts = self.sim.next_ts(ring)
        coord = self.sim.coordinator(self.node)

        def apply(p: storage.Partition | None) -> storage.Partition:
            return storage.delete(p, ts) if cells is None else storage.write(p, cells, ts, None)

        coord.write("system_auth", ring.keyspaces["system_auth"], "roles", json.dumps(role), apply,
                    role_level(role, True, self.node.config.version))

    def _create_role(self, st: Stmt) -> str:
        role = st.name or ""
        opts = self._options(st)
        if opts.get("superuser") and not self.superuser:
            raise unauthorized("Only superusers can create a role with superuser status")
        if read_role(self.sim, self.node, role) is not None:
            if st.if_flag:
                return ""
            raise invalid(f"{role} already exists")
        cells: dict[str, Any] = {
            "role": role,
            "can_login": bool(opts.get("login", False)),
            "is_superuser": bool(opts.get("superuser", False)),
            "member_of": None,
            "salted_hash": hash_password(opts["password"]) if "password" in opts else None,
        }
        self._write_role(role, cells)
        return ""

    def _alter_role(self, st: Stmt) -> str:
        role = st.name or ""
        opts = self._options(st)
        if "superuser" in opts:
            if not self.superuser:
                raise unauthorized("Only superusers are allowed to alter superuser status")
            if self.user == role:
                raise unauthorized(
                    "You aren't allowed to alter your own superuser status or that of a role granted to you"
                )
        if self.user is not None and self.user != role and not self.superuser:
            raise unauthorized(f"User {self.user} does not have sufficient privileges to perform the requested operation")
        if read_role(self.sim, self.node, role) is None:
            raise invalid(f"{role} doesn't exist")
        cells: dict[str, Any] = {}
        if "login" in opts:
            cells["can_login"] = opts["login"]
        if "superuser" in opts:
            cells["is_superuser"] = opts["superuser"]
        if "password" in opts:
            cells["salted_hash"] = hash_password(opts["password"])
        if cells:
            cells["role"] = role
            self._write_role(role, cells)
        return ""

    def _drop_role(self, st: Stmt) -> str:
        role = st.name or ""
        if self.user == role:
            raise invalid("Cannot DROP primary role for current login")
        if not self.superuser:
            raise unauthorized(f"User {self.user} does not have sufficient privileges to perform the requested operation")
        if read_role(self.sim, self.node, role) is None:
            if st.if_flag:
                return ""
            raise invalid(f"{role} doesn't exist")
        self._write_role(role, None)
        return ""

