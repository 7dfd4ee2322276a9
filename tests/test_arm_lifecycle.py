"""Azure tasks against the emulator's lifecycle rules: Failed is reconciled, busy is retried, in use is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import CoreV1Api, V1ConfigMap, V1ObjectMeta

from blocks.azure import AzureCloud
from blocks.kube import load_kubeconfig
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.spec import RingSpec
from sandbox.arm import ArmEmulator, arm_in_thread
from sandbox.clock import Clock
from sandbox.harness import ThreadedWorld, world_in_thread
from tasks.aks import ensure_cluster, fetch_kubeconfig
from tasks.arm_errors import PermanentAzureError
from tasks.azure_network import (
    ensure_gateway,
    ensure_gateway_connection,
    ensure_peering,
    ensure_public_ip,
    ensure_resource_group,
    ensure_vnet,
)
from tasks.identity import ensure_identity, ensure_role_assignment
from tasks.teardown_azure import delete_cluster, delete_dc_base, delete_resource_group
from tests.arm_fixtures import EXAMPLES, TIME_SCALE, only, sandbox_cloud, writes


@pytest.fixture
def spec() -> RingSpec:
    return load_spec((EXAMPLES / "two-dc-vpn.yaml").read_text())


def deletes_of(arm: ArmEmulator, name: str) -> list[str]:
    return [p for m, p in writes(arm) if m == "DELETE" and p.lower().endswith("/" + name.lower())]


def network(cloud: AzureCloud, spec: RingSpec, dc: str) -> None:
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_vnet.fn(cloud, spec, dc)


def gateways_and_connection(cloud: AzureCloud, spec: RingSpec) -> tuple[str, str]:
    a, b = (d.name for d in spec.azure_dcs)
    for dc in (a, b):
        network(cloud, spec, dc)
        ensure_public_ip.fn(cloud, spec, dc)
        ensure_gateway.fn(cloud, spec, dc)
    return a, b


# --- item 2: Failed is reconciled, never deleted, unless nothing uses it ---------------------------


def test_a_gateway_still_failed_after_a_reconcile_is_kept_while_a_connection_uses_it(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    a, b = gateways_and_connection(cloud, spec)
    ensure_gateway_connection.fn(cloud, spec, a, b)
    gw = naming.gateway_name(spec.name, a)
    arm.mark_failed(gw)
    arm.faults.fail_provisioning(gw, code="VpnGatewayProvisioningFailed", message="injected: still broken")
    with pytest.raises(PermanentAzureError) as err:
        ensure_gateway.fn(cloud, spec, a)
    text = str(err.value)
    assert gw in text and "injected: still broken" in text
    assert naming.connection_name(spec.name, a, b) in text and "Not replaced" in text
    assert deletes_of(arm, gw) == []
    assert only(arm, naming.T_GATEWAY, gw)["properties"]["provisioningState"] == "Failed"


def test_a_gateway_still_failed_after_a_reconcile_is_replaced_when_nothing_uses_it(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec, caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = gateways_and_connection(cloud, spec)
    gw = naming.gateway_name(spec.name, a)
    arm.mark_failed(gw)
    arm.faults.fail_provisioning(gw, code="VpnGatewayProvisioningFailed", message="injected: still broken")
    again = ensure_gateway.fn(cloud, spec, a)
    assert (again.action, again.provisioning_state) == ("replaced", "Succeeded")
    assert len(deletes_of(arm, gw)) == 1
    assert "nothing uses it; replacing it" in caplog.text


def test_a_failed_vnet_is_reconciled_and_never_deleted(cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec) -> None:
    dc = spec.azure_dcs[0].name
    network(cloud, spec, dc)
    vnet = naming.vnet_name(spec.name, dc)
    arm.mark_failed(vnet)
    arm.faults.fail_provisioning(vnet, code="InternalServerError", message="injected: vnet broken", times=1)
    with pytest.raises(PermanentAzureError) as err:
        ensure_vnet.fn(cloud, spec, dc)
    assert "never deletes" in str(err.value) and "injected: vnet broken" in str(err.value)
    assert deletes_of(arm, vnet) == []
    assert ensure_vnet.fn(cloud, spec, dc).action == "reconciled"
    assert deletes_of(arm, vnet) == []


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path / "world", time_scale=TIME_SCALE) as tw:
        yield tw


def test_a_failed_cluster_is_reconciled_and_keeps_its_kubernetes_state(
    prefect_harness: None, world: ThreadedWorld, spec: RingSpec
) -> None:
    arm = world.world.arm
    assert arm is not None
    cloud = sandbox_cloud(arm)
    dc = spec.azure_dcs[0].name
    network(cloud, spec, dc)
    ident = ensure_identity.fn(cloud, spec, dc)
    ensure_role_assignment.fn(cloud, spec, dc, ident.principal_id)
    ensure_cluster.fn(cloud, spec, dc)
    fetch_kubeconfig.fn(cloud, spec, dc)
    core = CoreV1Api(load_kubeconfig(spec.name, dc).api_client())
    core.create_namespaced_config_map(
        "default", V1ConfigMap(metadata=V1ObjectMeta(name="data-marker"), data={"rows": "42"})
    )
    cluster = naming.cluster_name(spec.name, dc)
    world.call(lambda: arm.mark_failed(cluster))  # as a failed upgrade leaves it: still serving

    again = ensure_cluster.fn(cloud, spec, dc)
    assert (again.action, again.provisioning_state) == ("reconciled", "Succeeded")
    assert deletes_of(arm, cluster) == []
    assert core.read_namespaced_config_map("data-marker", "default").data == {"rows": "42"}


# --- item 4: an operation that ends Failed because ARM was busy is sent again ----------------------


def test_a_peering_whose_vnet_is_busy_is_retried_until_it_succeeds(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    a, b = (d.name for d in spec.azure_dcs)
    for dc in (a, b):
        network(cloud, spec, dc)
    arm.busy(naming.vnet_name(spec.name, a), 300)  # someone else's update, five simulated minutes
    got = ensure_peering.fn(cloud, spec, a, b)
    assert (got.action, got.provisioning_state) == ("created", "Succeeded")
    failed = [op for op in arm.ops.dump() if (op["error"] or {}).get("code") == "AnotherOperationInProgress"]
    assert failed, "the emulator should have refused the first peering write"


def test_a_connection_whose_gateway_is_busy_is_retried_until_it_succeeds(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    a, b = gateways_and_connection(cloud, spec)
    arm.busy(naming.gateway_name(spec.name, b), 300)
    got = ensure_gateway_connection.fn(cloud, spec, a, b)
    assert (got.action, got.provisioning_state) == ("created", "Succeeded")
    failed = [op for op in arm.ops.dump() if (op["error"] or {}).get("code") == "AnotherOperationInProgress"]
    assert failed


# --- item 5: teardown waits for deletes to settle before it decides about the group ---------------


@pytest.fixture
def slow_settling(arm_state: Path) -> Iterator[ArmEmulator]:
    """ARM's list keeps deleted resources 10 simulated minutes; a cluster's NICs stay 30."""
    with arm_in_thread(arm_state, Clock(TIME_SCALE), durations={"arm_cache": 600, "nic_release": 1800}) as emu:
        yield emu


def test_teardown_deletes_a_group_whose_deleted_contents_arm_still_lists(
    slow_settling: ArmEmulator, spec: RingSpec
) -> None:
    arm, cloud = slow_settling, sandbox_cloud(slow_settling)
    dc = spec.azure_dcs[0].name
    a = spec.azure_dcs[0].azure
    assert a is not None
    network(cloud, spec, dc)
    ensure_public_ip.fn(cloud, spec, dc)
    assert {d.action for d in delete_dc_base.fn(cloud, spec, dc)} <= {"deleted", "absent"}
    listed = cloud.resource_client(a.subscription_id).resources.list_by_resource_group(a.resource_group)
    assert [r.name for r in listed], "the emulator should still list what was just deleted"

    got = delete_resource_group.fn(cloud, spec, a.subscription_id, a.resource_group)
    assert got.action == "deleted", got.reason
    assert [r for r in arm.resources("Microsoft.Resources/resourceGroups") if r["name"] == a.resource_group] == []


def test_teardown_deletes_the_vnet_once_the_deleted_cluster_has_released_its_subnet(
    slow_settling: ArmEmulator, spec: RingSpec
) -> None:
    arm, cloud = slow_settling, sandbox_cloud(slow_settling)
    dc = spec.azure_dcs[0].name
    network(cloud, spec, dc)
    ident = ensure_identity.fn(cloud, spec, dc)
    ensure_role_assignment.fn(cloud, spec, dc, ident.principal_id)
    ensure_cluster.fn(cloud, spec, dc)
    assert delete_cluster.fn(cloud, spec, dc).action == "deleted"

    done = {d.name: d.action for d in delete_dc_base.fn(cloud, spec, dc)}
    assert done[naming.vnet_name(spec.name, dc)] == "deleted"
    assert arm.resources(naming.T_VNET) == []
    refused = [r for r in arm.requests() if r["method"] == "DELETE" and r["status"] == 400]
    assert refused, "the emulator should have refused the first VNet delete (InUseSubnetCannotBeDeleted)"


def test_the_admin_endpoint_injects_failed_busy_and_busy_operations(world: ThreadedWorld, spec: RingSpec) -> None:
    from sandbox.admin import inject

    arm = world.world.arm
    assert arm is not None
    cloud = sandbox_cloud(arm)
    dc = spec.azure_dcs[0].name
    network(cloud, spec, dc)
    vnet = naming.vnet_name(spec.name, dc)
    world.call(inject, world.world, {"kind": "arm-mark-failed", "resource": vnet})
    assert only(arm, naming.T_VNET, vnet)["properties"]["provisioningState"] == "Failed"
    world.call(inject, world.world, {"kind": "arm-busy", "resource": vnet, "seconds": 3600})
    assert only(arm, naming.T_VNET, vnet)["properties"]["provisioningState"] == "Updating"
    world.call(inject, world.world, {"kind": "arm-fail", "resource": "p1", "code": "RetryableError", "times": 3})
    assert [(f["code"], f["times"]) for f in arm.faults.list() if f["resource"] == "p1"] == [("RetryableError", 3)]
