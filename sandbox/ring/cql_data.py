"""INSERT / SELECT / DELETE for a cqlsh session, plus the system tables it can read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.ring import storage
from sandbox.ring.cql_errors import invalid
from sandbox.ring.cql_parse import Stmt
from sandbox.ring.cql_values import coerce, result_table
from sandbox.ring.model import LOCAL_KEYSPACES, Keyspace, Ring, Table
from sandbox.ring.node import Node

if TYPE_CHECKING:
    from sandbox.ring.cluster import RingSim

KEYSPACES_COLUMNS = {"keyspace_name": "text", "durable_writes": "boolean", "replication": "map<text, text>"}
LOCAL_COLUMNS = {
    "key": "text",
    "broadcast_address": "inet",
    "cluster_name": "text",
    "data_center": "text",
    "host_id": "uuid",
    "rack": "text",
    "release_version": "text",
}


class DataOps:
    """Mixed into Session (cql_exec.py), which provides these attributes."""

    sim: RingSim
    node: Node
    keyspace: str | None
    consistency: str

    @property
    def ring(self) -> Ring:
        return self.sim.rings[self.node.ring_id or ""]

    def _table_of(self, st: Stmt) -> tuple[str, Keyspace, Table]:
        raise NotImplementedError

    def _key(self, st: Stmt, table: Table, now: float) -> str:
        conds = dict(st.where)
        if set(conds) != {table.key}:
            unknown = [c for c in conds if c not in table.columns]
            if unknown:
                raise invalid(f"Undefined column name {unknown[0]}")
            raise invalid(
                "Cannot execute this query as it might involve data filtering and thus may have unpredictable "
                "performance. If you want to execute this query despite the performance unpredictability, "
                "use ALLOW FILTERING"
            )
        value = coerce(conds[table.key], table.columns[table.key], table.key, now)
        if value is None:
            raise invalid(f"Invalid null value in condition for column {table.key}")
        return json.dumps(value)

    def _insert(self, st: Stmt) -> str:
        ks_name, ks, table = self._table_of(st)
        if ks_name in LOCAL_KEYSPACES:
            raise invalid(f"System keyspace '{ks_name}' is not user-modifiable")
        if len(st.columns) != len(st.values):
            raise invalid("Unmatched column names/values")
        now = self.sim.clock.now()
        cells: dict[str, Any] = {}
        for col, term in zip(st.columns, st.values, strict=True):
            if col not in table.columns:
                raise invalid(f"Undefined column name {col} in table {ks_name}.{st.name}")
            cells[col] = coerce(term, table.columns[col], col, now)
        if table.key not in cells:
            raise invalid(f"Some partition key parts are missing: {table.key}")
        if cells[table.key] is None:
            raise invalid(f"Invalid null value for partition key part {table.key}")
        if st.ttl is not None and st.ttl < 0:
            raise invalid(f"A TTL must be greater or equal to 0, but was {st.ttl}")
        key = json.dumps(cells[table.key])
        expires = now + st.ttl if st.ttl else None
        ts = self.sim.next_ts(self.ring)
        coord = self.sim.coordinator(self.node)
        coord.write(ks_name, ks, st.name or "", key, lambda p: storage.write(p, cells, ts, expires), self.consistency)
        return ""

    def _delete(self, st: Stmt) -> str:
        ks_name, ks, table = self._table_of(st)
        key = self._key(st, table, self.sim.clock.now())
        ts = self.sim.next_ts(self.ring)
        coord = self.sim.coordinator(self.node)
        coord.write(ks_name, ks, st.name or "", key, lambda p: storage.delete(p, ts), self.consistency)
        return ""

    def _select(self, st: Stmt) -> str:
        if st.keyspace == "system_schema" and st.name == "keyspaces":
            return self._select_rows(st, KEYSPACES_COLUMNS, "keyspace_name", self._schema_rows())
        if st.keyspace == "system" and st.name == "local":
            return self._select_rows(st, LOCAL_COLUMNS, "key", [self._local_row()])
        ks_name, ks, table = self._table_of(st)
        coord = self.sim.coordinator(self.node)
        now = self.sim.clock.now()
        keys = [self._key(st, table, now)] if st.where else coord.keys(ks_name, st.name or "")
        rows = []
        for key in keys:
            row = coord.read(ks_name, ks, st.name or "", key, self.consistency)
            if row is not None:
                rows.append(row)
        return self._select_rows(st, table.columns, table.key, rows)

    def _select_rows(
        self, st: Stmt, columns: dict[str, str], key: str, rows: list[dict[str, Any]]
    ) -> str:
        """Filter (system tables), project and format rows the way cqlsh shows them."""
        if st.keyspace in ("system_schema", "system") and st.where:
            for col, term in st.where:
                if col not in columns:
                    raise invalid(f"Undefined column name {col}")
                want = coerce(term, columns[col], col, self.sim.clock.now())
                rows = [r for r in rows if r.get(col) == want]
        if st.limit is not None:
            rows = rows[: st.limit]
        if st.count:
            return result_table([("count", "bigint")], [{"count": len(rows)}])
        # SELECT *: partition key first, then the other columns in alphabetical order (as Cassandra).
        names = st.columns or [key] + sorted(c for c in columns if c != key)
        for n in names:
            if n not in columns:
                raise invalid(f"Undefined column name {n} in selection clause")
        return result_table([(n, columns[n]) for n in names], rows)

    def _schema_rows(self) -> list[dict[str, Any]]:
        return [
            {"keyspace_name": name, "durable_writes": ks.durable_writes, "replication": dict(ks.replication)}
            for name, ks in sorted(self.ring.keyspaces.items())
        ]

    def _local_row(self) -> dict[str, Any]:
        n = self.node
        return {
            "key": "local",
            "broadcast_address": n.ip,
            "cluster_name": n.config.cluster_name,
            "data_center": n.config.dc,
            "host_id": n.host_id,
            "rack": n.config.rack,
            "release_version": "5.0.2",
        }
