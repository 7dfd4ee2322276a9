"""Executes parsed CQL for a cqlsh session on a coordinator node: schema, data, roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.ring.consistency import LEVELS, Unavailable
from sandbox.ring.cql_data import DataOps
from sandbox.ring.cql_errors import CqlError, config_error, invalid, unauthorized, unavailable
from sandbox.ring.cql_parse import Lit, Stmt
from sandbox.ring.cql_roles import RoleOps
from sandbox.ring.cql_values import ValueError_, known_type
from sandbox.ring.model import LOCAL_KEYSPACES, NTS, SIMPLE, SYSTEM_KEYSPACES, Keyspace, Table
from sandbox.ring.node import Node

if TYPE_CHECKING:
    from sandbox.ring.cluster import RingSim


def _strategy(name: str) -> str:
    short = name.rsplit(".", 1)[-1]
    if short == "NetworkTopologyStrategy":
        return NTS
    if short == "SimpleStrategy":
        return SIMPLE
    raise config_error(f"Unable to find replication strategy class 'org.apache.cassandra.locator.{short}'")


@dataclass
class Session(DataOps, RoleOps):
    sim: RingSim
    node: Node
    user: str | None  # None: auth off (anonymous, allowed everything)
    superuser: bool
    keyspace: str | None = None
    consistency: str = "ONE"

    def execute(self, st: Stmt) -> str:
        handler = getattr(self, f"_{st.kind}")
        try:
            out: str = handler(st)
        except Unavailable as e:
            raise unavailable(self.node, e) from e
        except ValueError_ as e:
            raise invalid(str(e)) from e
        return out

    # ---- shell commands and keyspaces -------------------------------------------------------------

    def _consistency(self, st: Stmt) -> str:
        if st.name is None:
            return f"Current consistency level is {self.consistency}.\n"
        if st.name not in LEVELS:
            raise CqlError("Improper CONSISTENCY command", "")
        self.consistency = st.name
        return f"Consistency level set to {st.name}.\n"

    def _use(self, st: Stmt) -> str:
        if st.keyspace not in self.ring.keyspaces:
            raise invalid(f"Keyspace '{st.keyspace}' does not exist")
        self.keyspace = st.keyspace
        return ""

    def _replication(self, name: str, st: Stmt) -> dict[str, str]:
        lit = st.options.get("replication")
        if not isinstance(lit, Lit) or lit.kind != "map":
            raise CqlError("SyntaxException", "Missing mandatory option 'replication'")
        opts = {k: str(v.value) for k, v in lit.value.items()}
        if "class" not in opts:
            raise config_error("Missing replication strategy class")
        cls = _strategy(opts.pop("class"))
        for v in opts.values():
            if not v.isdigit():
                raise config_error(f"Replication factor must be numeric; found {v}")
        if cls == SIMPLE:
            if set(opts) != {"replication_factor"}:
                raise config_error("SimpleStrategy requires a replication_factor strategy option.")
            return {"class": cls, **opts}
        dcs = {m.config.dc for m in self.sim.members(self.ring.ring_id)}
        if "replication_factor" in opts:  # 4.0+: expands to every known DC
            rf = opts.pop("replication_factor")
            opts = {dc: rf for dc in sorted(dcs)} | opts
        for dc in opts:
            if dc not in dcs:
                raise config_error(
                    f"Unrecognized strategy option {{{dc}}} passed to NetworkTopologyStrategy for keyspace {name}"
                )
        return {"class": cls, **opts}

    def _create_keyspace(self, st: Stmt) -> str:
        name = st.keyspace or ""
        replication = self._replication(name, st)
        if name in self.ring.keyspaces:
            if st.if_flag:
                return ""
            raise CqlError("AlreadyExists", f"Keyspace '{name}' already exists")
        durable = st.options.get("durable_writes")
        self.ring.keyspaces[name] = Keyspace(replication, durable_writes=durable.value if durable else True)
        return ""

    def _alter_keyspace(self, st: Stmt) -> str:
        name = st.keyspace or ""
        ks = self.ring.keyspaces.get(name)
        if ks is None:
            raise invalid(f"Keyspace '{name}' doesn't exist")
        if name in LOCAL_KEYSPACES:
            raise unauthorized(f"Cannot alter system keyspace {name}")
        # Data stays where it is: new replicas get it only through repair or rebuild, as in real life.
        ks.replication = self._replication(name, st)
        return ""

    def _drop_keyspace(self, st: Stmt) -> str:
        name = st.keyspace or ""
        if name in SYSTEM_KEYSPACES:
            raise unauthorized(f"Cannot DROP <keyspace {name}>")
        if name not in self.ring.keyspaces:
            if st.if_flag:
                return ""
            raise config_error(f"Cannot drop non existing keyspace '{name}'.")
        del self.ring.keyspaces[name]
        for m in self.sim.members(self.ring.ring_id):
            m.data.pop(name, None)
        return ""

    # ---- tables -----------------------------------------------------------------------------------

    def _keyspace_of(self, st: Stmt) -> tuple[str, Keyspace]:
        name = st.keyspace or self.keyspace
        if name is None:
            raise invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
        ks = self.ring.keyspaces.get(name)
        if ks is None:
            raise invalid(f"Keyspace '{name}' doesn't exist")
        return name, ks

    def _table_of(self, st: Stmt) -> tuple[str, Keyspace, Table]:
        name, ks = self._keyspace_of(st)
        table = ks.tables.get(st.name or "")
        if table is None:
            raise invalid(f"table {st.name} does not exist")
        return name, ks, table

    def _create_table(self, st: Stmt) -> str:
        ks_name, ks = self._keyspace_of(st)
        if ks_name in LOCAL_KEYSPACES:
            raise unauthorized(f"Cannot CREATE <table {ks_name}.{st.name}>")
        if st.name in ks.tables:
            if st.if_flag:
                return ""
            raise CqlError("AlreadyExists", f"Table '{ks_name}.{st.name}' already exists")
        if st.key is None:
            raise invalid(f"No PRIMARY KEY specifed for table '{st.name}' (exactly one required)")
        if st.key not in st.types:
            raise invalid(f"Unknown definition {st.key} referenced in PRIMARY KEY")
        for t in st.types.values():
            if not known_type(t):
                raise invalid(f"Unknown type {ks_name}.{t}")
        ks.tables[st.name or ""] = Table(dict(st.types), st.key)
        return ""

    def _drop_table(self, st: Stmt) -> str:
        if st.if_flag and (st.keyspace or self.keyspace) in self.ring.keyspaces:
            ks = self.ring.keyspaces[st.keyspace or self.keyspace or ""]
            if st.name not in ks.tables:
                return ""
        ks_name, ks, _ = self._table_of(st)
        del ks.tables[st.name or ""]
        for m in self.sim.members(self.ring.ring_id):
            m.data.get(ks_name, {}).pop(st.name or "", None)
        return ""

    def _truncate(self, st: Stmt) -> str:
        ks_name, _, _ = self._table_of(st)
        members = self.sim.members(self.ring.ring_id)
        if not all(self.sim.live_from(self.node)(m) for m in members):
            raise CqlError("Unavailable", "Cannot perform truncate: not all hosts are up")
        for m in members:
            m.data.get(ks_name, {}).pop(st.name or "", None)
        return ""
