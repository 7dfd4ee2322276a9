"""Azure's request rules (names, zones, locations, identities) through the real clients and the product's tasks."""

from __future__ import annotations

import pytest
import yaml
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.containerservice.models import ManagedCluster
from azure.mgmt.network.models import ConnectionSharedKey, PublicIPAddress

from blocks.azure import AzureCloud
from multidc_core import azure_bodies as bodies
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.problems import SpecError
from multidc_core.spec import RingSpec
from sandbox.arm import ArmEmulator
from tasks.aks import ensure_cluster
from tasks.arm_ensure import to_model
from tasks.arm_errors import PermanentAzureError
from tasks.azure_network import (
    ensure_gateway,
    ensure_gateway_connection,
    ensure_public_ip,
    ensure_resource_group,
    ensure_vnet,
    wait_connected,
)
from tasks.identity import ensure_identity, ensure_role_assignment
from tests.arm_fixtures import EXAMPLES

STAGING = "11111111-1111-1111-1111-111111111111"
PROD = "22222222-2222-2222-2222-222222222222"


def spec_in(subscription: str, text: str | None = None) -> RingSpec:
    """examples/two-dc-vpn.yaml with every DC in `subscription`: the same ring and DC names."""
    text = text or (EXAMPLES / "two-dc-vpn.yaml").read_text()
    return load_spec(text.replace("00000000-0000-0000-0000-000000000000", subscription))


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
    arm.durations["principal_replication"] = 0  # the identity is old: the older run made it long ago
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


def second_dc_in(location: str, sku: str = "VpnGw1AZ", zones: bool = True) -> str:
    """examples/two-dc-vpn.yaml with its second DC moved to `location`, with or without zones."""
    raw = yaml.safe_load((EXAMPLES / "two-dc-vpn.yaml").read_text())
    raw["interconnect"]["gateway_sku"] = sku
    dc = raw["datacenters"][1]
    dc["azure"]["location"] = location
    if not zones:
        dc["azure"]["zones"] = []
        for rack in dc["cassandra"]["racks"]:
            rack.pop("zone")
    return yaml.safe_dump(raw, sort_keys=False)


def test_a_non_zonal_region_with_zones_or_an_az_gateway_is_rejected_before_any_call() -> None:
    with pytest.raises(SpecError) as err:
        load_spec(second_dc_in("westus"))
    paths = {p.path: str(p) for p in err.value.problems}
    assert "datacenters[1].azure.zones" in paths and "datacenters[1].azure.location" in paths
    assert "VpnGw1AZ" in paths["datacenters[1].azure.location"]
    assert "interconnect.gateway_sku" in paths["datacenters[1].azure.location"]
    assert "global-peering" in paths["datacenters[1].azure.location"]  # the fix
    load_spec(second_dc_in("westus", sku="Basic", zones=False))  # what is possible there passes


def test_the_gateway_ip_has_zones_only_where_the_region_has_them(cloud: AzureCloud, arm: ArmEmulator) -> None:
    spec = load_spec(second_dc_in("westus", sku="Basic", zones=False))
    for dc in spec.azure_dcs:
        ensure_resource_group.fn(cloud, spec, dc.name)
        ensure_public_ip.fn(cloud, spec, dc.name)
    zones = {ip["location"]: ip.get("zones") for ip in arm.resources(naming.T_PUBLIC_IP)}
    assert zones == {"eastus": ["1", "2", "3"], "westus": None}


def test_arm_refuses_zones_in_a_region_without_them(cloud: AzureCloud, arm: ArmEmulator) -> None:
    spec = load_spec(second_dc_in("westus", sku="Basic", zones=False))
    dc = spec.azure_dcs[1]
    assert dc.azure is not None
    ensure_resource_group.fn(cloud, spec, dc.name)
    zonal = {**bodies.public_ip(spec, dc.name), "zones": ["1", "2", "3"]}
    ips = cloud.network_client(dc.azure.subscription_id).public_ip_addresses
    with pytest.raises(HttpResponseError) as err:
        ips.begin_create_or_update(dc.azure.resource_group, "zonal-ip", to_model(PublicIPAddress, zonal)).result()
    assert (err.value.status_code, err.value.error.code) == (400, "LocationNotSupportAvailabilityZones")
    assert not arm.resources(naming.T_PUBLIC_IP)

    zonal_pool = bodies.managed_cluster(spec, dc.name)
    zonal_pool["properties"]["agentPoolProfiles"][0]["availabilityZones"] = ["1", "2"]
    clusters = cloud.containerservice_client(dc.azure.subscription_id).managed_clusters
    with pytest.raises(HttpResponseError) as err:
        clusters.begin_create_or_update(
            dc.azure.resource_group, "zonal-aks", to_model(ManagedCluster, zonal_pool)
        ).result()
    assert (err.value.status_code, err.value.error.code) == (400, "AvailabilityZoneNotSupported")
    assert not arm.resources(naming.T_CLUSTER)


def shared_group_spec() -> RingSpec:
    """examples/two-dc-vpn.yaml with both DCs (eastus, southcentralus) in one resource group."""
    raw = yaml.safe_load((EXAMPLES / "two-dc-vpn.yaml").read_text())
    for dc in raw["datacenters"]:
        dc["azure"]["resource_group"] = "multidc-shared"
    return load_spec(yaml.safe_dump(raw, sort_keys=False))


def test_dcs_of_two_regions_share_a_group_which_keeps_its_one_location(cloud: AzureCloud, arm: ArmEmulator) -> None:
    spec = shared_group_spec()
    for dc in spec.azure_dcs:
        ensure_resource_group.fn(cloud, spec, dc.name)
        ensure_vnet.fn(cloud, spec, dc.name)
    groups = {g["name"]: g["location"] for g in arm.resources("Microsoft.Resources/resourceGroups")}
    assert groups == {"multidc-shared": "eastus"}
    assert {v["location"] for v in arm.resources(naming.T_VNET)} == {"eastus", "southcentralus"}

    rgs = cloud.resource_client("00000000-0000-0000-0000-000000000000").resource_groups
    with pytest.raises(HttpResponseError) as err:
        rgs.create_or_update("multidc-shared", {"location": "southcentralus"})
    assert (err.value.status_code, err.value.error.code) == (409, "InvalidResourceGroupLocation")
    assert "already exists in location 'eastus'" in err.value.error.message


def test_a_group_made_elsewhere_keeps_its_location(cloud: AzureCloud, arm: ArmEmulator) -> None:
    spec = spec_in(STAGING)
    dc = spec.azure_dcs[1]
    assert dc.azure is not None
    # Made by an earlier run whose spec had this DC in westus2: the group is the ring's, in westus2.
    cloud.resource_client(STAGING).resource_groups.create_or_update(
        dc.azure.resource_group, {"location": "westus2", "tags": naming.tags(spec.name, dc.name)}
    )
    got = ensure_resource_group.fn(cloud, spec, dc.name)
    assert got.action == "unchanged"  # a group's location never changes; its resources may be elsewhere
    group = next(g for g in arm.resources("Microsoft.Resources/resourceGroups") if g["name"] == dc.azure.resource_group)
    assert (group["location"], group["tags"][naming.TAG_RING]) == ("westus2", spec.name)


LONG_RING = "multidc-staging-westeurope-and-friends-x"  # 40 characters, the longest ring name


def test_a_dns_prefix_over_54_characters_is_rejected_before_any_call() -> None:
    text = (EXAMPLES / "two-dc-vpn.yaml").read_text().replace("name: multidc\n", f"name: {LONG_RING}\n", 1)
    with pytest.raises(SpecError) as err:
        load_spec(text)
    assert [p.path for p in err.value.problems] == ["datacenters[1].name"]  # 58 characters; dc-eastus's is 50
    assert "58 characters" in str(err.value) and "at most 54" in str(err.value)


def test_aks_refuses_a_dns_prefix_over_54_characters(cloud: AzureCloud, arm: ArmEmulator) -> None:
    spec = spec_in(STAGING)
    dc = spec.azure_dcs[0]
    assert dc.azure is not None
    ensure_resource_group.fn(cloud, spec, dc.name)
    body = bodies.managed_cluster(spec, dc.name)
    body["properties"]["dnsPrefix"] = f"{LONG_RING}-dc-southcentralus"
    clusters = cloud.containerservice_client(STAGING).managed_clusters
    with pytest.raises(HttpResponseError) as err:
        clusters.begin_create_or_update(dc.azure.resource_group, "long-aks", to_model(ManagedCluster, body)).result()
    assert (err.value.status_code, err.value.error.code, err.value.error.target) == (400, "InvalidParameter", "dnsPrefix")
    assert not arm.resources(naming.T_CLUSTER)


def test_an_api_version_override_reaches_a_cloud_whose_network_provider_lags(
    cloud: AzureCloud, arm: ArmEmulator
) -> None:
    spec = spec_in(STAGING)
    dc = spec.azure_dcs[0].name
    ensure_resource_group.fn(cloud, spec, dc)
    arm.api_versions = {"microsoft.network": {"2024-05-01"}}  # a sovereign cloud a year behind
    with pytest.raises(PermanentAzureError) as err:
        ensure_vnet.fn(cloud, spec, dc)
    assert err.value.code == "NoRegisteredProviderFound"
    pinned = cloud.model_copy(update={"api_versions": {"network": "2024-05-01"}})
    assert ensure_vnet.fn(pinned, spec, dc).provisioning_state == "Succeeded"
    assert [v["name"] for v in arm.resources(naming.T_VNET)] == [naming.vnet_name(spec.name, dc)]


def link_status(arm: ArmEmulator, name: str) -> str:
    return next(c["properties"]["connectionStatus"] for c in arm.resources(naming.T_CONNECTION) if c["name"] == name)


def test_a_drifted_shared_key_is_set_again_and_the_link_connects(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator
) -> None:
    spec = spec_in(STAGING)
    a, b = (d.name for d in spec.azure_dcs)
    for dc in (a, b):
        ensure_resource_group.fn(cloud, spec, dc)
        ensure_vnet.fn(cloud, spec, dc)
        ensure_public_ip.fn(cloud, spec, dc)
        ensure_gateway.fn(cloud, spec, dc)
    ensure_gateway_connection.fn(cloud, spec, a, b)
    ensure_gateway_connection.fn(cloud, spec, b, a)
    name = naming.connection_name(spec.name, a, b)
    assert wait_connected.fn(cloud, spec, a, b).status == "Connected"

    connections = cloud.network_client(STAGING).virtual_network_gateway_connections
    group = spec.dc(a).azure.resource_group  # type: ignore[union-attr]
    connections.begin_set_shared_key(group, name, ConnectionSharedKey(value="changed-by-hand")).result()
    assert link_status(arm, name) == "NotConnected"  # IKE fails: it would never connect

    assert ensure_gateway_connection.fn(cloud, spec, a, b).action == "updated"
    assert wait_connected.fn(cloud, spec, a, b).status == "Connected"
    assert connections.get_shared_key(group, name).value != "changed-by-hand"


def raw_grant(
    cloud: AzureCloud, spec: RingSpec, dc: str, principal: str, kind: str | None = "ServicePrincipal"
) -> None:
    cloud.authorization_client(STAGING).role_assignments.create(
        naming.role_assignment_scope(spec, dc),
        naming.dc_role_assignment_name(spec, dc, principal),
        RoleAssignmentCreateParameters(
            role_definition_id=naming.role_definition_id(STAGING), principal_id=principal, principal_type=kind
        ),
    )


def test_a_new_identity_is_invisible_for_a_while_and_the_grant_is_retried(
    cloud: AzureCloud, arm: ArmEmulator
) -> None:
    arm.durations["principal_replication"] = 400  # Azure seconds: 0.2 s here
    spec = spec_in(STAGING)
    dc = spec.azure_dcs[0].name
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_vnet.fn(cloud, spec, dc)
    principal = ensure_identity.fn(cloud, spec, dc).principal_id
    with pytest.raises(HttpResponseError) as err:
        raw_grant(cloud, spec, dc, principal, kind=None)  # no principalType: ARM looks the principal up
    assert (err.value.status_code, err.value.error.code) == (400, "PrincipalNotFound")
    # multidc sets principalType, Microsoft's remedy for the replication delay: created at once
    assert ensure_role_assignment.fn(cloud, spec, dc, principal).action == "created"
    with pytest.raises(HttpResponseError) as err:
        raw_grant(cloud, spec, dc, principal, kind="User")
    assert (err.value.status_code, err.value.error.code) == (400, "UnmatchedPrincipalType")


def test_a_cluster_without_network_contributor_on_its_subnet_fails_as_aks_does(
    cloud: AzureCloud, arm: ArmEmulator
) -> None:
    spec = spec_in(STAGING)
    dc = spec.azure_dcs[0].name
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_vnet.fn(cloud, spec, dc)
    ensure_identity.fn(cloud, spec, dc)
    with pytest.raises(PermanentAzureError) as err:
        ensure_cluster.fn(cloud, spec, dc)
    assert err.value.code == "LinkedAuthorizationFailed"
    assert "subnets/join/action" in str(err.value)
    cluster = next(c for c in arm.resources(naming.T_CLUSTER))
    assert cluster["properties"]["provisioningState"] == "Failed"
