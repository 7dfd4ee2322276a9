"""Injected faults: error rates, provisioning that ends Failed, slow types. All bounded and removable."""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ErrorRate:
    status: int  # 429 or 500 (any 5xx works)
    rate: float  # fraction of matching requests answered with the error
    max_count: int | None = None  # stop after this many injected answers
    retry_after: float | None = None  # seconds; 429 always carries one
    methods: list[str] | None = None  # e.g. ["PUT"]; None = all
    path_contains: str | None = None  # case-insensitive filter on the path
    fired: int = 0


@dataclass
class FailProvisioning:
    resource: str  # a resource name or id (case-insensitive)
    code: str = "InternalServerError"
    message: str = "An error occurred during provisioning (injected fault)."
    times: int = 1  # the next `times` provisionings fail, then it succeeds as Azure does on retry
    fired: int = 0


@dataclass
class Slowdown:
    type: str  # resource type, e.g. "Microsoft.Network/virtualNetworkGateways"
    factor: float


@dataclass
class Faults:
    """Fault table. `add_*` return an id for `remove()`; `clear()` removes all."""

    seed: int = 0
    _items: dict[str, ErrorRate | FailProvisioning | Slowdown] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def add_error_rate(
        self,
        status: int,
        rate: float,
        max_count: int | None = None,
        retry_after: float | None = None,
        methods: list[str] | None = None,
        path_contains: str | None = None,
    ) -> str:
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within [0, 1]")
        if status == 429 and retry_after is None:
            retry_after = 0.01
        methods = [m.upper() for m in methods] if methods else None
        return self._add(ErrorRate(status, rate, max_count, retry_after, methods, path_contains))

    def fail_provisioning(self, resource: str, code: str = "InternalServerError", message: str | None = None,
                          times: int = 1) -> str:
        f = FailProvisioning(resource, code, times=times)
        if message:
            f.message = message
        return self._add(f)

    def slow_type(self, type_name: str, factor: float) -> str:
        return self._add(Slowdown(type_name, factor))

    def remove(self, fault_id: str) -> bool:
        return self._items.pop(fault_id, None) is not None

    def clear(self) -> None:
        self._items.clear()

    def list(self) -> list[dict[str, Any]]:
        return [{"id": i, "kind": type(f).__name__, **asdict(f)} for i, f in self._items.items()]

    def _add(self, fault: ErrorRate | FailProvisioning | Slowdown) -> str:
        fault_id = str(next(self._ids))
        self._items[fault_id] = fault
        return fault_id

    # --- used by the emulator -------------------------------------------------------------

    def error_for(self, method: str, path: str) -> ErrorRate | None:
        """The error-rate fault that fires for this request, if any (counts it)."""
        for f in self._items.values():
            if not isinstance(f, ErrorRate):
                continue
            if f.max_count is not None and f.fired >= f.max_count:
                continue
            if f.methods and method.upper() not in f.methods:
                continue
            if f.path_contains and f.path_contains.lower() not in path.lower():
                continue
            if self._rng.random() < f.rate:
                f.fired += 1
                return f
        return None

    def provisioning_failure(self, resource_id: str) -> FailProvisioning | None:
        rid = resource_id.lower()
        for f in self._items.values():
            if isinstance(f, FailProvisioning) and f.fired < f.times:
                target = f.resource.lower()
                if rid == target or rid.endswith("/" + target):
                    f.fired += 1
                    return f
        return None

    def slowdown(self, type_name: str) -> float:
        factor = 1.0
        for f in self._items.values():
            if isinstance(f, Slowdown) and f.type.lower() == type_name.lower():
                factor *= f.factor
        return factor
