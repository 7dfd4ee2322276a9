"""What one ARM resource is to multidc: its bound SDK calls and checks (ArmOps), and the wire format."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from multidc_core import naming

Wire = dict[str, Any]


def to_model(cls: Any, body: Mapping[str, Any]) -> Any:
    """Wire-format dict -> SDK model, for both SDK generations (msrest and typespec)."""
    deserialize = getattr(cls, "deserialize", None)
    return deserialize(dict(body)) if deserialize else cls(dict(body))


def to_wire(obj: Any) -> Wire:
    """SDK model -> wire-format dict (camelCase, read-only fields kept)."""
    if obj is None:
        return {}
    if hasattr(obj, "serialize"):
        return dict(obj.serialize(keep_readonly=True))
    return dict(obj.as_dict())


def provisioning_state(wire: Mapping[str, Any]) -> str | None:
    props = wire.get("properties") or {}
    return props.get("provisioningState")


def tag_owner(ring: str, dc: str | None) -> Callable[[Wire], str | None]:
    """Ownership check by tags: ring and managed-by always, the DC when given."""
    wanted = {naming.TAG_MANAGED_BY: naming.MANAGED_BY, naming.TAG_RING: ring}
    if dc is not None:
        wanted[naming.TAG_DC] = dc

    def check(wire: Wire) -> str | None:
        tags = wire.get("tags") or {}
        wrong = [f"{k}={v}" for k, v in wanted.items() if tags.get(k) != v]
        return f"it lacks the ownership tag(s) {', '.join(wrong)}" if wrong else None

    return check


@dataclass
class ArmOps:
    """How to read, write, compare and delete one named resource; the SDK calls, already bound.

    tasks/arm_kinds.py makes one per resource kind; ensure tasks and teardown both use it.
    """

    kind: str
    name: str
    get: Callable[[], Any]
    put: Callable[[Any], Any]  # returns an LROPoller or, for quick resources, the model
    delete: Callable[[], Any]
    model: Any
    owner: Callable[[Wire], str | None]
    deadline_s: float
    # A Failed resource is reconciled (a PUT of the same body). Only when that fails too, and only
    # a resource that holds no data, may be replaced: this returns what still uses it (replace
    # when empty). None: never deleted (clusters, VNets, anything that holds data or traffic).
    users_if_replaced: Callable[[], list[str]] | None = None
    # Some resources (role assignments) cannot be updated in place: a difference replaces them.
    replace_on_change: bool = False
    state_of: Callable[[Wire], str | None] = provisioning_state
    # The body a write sends (multidc_core.azure_bodies); None for kinds only ever deleted or read.
    body: Callable[[], Wire] | None = None
    # Refusals of a delete that end by themselves (a subnet keeps a deleted cluster's NICs a while,
    # InUseSubnetCannotBeDeleted): teardown sends the delete again until `deadline_s`.
    wait_out: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def desired(self) -> Wire:
        """The body a write sends."""
        if self.body is None:
            raise ValueError(f"{self.label}: multidc only reads and deletes this kind here")
        return self.body()
