"""Azure's request rules (names, zones, locations, identities) through the real clients and the product's tasks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

from blocks.azure import AzureCloud
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.spec import RingSpec
from sandbox.arm import ArmEmulator
from tasks.azure_network import ensure_resource_group, ensure_vnet
from tasks.identity import ensure_identity, ensure_role_assignment
from tests.test_azure_tasks import EXAMPLES, running_emulator, sandbox_cloud

STAGING = "11111111-1111-1111-1111-111111111111"
PROD = "22222222-2222-2222-2222-222222222222"


def spec_in(subscription: str, text: str | None = None) -> RingSpec:
    """examples/two-dc-vpn.yaml with every DC in `subscription`: the same ring and DC names."""
    text = text or (EXAMPLES / "two-dc-vpn.yaml").read_text()
    return load_spec(text.replace("00000000-0000-0000-0000-000000000000", subscription))


@pytest.fixture(scope="module")
def arm_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("arm-rules")


@pytest.fixture
def arm(arm_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmEmulator]:
    yield from running_emulator(arm_state, monkeypatch)


@pytest.fixture
def cloud(arm: ArmEmulator) -> AzureCloud:
    return sandbox_cloud(arm)


def grant(cloud: AzureCloud, spec: RingSpec, dc: str) -> str:
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_vnet.fn(cloud, spec, dc)
    ident = ensure_identity.fn(cloud, spec, dc)
    ensure_role_assignment.fn(cloud, spec, dc, ident.principal_id)
    return ident.principal_id


def test_the_same_ring_in_two_subscriptions_gets_both_grants(cloud: AzureCloud, arm: ArmEmulator) -> None:
    staging, prod = spec_in(STAGING), spec_in(PROD)
    dc = staging.azure_dcs[0].name
    principals = {grant(cloud, staging, dc), grant(cloud, prod, dc)}
    assignments = arm.resources(naming.T_ROLE_ASSIGNMENT)
    assert {a["properties"]["principalId"] for a in assignments} == principals
    assert {a["properties"]["scope"].split("/")[2] for a in assignments} == {STAGING, PROD}
    assert len({a["name"] for a in assignments}) == 2


def test_role_assignment_names_are_unique_in_the_tenant(cloud: AzureCloud, arm: ArmEmulator) -> None:
    staging, prod = spec_in(STAGING), spec_in(PROD)
    dc = staging.azure_dcs[0].name
    principal = grant(cloud, staging, dc)
    other = grant(cloud, prod, dc)
    auth = cloud.authorization_client(PROD).role_assignments
    taken = naming.dc_role_assignment_name(staging, dc, principal)
    body = RoleAssignmentCreateParameters(
        role_definition_id=naming.role_definition_id(PROD), principal_id=other, principal_type="ServicePrincipal"
    )
    with pytest.raises(HttpResponseError) as err:
        auth.create(naming.role_assignment_scope(prod, dc), taken, body)  # a name staging already holds
    assert (err.value.status_code, err.value.error.code) == (409, "RoleAssignmentUpdateNotPermitted")
    with pytest.raises(HttpResponseError) as err:
        auth.create(naming.role_assignment_scope(prod, dc), "6f2b9a1e-2c1d-5b8e-9f00-00000000000a", body)
    assert (err.value.status_code, err.value.error.code) == (409, "RoleAssignmentExists")


def test_a_grant_made_under_another_name_is_used_as_it_is(cloud: AzureCloud, arm: ArmEmulator) -> None:
    spec = spec_in(STAGING)
    dc = spec.azure_dcs[0].name
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_vnet.fn(cloud, spec, dc)
    ident = ensure_identity.fn(cloud, spec, dc)
    # As an older multidc named it (ring/dc only): the same principal, role and scope.
    old_name = "0e6c6d3c-6a38-5b32-8c62-2d1a5c0c4b11"
    cloud.authorization_client(STAGING).role_assignments.create(
        naming.role_assignment_scope(spec, dc),
        old_name,
        RoleAssignmentCreateParameters(
            role_definition_id=naming.role_definition_id(STAGING),
            principal_id=ident.principal_id,
            principal_type="ServicePrincipal",
        ),
    )
    got = ensure_role_assignment.fn(cloud, spec, dc, ident.principal_id)
    assert (got.name, got.action) == (old_name, "unchanged")
    assert [a["name"] for a in arm.resources(naming.T_ROLE_ASSIGNMENT)] == [old_name]
