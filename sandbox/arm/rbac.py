"""Azure RBAC as the emulator sees it: role assignments' rules, principals' replication, AKS's subnet access."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.arm import derived
from sandbox.arm.errors import ArmError, bad_request, not_found
from sandbox.arm.ids import key
from sandbox.arm.store import Store
from sandbox.arm.types import TENANT_ID
from sandbox.clock import Clock

# Roles that carry Microsoft.Network/virtualNetworks/subnets/join/action: Network Contributor,
# Contributor, Owner (built-in role ids, the same in every tenant).
SUBNET_JOIN_ROLES = frozenset(
    {"4d97b98b-1d4f-4787-a291-c67834d212e7", "b24988ac-6180-42a0-ab88-20f7382dd24c",
     "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"}
)  # fmt: skip
# A managed identity's service principal is a directory object; every identity the emulator makes is one.
PRINCIPAL_TYPE = "ServicePrincipal"


class Rbac:
    """Checks on role assignment PUTs and on a new cluster's access to its subnet.

    A new identity's principal replicates to the directory for a while (`replication_s`: the
    emulator's `principal_replication` duration): until then a grant to it answers
    PrincipalNotFound, whose documented remedy is a retry.
    """

    def __init__(self, store: Store, clock: Clock, replication_s: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self.replication_s = replication_s  # real seconds, read at each check (durations may change)
        self._born: dict[str, float] = {}  # principalId -> when its identity was created

    def born(self, principal_id: str) -> None:
        self._born[principal_id.lower()] = self.clock.now()

    def known_principals(self) -> set[str]:
        ids = {(i["properties"].get("principalId") or "").lower() for i in self.store.of_type(derived.IDENTITY)}
        for mc in self.store.of_type(derived.CLUSTER):
            ids.add(((mc.get("identity") or {}).get("principalId") or "").lower())
            kubelet = (mc["properties"].get("identityProfile") or {}).get("kubeletidentity") or {}
            ids.add((kubelet.get("objectId") or "").lower())
        return ids - {""}

    def _replicated(self, principal_id: str) -> bool:
        born = self._born.get(principal_id.lower())
        return born is None or self.clock.now() - born >= self.replication_s()

    def check_role_assignment(self, ra: dict[str, Any], existing: dict[str, Any] | None) -> None:
        """Scope exists, principal known and replicated and of its type, names unique in the tenant,
        one grant per (scope, principal, role).

        Role assignment names are unique in the whole Entra tenant, whatever their scope; the emulator
        is one tenant holding every subscription, so a name is looked up across all of them.
        """
        p = ra["properties"]
        scope = p["scope"]
        if scope != "/" and key(scope).count("/") > 2 and self.store.get(scope) is None:
            raise not_found(scope, "ResourceGroupNotFound" if key(scope).count("/") == 4 else "ResourceNotFound")
        principal = p["principalId"]
        if principal.lower() not in self.known_principals() or not self._replicated(principal):
            raise bad_request("PrincipalNotFound", f"Principal {principal} does not exist in the directory "
                              f"{TENANT_ID}. Check that you have the correct principal ID. If you are creating "
                              "this principal and then immediately assigning a role, this error might be related "
                              "to a replication delay. In this case, set the role assignment principalType "
                              "property to a value, such as ServicePrincipal, User, or Group.")
        kind = p.get("principalType") or PRINCIPAL_TYPE
        if kind != PRINCIPAL_TYPE:
            raise bad_request("UnmatchedPrincipalType", f"The PrincipalId '{principal}' has type '{PRINCIPAL_TYPE}', "
                              f"which is different from specified PrincipalType '{kind}'.")
        same_name = existing or next((o for o in self.store.of_type(derived.ROLE_ASSIGNMENT)
                                      if o["name"].lower() == ra["name"].lower()), None)
        if same_name is not None:
            old = same_name["properties"]
            if (key(old["scope"]), old["principalId"].lower(), role_guid(old)) != (
                    key(scope), principal.lower(), role_guid(p)):
                raise ArmError(409, "RoleAssignmentUpdateNotPermitted",
                               "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
            return
        for other in self.store.of_type(derived.ROLE_ASSIGNMENT):
            op = other["properties"]
            if (key(op["scope"]) == key(scope) and op["principalId"].lower() == principal.lower()
                    and role_guid(op) == role_guid(p)):
                raise ArmError(409, "RoleAssignmentExists", f"The role assignment already exists. The ID of the "
                               f"existing role assignment is {other['name']}.")

    def can_join(self, principal_id: str, subnet_id: str) -> bool:
        """A grant of a subnet-join role to the principal on the subnet or any scope above it."""
        target = key(subnet_id)
        for ra in self.store.of_type(derived.ROLE_ASSIGNMENT):
            p = ra["properties"]
            scope = key(p["scope"])
            above = scope == "/" or target == scope or target.startswith(scope.rstrip("/") + "/")
            if above and p["principalId"].lower() == principal_id.lower() and role_guid(p) in SUBNET_JOIN_ROLES:
                return True
        return False

    def cluster_subnet_error(self, mc: dict[str, Any]) -> dict[str, str] | None:
        """The error a new cluster's operation ends with when its identity cannot join its node subnet."""
        idents = ((mc.get("identity") or {}).get("userAssignedIdentities") or {})
        principals = [(self.store.resource(i) or {}).get("properties", {}).get("principalId") for i in idents]
        for pool in mc["properties"].get("agentPoolProfiles") or []:
            subnet = pool.get("vnetSubnetID")
            for principal in principals:
                if subnet and principal and not self.can_join(principal, subnet):
                    return {"code": "LinkedAuthorizationFailed", "message": (
                        f"The client '{principal}' with object id '{principal}' has permission to perform action "
                        f"'Microsoft.ContainerService/managedClusters/write' on scope '{mc['id']}'; however, it does "
                        "not have permission to perform action 'Microsoft.Network/virtualNetworks/subnets/join/"
                        f"action' on the linked scope(s) '{subnet}' or the linked scope(s) are invalid.")}
        return None


def role_guid(props: dict[str, Any]) -> str:
    return str(props["roleDefinitionId"]).rsplit("/", 1)[-1].lower()
