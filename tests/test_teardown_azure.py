"""Azure teardown tasks on the ARM emulator: what lacks this ring's tags is never deleted, whatever its name."""

from __future__ import annotations

import pytest

from blocks.azure import AzureCloud
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.spec import RingSpec
from sandbox.arm import ArmEmulator
from tasks.azure_network import ensure_public_ip, ensure_resource_group
from tasks.teardown_azure import delete_dc_base, delete_links, delete_resource_group
from tests.arm_fixtures import EXAMPLES, untagged_vnet, writes


@pytest.fixture
def spec() -> RingSpec:
    return load_spec((EXAMPLES / "two-dc-vpn.yaml").read_text())


def names(arm: ArmEmulator, type_name: str) -> set[str]:
    return {r["name"] for r in arm.resources(type_name)}


def test_a_vnet_with_the_rings_name_but_not_its_tags_is_kept_and_so_is_its_group(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    a = spec.azure_dcs[0].azure
    assert a is not None
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_public_ip.fn(cloud, spec, dc)
    vnet = untagged_vnet(cloud, spec, dc)

    done = {(d.kind, d.action) for d in delete_dc_base.fn(cloud, spec, dc)}
    assert done == {
        ("public IP", "deleted"),
        ("role assignment", "absent"),
        ("managed identity", "absent"),
        ("virtual network", "kept"),
    }
    assert vnet in names(arm, naming.T_VNET)
    assert not names(arm, naming.T_PUBLIC_IP)
    assert {(d.kind, d.action) for d in delete_links.fn(cloud, spec, dc)} == {
        ("gateway connection", "absent"),
        ("VNet peering", "absent"),
    }

    group = delete_resource_group.fn(cloud, spec, a.subscription_id, a.resource_group)
    assert group.action == "kept" and vnet in group.reason
    rg = [r for r in arm.resources("Microsoft.Resources/resourceGroups") if r["name"] == a.resource_group]
    assert rg and rg[0].get("tags") == {}  # released: no longer claims the ring, the VNet survives
    assert vnet in names(arm, naming.T_VNET)


def test_a_group_without_the_rings_tags_is_never_deleted_even_when_empty(
    cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    a = spec.azure_dcs[0].azure
    assert a is not None
    cloud.resource_client(a.subscription_id).resource_groups.create_or_update(
        a.resource_group, {"location": a.location, "tags": {"owner": "someone-else"}}
    )
    before = writes(arm)
    group = delete_resource_group.fn(cloud, spec, a.subscription_id, a.resource_group)
    assert group.action == "kept" and naming.TAG_RING in group.reason
    assert writes(arm) == before
    assert a.resource_group in names(arm, "Microsoft.Resources/resourceGroups")

    gone = delete_resource_group.fn(cloud, spec, a.subscription_id, "no-such-group")
    assert gone.action == "absent"
