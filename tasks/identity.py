"""Identity tasks: the cluster's user-assigned identity and its Network Contributor grant."""

from __future__ import annotations

from prefect import task

from blocks.azure import AzureCloud
from multidc_core import naming
from multidc_core.spec import RingSpec
from tasks import arm_kinds as kinds
from tasks.arm_ensure import ARM_TASK, EnsureOutcome, Ensurer, ResourceResult, result
from tasks.arm_errors import PermanentAzureError
from tasks.arm_ops import ArmOps, Wire


class IdentityResult(ResourceResult):
    """A user-assigned identity: its ids, which the role assignment and the cluster need."""

    principal_id: str
    client_id: str


def _identity_result(ops: ArmOps, outcome: EnsureOutcome) -> IdentityResult:
    props = outcome.wire.get("properties") or {}
    if not props.get("principalId"):
        raise PermanentAzureError(ops.label, "MissingPrincipal", "ARM returned no principalId")
    return IdentityResult(
        **result(ops, outcome).model_dump(),
        principal_id=props["principalId"],
        client_id=props.get("clientId", ""),
    )


@task(**ARM_TASK)
def ensure_identity(cloud: AzureCloud, spec: RingSpec, dc: str) -> IdentityResult:
    """Guarantee the AKS cluster's user-assigned identity exists, tagged for this DC.

    A user-assigned identity (not the cluster's system identity) exists before the
    cluster, so its Network Contributor grant can be in place when AKS first needs it.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        dc: An azure datacenter of the spec.

    Returns:
        The identity's id, principalId and clientId, and what was done.
    """
    ops = kinds.identity(cloud, spec, dc)
    return _identity_result(ops, Ensurer(cloud).ensure(ops, ops.desired()))


@task(**ARM_TASK)
def ensure_role_assignment(
    cloud: AzureCloud, spec: RingSpec, dc: str, principal_id: str | None = None
) -> ResourceResult:
    """Guarantee the cluster identity holds Network Contributor on the DC's node subnet.

    Run it before `ensure_cluster`: AKS needs the grant to join nodes to the subnet and to
    create internal load balancers there. Role assignments cannot be changed in place, so
    one with our name but another principal is replaced.

    Args:
        cloud: Where ARM is and how to authenticate.
        spec: The ring spec.
        dc: An azure datacenter of the spec.
        principal_id: The identity's principalId; read from the identity when omitted.

    Returns:
        The assignment's id and what was done.
    """
    if principal_id is None:
        ensurer = Ensurer(cloud)
        ident = ensurer.read(kinds.identity(cloud, spec, dc))
        principal_id = ((ident or {}).get("properties") or {}).get("principalId")
        if not principal_id:
            raise PermanentAzureError(
                f"role assignment for {naming.identity_name(spec.name, dc)}",
                "IdentityMissing",
                "the cluster identity does not exist yet; run ensure_identity first",
            )
    name = naming.dc_role_assignment_name(spec, dc, principal_id)
    ops = kinds.role_assignment(cloud, spec, dc, name, principal_id)
    desired = ops.desired()
    ensurer = Ensurer(cloud)
    try:
        return result(ops, ensurer.ensure(ops, desired))
    except PermanentAzureError as exc:
        if exc.code != "RoleAssignmentExists":
            raise
    # The same grant exists under another name (made by an older multidc, or by hand): it is
    # what AKS needs, and Azure refuses a second one, so it is used as it is.
    existing = _existing_grant(cloud, spec, dc, principal_id, desired)
    ensurer.log.info("%s: the identity already holds Network Contributor here as %s", ops.label, existing["name"])
    return ResourceResult(kind=ops.kind, name=existing["name"], id=existing["id"], provisioning_state=None,
                          action="unchanged")


def _existing_grant(cloud: AzureCloud, spec: RingSpec, dc: str, principal_id: str, desired: Wire) -> Wire:
    role = desired["properties"]["roleDefinitionId"].lower()
    for grant in kinds.grants_at_scope(cloud, spec, dc, f"principalId eq '{principal_id}'"):
        props = grant.get("properties") or {}
        if (props.get("roleDefinitionId") or "").lower() == role:
            return grant
    raise PermanentAzureError(f"role assignment at {naming.role_assignment_scope(spec, dc)}", "RoleAssignmentExists",
                              "ARM says the grant exists but lists none for this principal and role")
