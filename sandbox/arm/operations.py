"""Asynchronous operations: what Azure-AsyncOperation / Location URLs report, from timestamps."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Operation:
    id: str
    kind: str  # "put" or "delete"
    resource_ids: list[str]  # put: the resources it finalizes; delete: the resource (or group) to remove
    sub: str
    ns: str
    location: str
    started: float
    ready_at: float
    error: dict[str, Any] | None = None  # set = the operation ends Failed with this error
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def status(self, now: float) -> str:
        if not self.done and now < self.ready_at:
            return "InProgress"
        return "Failed" if self.error else "Succeeded"

    def status_url(self, base: str, api_version: str) -> str:
        if self.ns == "Microsoft.Resources":
            return self.result_url(base, api_version)
        return (f"{base}/subscriptions/{self.sub}/providers/{self.ns}/locations/{self.location}"
                f"/operations/{self.id}?api-version={api_version}")

    def result_url(self, base: str, api_version: str) -> str:
        if self.ns == "Microsoft.Resources":
            return f"{base}/subscriptions/{self.sub}/operationresults/{self.id}?api-version={api_version}"
        return (f"{base}/subscriptions/{self.sub}/providers/{self.ns}/locations/{self.location}"
                f"/operationResults/{self.id}?api-version={api_version}")

    def status_body(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        body: dict[str, Any] = {"id": self.id, "name": self.id, "status": status, "startTime": iso(self.started)}
        if status != "InProgress":
            body["endTime"] = iso(self.ready_at)
        if self.error and status == "Failed":
            body["error"] = self.error
        return body


def retry_after(remaining: float, floor: float) -> str:
    """Retry-After for a running operation, in (possibly fractional) seconds.

    A quarter of what is left, never less than `floor` (ARM's usual 10 s, scaled): a client polls
    a handful of times per operation whatever the time scale, and never sleeps past the end by
    much. azure-core parses the header with float(), so "0.05" works; "0" would be ignored.
    """
    seconds = max(floor, remaining / 4, 0.001)
    return f"{seconds:.3f}"


class Operations:
    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}

    def start(self, kind: str, resource_ids: list[str], sub: str, ns: str, location: str, now: float,
              duration: float, error: dict[str, Any] | None = None) -> Operation:
        op = Operation(str(uuid.uuid4()), kind, resource_ids, sub, ns, (location or "global").replace(" ", "").lower(),
                       now, now + duration, error)
        self._ops[op.id] = op
        return op

    def get(self, op_id: str) -> Operation | None:
        return self._ops.get(op_id) or self._ops.get(op_id.lower())

    def due(self, now: float) -> list[Operation]:
        return sorted((o for o in self._ops.values() if not o.done and o.ready_at <= now), key=lambda o: o.ready_at)

    def pending(self) -> list[Operation]:
        return [o for o in self._ops.values() if not o.done]

    def dump(self) -> list[dict[str, Any]]:
        return [asdict(o) for o in self._ops.values()]

    def load(self, data: list[dict[str, Any]]) -> None:
        self._ops = {d["id"]: Operation(**d) for d in data}
