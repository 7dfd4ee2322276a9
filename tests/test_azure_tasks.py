"""Azure tasks against the ARM emulator through the real clients: the state ARM ends in, and the writes it took."""

from __future__ import annotations

from typing import Any

import pytest
from azure.mgmt.network.models import VirtualNetwork

from blocks.azure import AzureCloud
from blocks.kube import load_kubeconfig
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.naming import shared_key_block_name
from multidc_core.spec import RingSpec
from sandbox.arm import ArmEmulator
from tasks.aks import ensure_cluster, fetch_kubeconfig
from tasks.arm_errors import DeadlineExceededError, PermanentAzureError, ResourceNotOwnedError
from tasks.azure_network import (
    ensure_gateway,
    ensure_gateway_connection,
    ensure_public_ip,
    ensure_resource_group,
    ensure_vnet,
    wait_connected,
)
from tasks.identity import ensure_identity, ensure_role_assignment
from tests.arm_fixtures import EXAMPLES, only, untagged_vnet, writes


@pytest.fixture(scope="module")
def spec() -> RingSpec:
    return load_spec((EXAMPLES / "two-dc-vpn.yaml").read_text())


def test_vnet_created_with_tags_and_a_second_call_writes_nothing(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    assert ensure_resource_group.fn(cloud, spec, dc).action == "created"
    first = ensure_vnet.fn(cloud, spec, dc)
    assert (first.action, first.provisioning_state) == ("created", "Succeeded")
    vnet = only(arm, naming.T_VNET, naming.vnet_name(spec.name, dc))
    assert vnet["tags"] == naming.tags(spec.name, dc)
    assert {s["name"] for s in vnet["properties"]["subnets"]} == {"nodes", "GatewaySubnet"}

    before = writes(arm)
    assert ensure_resource_group.fn(cloud, spec, dc).action == "unchanged"
    assert ensure_vnet.fn(cloud, spec, dc).action == "unchanged"
    assert writes(arm) == before


def test_untagged_vnet_stops_the_run_before_any_write(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    ensure_resource_group.fn(cloud, spec, dc)
    name = untagged_vnet(cloud, spec, dc)
    before = writes(arm)
    with pytest.raises(ResourceNotOwnedError) as err:
        ensure_vnet.fn(cloud, spec, dc)
    assert name in str(err.value) and "multidc-ring" in str(err.value)
    assert writes(arm) == before
    assert "tags" not in only(arm, naming.T_VNET, name) or not only(arm, naming.T_VNET, name)["tags"]


def test_drifted_vnet_is_updated_in_place(cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec) -> None:
    dc = spec.azure_dcs[0].name
    az = spec.azure_dcs[0].azure
    assert az is not None
    ensure_resource_group.fn(cloud, spec, dc)
    name = naming.vnet_name(spec.name, dc)
    drifted = {
        "location": az.location,
        "tags": naming.tags(spec.name, dc),
        "properties": {
            "addressSpace": {"addressPrefixes": [str(az.vnet_cidr)]},
            "subnets": [{"name": "nodes", "properties": {"addressPrefix": str(az.node_subnet)}}],
        },
    }
    cloud.network_client(az.subscription_id).virtual_networks.begin_create_or_update(
        az.resource_group, name, VirtualNetwork(drifted)
    ).result()
    assert ensure_vnet.fn(cloud, spec, dc).action == "updated"
    subnets = only(arm, naming.T_VNET, name)["properties"]["subnets"]
    assert {s["name"] for s in subnets} == {"nodes", "GatewaySubnet"}


def _network_for_gateway(cloud: AzureCloud, spec: RingSpec, dc: str) -> None:
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_vnet.fn(cloud, spec, dc)
    ensure_public_ip.fn(cloud, spec, dc)


def test_failed_gateway_is_reported_then_reconciled_on_rerun(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    name = naming.gateway_name(spec.name, dc)
    _network_for_gateway(cloud, spec, dc)
    arm.faults.fail_provisioning(
        name, code="VpnGatewayProvisioningFailed", message="injected gateway failure"
    )
    with pytest.raises(PermanentAzureError) as err:
        ensure_gateway.fn(cloud, spec, dc)
    assert name in str(err.value) and "injected gateway failure" in str(err.value)
    assert only(arm, naming.T_GATEWAY, name)["properties"]["provisioningState"] == "Failed"

    again = ensure_gateway.fn(cloud, spec, dc)
    # Azure's remedy for Failed is a PUT of the same body: the gateway is never deleted for it.
    assert (again.action, again.provisioning_state) == ("reconciled", "Succeeded")
    assert not any(m == "DELETE" and name in p for m, p in writes(arm))
    assert only(arm, naming.T_GATEWAY, name)["tags"] == naming.tags(spec.name, dc)


def test_throttling_and_server_errors_are_survived(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    arm.faults.add_error_rate(429, 0.4, max_count=6, retry_after=0.01)
    arm.faults.add_error_rate(500, 0.4, max_count=6)
    _network_for_gateway(cloud, spec, dc)
    counts = arm.counts()
    assert counts["throttled"] > 0 and counts["errors"] > 0
    assert (
        only(arm, naming.T_PUBLIC_IP, naming.public_ip_name(spec.name, dc))["properties"]["provisioningState"]
        == "Succeeded"
    )


def test_gateway_wait_ends_at_the_deadline_naming_gateway_and_state(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    _network_for_gateway(cloud, spec, dc)
    arm.faults.slow_type(naming.T_GATEWAY, 1000)
    impatient = cloud.model_copy(update={"gateway_deadline_seconds": 0.5})
    with pytest.raises(DeadlineExceededError) as err:
        ensure_gateway.fn(impatient, spec, dc)
    assert naming.gateway_name(spec.name, dc) in str(err.value)
    assert "InProgress" in str(err.value)


def test_identity_gets_network_contributor_on_its_subnet(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_vnet.fn(cloud, spec, dc)
    ident = ensure_identity.fn(cloud, spec, dc)
    grant = ensure_role_assignment.fn(cloud, spec, dc, ident.principal_id)
    assert grant.action == "created"
    assignment = only(arm, naming.T_ROLE_ASSIGNMENT, naming.dc_role_assignment_name(spec, dc, ident.principal_id))
    assert assignment["properties"]["principalId"] == ident.principal_id
    assert assignment["properties"]["roleDefinitionId"].endswith(naming.NETWORK_CONTRIBUTOR_ROLE)
    assert assignment["properties"]["scope"].lower() == naming.role_assignment_scope(spec, dc).lower()
    before = writes(arm)
    assert (
        ensure_role_assignment.fn(cloud, spec, dc).action == "unchanged"
    )  # principal read from the identity
    assert writes(arm) == before


def _provision_two_dcs(cloud: AzureCloud, spec: RingSpec) -> list[Any]:
    out: list[Any] = []
    dcs = [d.name for d in spec.azure_dcs]
    for dc in dcs:
        out += [ensure_resource_group.fn(cloud, spec, dc), ensure_vnet.fn(cloud, spec, dc)]
        ident = ensure_identity.fn(cloud, spec, dc)
        out += [ident, ensure_role_assignment.fn(cloud, spec, dc, ident.principal_id)]
        out += [
            ensure_cluster.fn(cloud, spec, dc),
            ensure_public_ip.fn(cloud, spec, dc),
            ensure_gateway.fn(cloud, spec, dc),
        ]
        out.append(fetch_kubeconfig.fn(cloud, spec, dc))
    a, b = dcs
    out += [ensure_gateway_connection.fn(cloud, spec, a, b), ensure_gateway_connection.fn(cloud, spec, b, a)]
    out += [wait_connected.fn(cloud, spec, a, b), wait_connected.fn(cloud, spec, b, a)]
    return out


def test_two_dc_vpn_connects_and_a_rerun_writes_nothing(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    from prefect.blocks.system import Secret

    results = _provision_two_dcs(cloud, spec)
    a, b = (d.name for d in spec.azure_dcs)
    for src, dst in ((a, b), (b, a)):
        conn = only(arm, naming.T_CONNECTION, naming.connection_name(spec.name, src, dst))
        assert conn["properties"]["connectionStatus"] == "Connected"
        assert conn["tags"] == naming.tags(spec.name, src)
    for dc in (a, b):
        cluster = only(arm, naming.T_CLUSTER, naming.cluster_name(spec.name, dc))
        assert cluster["properties"]["provisioningState"] == "Succeeded"
        assert load_kubeconfig(spec.name, dc).config_dict()["clusters"]
    key = Secret.load(shared_key_block_name(spec.name)).get()  # type: ignore[union-attr]
    assert len(key) >= 32
    assert all(key not in repr(r) for r in results)
    assert naming.kubeconfig_block_name(spec.name, a) in results

    before = writes(arm)
    rerun = _provision_two_dcs(cloud, spec)
    assert writes(arm) == before
    assert {r.action for r in rerun if hasattr(r, "action")} == {"unchanged"}
