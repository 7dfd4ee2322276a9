"""Lifecycle states the admin endpoint and tests inject: a resource left Failed, one busy with someone else's update."""

from __future__ import annotations

from typing import Any

from sandbox.arm.ids import key
from sandbox.arm.operations import Operation, Operations
from sandbox.arm.store import Store
from sandbox.clock import Clock


class Injected:
    """Mixed into ArmEmulator, whose store, operations, clock and scheduler these use."""

    store: Store
    ops: Operations
    clock: Clock

    def _schedule(self, op: Operation) -> None:
        raise NotImplementedError

    def _location_of(self, rid: str) -> str:
        raise NotImplementedError

    def find(self, name_or_id: str) -> dict[str, Any]:
        """The stored record of a resource named by id or by a unique name (fault injection)."""
        k = key(name_or_id) if name_or_id.startswith("/") else None
        found = [rec for rec in self.store.records()
                 if (k and key(rec["resource"]["id"]) == k) or rec["resource"]["name"].lower() == name_or_id.lower()]
        if len(found) != 1:
            raise ValueError(f"{len(found)} resources match {name_or_id!r}; give the full id")
        return found[0]

    def mark_failed(self, name_or_id: str) -> str:
        """Leave a resource Failed as a failed update (AKS upgrade, gateway maintenance) does."""
        rec = self.find(name_or_id)
        rec["resource"]["properties"]["provisioningState"] = "Failed"
        rec["op"] = None
        return str(rec["resource"]["id"])

    def busy(self, name_or_id: str, azure_seconds: float) -> str:
        """Someone else's update: the resource is Updating for `azure_seconds` (simulated), then Succeeded."""
        rec = self.find(name_or_id)
        r = rec["resource"]
        op = self.ops.start("put", [r["id"]], r["id"].split("/")[2], r["type"].split("/")[0],
                            r.get("location") or self._location_of(r["id"]), self.clock.now(),
                            self.clock.scaled(azure_seconds))
        r["properties"]["provisioningState"] = "Updating"
        rec["op"] = op.id
        self._schedule(op)
        return str(r["id"])
