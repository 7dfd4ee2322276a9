"""Parse ARM request paths (case-insensitively, as ARM does) into what they address."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Canonical spellings, so ids we mint look like Azure's whatever casing a client sends.
CANONICAL: dict[str, str] = {
    s.lower(): s
    for s in (
        "Microsoft.Network",
        "Microsoft.ContainerService",
        "Microsoft.ManagedIdentity",
        "Microsoft.Authorization",
        "Microsoft.Resources",
        "virtualNetworks",
        "subnets",
        "virtualNetworkPeerings",
        "publicIPAddresses",
        "virtualNetworkGateways",
        "connections",
        "managedClusters",
        "userAssignedIdentities",
        "roleAssignments",
        "roleDefinitions",
    )
}


def canon(segment: str) -> str:
    return CANONICAL.get(segment.lower(), segment)


def key(resource_id: str) -> str:
    """Store key: ARM ids compare case-insensitively."""
    return normalize(resource_id).lower()


def normalize(path: str) -> str:
    # The authorization SDK formats "/{scope}/providers/..." with a scope that already starts
    # with "/", so a doubled slash reaches us; ARM treats it as one.
    path = re.sub(r"/+", "/", path)
    return "/" + path.strip("/") if path.strip("/") else "/"


@dataclass(frozen=True)
class Target:
    """What a request path addresses.

    kind: subscription | rg_list | rg | rg_resources | list_rg | list_sub | resource | children |
          action | op | rg_op | role_assignment | role_assignments | role_definition
    """

    kind: str
    sub: str = ""
    rg: str = ""
    ns: str = ""
    types: tuple[str, ...] = ()  # canonical type chain, e.g. ("virtualNetworks", "subnets")
    names: tuple[str, ...] = ()  # names along the chain
    action: str = ""
    op_id: str = ""
    op_kind: str = ""  # "status" (Azure-AsyncOperation) or "result" (Location)
    scope: str = ""  # role assignments: the scope path

    @property
    def type_name(self) -> str:
        return "/".join([self.ns, *self.types])

    @property
    def type_key(self) -> str:
        return self.type_name.lower()

    def rg_id(self) -> str:
        return f"/subscriptions/{self.sub}/resourceGroups/{self.rg}"

    def resource_id(self, rg_name: str | None = None) -> str:
        parts = [f"/subscriptions/{self.sub}/resourceGroups/{rg_name or self.rg}/providers/{self.ns}"]
        for t, n in zip(self.types, self.names, strict=False):
            parts.append(f"{t}/{n}")
        return "/".join(parts)


def parse(path: str) -> Target | None:
    """Return what the path addresses, or None when no route matches."""
    path = normalize(path)
    segs = [s for s in path.split("/") if s]
    low = [s.lower() for s in segs]
    # Role assignments live under any scope: find the last ".../providers/Microsoft.Authorization/...".
    for i in range(len(low) - 2, -1, -1):
        if low[i] == "providers" and low[i + 1] == "microsoft.authorization":
            scope = "/" + "/".join(segs[:i]) if i else "/"
            rest = low[i + 2 :]
            if rest[:1] == ["roleassignments"]:
                if len(rest) == 1:
                    return Target("role_assignments", scope=scope)
                if len(rest) == 2:
                    return Target("role_assignment", scope=scope, names=(segs[i + 3],))
            if rest[:1] == ["roledefinitions"] and len(rest) == 2:
                return Target("role_definition", scope=scope, names=(segs[i + 3],))
            return None
    if len(low) < 2 or low[0] != "subscriptions":
        return None
    sub = segs[1]
    if len(low) == 2:
        return Target("subscription", sub=sub)
    if low[2] == "operationresults" and len(low) == 4:
        return Target("rg_op", sub=sub, op_id=segs[3], op_kind="result")
    if low[2] == "providers" and len(low) >= 5:
        ns = canon(segs[3])
        rest = segs[4:]
        if len(rest) == 4 and rest[0].lower() == "locations":
            kind = {"operations": "status", "operationresults": "result"}.get(rest[2].lower())
            if kind:
                return Target("op", sub=sub, ns=ns, op_id=rest[3], op_kind=kind)
        if len(rest) == 1:
            return Target("list_sub", sub=sub, ns=ns, types=(canon(rest[0]),))
        return None
    if low[2] != "resourcegroups":
        return None
    if len(low) == 3:
        return Target("rg_list", sub=sub)
    rg = segs[3]
    if len(low) == 4:
        return Target("rg", sub=sub, rg=rg)
    if len(low) == 5 and low[4] == "resources":
        return Target("rg_resources", sub=sub, rg=rg)
    if low[4] != "providers" or len(low) < 7:
        return None
    ns = canon(segs[5])
    rest = segs[6:]
    if len(rest) == 1:
        return Target("list_rg", sub=sub, rg=rg, ns=ns, types=(canon(rest[0]),))
    if len(rest) == 2:
        return Target("resource", sub=sub, rg=rg, ns=ns, types=(canon(rest[0]),), names=(rest[1],))
    if len(rest) == 3:
        # Either a child collection (subnets) or an action (listClusterAdminCredential, sharedkey).
        return Target(
            "children", sub=sub, rg=rg, ns=ns, types=(canon(rest[0]), canon(rest[2])), names=(rest[1],),
            action=rest[2],
        )
    if len(rest) == 4:
        return Target(
            "resource", sub=sub, rg=rg, ns=ns, types=(canon(rest[0]), canon(rest[2])), names=(rest[1], rest[3])
        )
    return None
