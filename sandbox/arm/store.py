"""Resources keyed by lower-cased resource id, with secrets kept apart from what GET returns."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

from sandbox.arm.ids import key


class Store:
    """Each record: {"resource": <ARM JSON as stored>, "secrets": {...}, "op": <operation id or None>}.

    Derived fields (connection status, peering state, inline subnets) are not stored: they are
    computed when a resource is rendered, so they can never go stale.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        self.now = now  # the clock derived state reads (a connection comes up some time after both sides)
        # Subnet key -> (ids of NICs a deleted cluster left attached, until when): see lifecycle.py.
        self.lingering: dict[str, tuple[list[str], float]] = {}
        # Resource key -> (what the group's resource list shows, until when): ARM's cache after a delete.
        self.listed_after_delete: dict[str, tuple[dict[str, Any], float]] = {}

    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self._records.get(key(resource_id))

    def resource(self, resource_id: str) -> dict[str, Any] | None:
        rec = self.get(resource_id)
        return rec["resource"] if rec else None

    def put(self, resource: dict[str, Any], secrets: dict[str, Any] | None = None, op: str | None = None) -> None:
        self._records[key(resource["id"])] = {"resource": resource, "secrets": secrets or {}, "op": op}

    def delete(self, resource_id: str) -> dict[str, Any] | None:
        return self._records.pop(key(resource_id), None)

    def records(self) -> Iterator[dict[str, Any]]:
        yield from list(self._records.values())

    def of_type(self, type_name: str) -> list[dict[str, Any]]:
        t = type_name.lower()
        return [r["resource"] for r in self.records() if r["resource"]["type"].lower() == t]

    def under(self, prefix_id: str) -> list[dict[str, Any]]:
        """Records strictly below an id (children of a resource, contents of a resource group)."""
        p = key(prefix_id) + "/"
        return [r for k, r in list(self._records.items()) if k.startswith(p)]

    def dump(self) -> dict[str, Any]:
        return {"records": copy.deepcopy(list(self._records.values()))}

    def load(self, data: dict[str, Any]) -> None:
        self._records = {key(r["resource"]["id"]): r for r in copy.deepcopy(data.get("records", []))}
