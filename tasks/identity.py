"""Identity tasks: the cluster's user-assigned identity and its Network Contributor grant."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.azure import AzureCloud
from multidc_core import azure_bodies as bodies
from multidc_core import naming
from multidc_core.spec import RingSpec
from tasks.arm_ensure import (
    TASK_RETRIES,
    TASK_RETRY_DELAY_S,
    ArmOps,
    EnsureOutcome,
    Ensurer,
    ResourceResult,
    Wire,
    result,
    tag_owner,
    to_wire,
)
from tasks.arm_errors import PermanentAzureError, retry_condition
from tasks.azure_network import az


class IdentityResult(ResourceResult):
    """A user-assigned identity: its ids, which the role assignment and the cluster need."""

    principal_id: str
    client_id: str


def _identity_ops(cloud: AzureCloud, spec: RingSpec, dc: str) -> ArmOps:
    a = az(spec, dc)
    api = cloud.msi_client(a.subscription_id).user_assigned_identities
    name = naming.identity_name(spec.name, dc)
    return ArmOps(
        "managed identity",
        name,
        get=partial(api.get, a.resource_group, name),
        put=partial(api.create_or_update, a.resource_group, name),
        delete=partial(api.delete, a.resource_group, name),
        model=api.models.Identity,
        owner=tag_owner(spec.name, dc),
        deadline_s=cloud.resource_deadline_seconds,
    )


def _identity_result(ops: ArmOps, outcome: EnsureOutcome) -> IdentityResult:
    props = outcome.wire.get("properties") or {}
    if not props.get("principalId"):
        raise PermanentAzureError(ops.label, "MissingPrincipal", "ARM returned no principalId")
    return IdentityResult(
        **result(ops, outcome).model_dump(),
        principal_id=props["principalId"],
        client_id=props.get("clientId", ""),
    )


@task(
    cache_policy=NO_CACHE,
    retries=TASK_RETRIES,
    retry_delay_seconds=TASK_RETRY_DELAY_S,
    retry_condition_fn=retry_condition,
)
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
    ops = _identity_ops(cloud, spec, dc)
    return _identity_result(ops, Ensurer(cloud).ensure(ops, bodies.user_assigned_identity(spec, dc)))


def _description_owner(spec: RingSpec, dc: str) -> Callable[[Wire], str | None]:
    want = bodies.role_assignment(spec, dc)["properties"]["description"]

    def check(wire: Wire) -> str | None:
        # Role assignments take no tags; azure_bodies writes the ownership into the description.
        have = (wire.get("properties") or {}).get("description")
        return None if have == want else f"its description is {have!r}, not {want!r}"

    return check


@task(
    cache_policy=NO_CACHE,
    retries=TASK_RETRIES,
    retry_delay_seconds=TASK_RETRY_DELAY_S,
    retry_condition_fn=retry_condition,
)
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
        ident = ensurer.read(_identity_ops(cloud, spec, dc))
        principal_id = ((ident or {}).get("properties") or {}).get("principalId")
        if not principal_id:
            raise PermanentAzureError(
                f"role assignment for {naming.identity_name(spec.name, dc)}",
                "IdentityMissing",
                "the cluster identity does not exist yet; run ensure_identity first",
            )
    a = az(spec, dc)
    api = cloud.authorization_client(a.subscription_id).role_assignments
    scope = naming.role_assignment_scope(spec, dc)
    name = naming.dc_role_assignment_name(spec, dc, principal_id)
    ops = ArmOps(
        "role assignment",
        name,
        get=partial(api.get, scope, name),
        put=partial(api.create, scope, name),
        delete=partial(api.delete, scope, name),
        model=api.models.RoleAssignmentCreateParameters,
        owner=_description_owner(spec, dc),
        deadline_s=cloud.resource_deadline_seconds,
        replace_on_change=True,
    )
    desired = bodies.with_principal_id(bodies.role_assignment(spec, dc), principal_id)
    ensurer = Ensurer(cloud)
    try:
        return result(ops, ensurer.ensure(ops, desired))
    except PermanentAzureError as exc:
        if exc.code != "RoleAssignmentExists":
            raise
    # The same grant exists under another name (made by an older multidc, or by hand): it is
    # what AKS needs, and Azure refuses a second one, so it is used as it is.
    existing = _existing_grant(ensurer, api, scope, principal_id, desired)
    ensurer.log.info("%s: the identity already holds Network Contributor here as %s", ops.label, existing["name"])
    return ResourceResult(kind=ops.kind, name=existing["name"], id=existing["id"], provisioning_state=None,
                          action="unchanged")


def _existing_grant(ensurer: Ensurer, api: Any, scope: str, principal_id: str, desired: Wire) -> Wire:
    role = desired["properties"]["roleDefinitionId"].lower()

    def find() -> list[Wire]:
        found = api.list_for_scope(scope, filter=f"principalId eq '{principal_id}'")
        return [to_wire(g) for g in found]

    for grant in ensurer.call(f"role assignments at {scope}", find):
        props = grant.get("properties") or {}
        if (props.get("roleDefinitionId") or "").lower() == role:
            return grant
    raise PermanentAzureError(f"role assignment at {scope}", "RoleAssignmentExists",
                              "ARM says the grant exists but lists none for this principal and role")
