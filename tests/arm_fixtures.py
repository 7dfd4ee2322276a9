"""Fixtures for the ARM emulator tests: a running emulator and the real azure-mgmt clients pointed at it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as nm
from azure.mgmt.resource.resources import ResourceManagementClient  # azure-mgmt-resource 26 moved it
from azure.mgmt.resource.resources import models as rm

import sandbox.arm.emulator as arm_emulator
from blocks.azure import AzureCloud
from multidc.sandbox_cmd import sandbox_cloud as cli_sandbox_cloud
from multidc_core import naming
from multidc_core.spec import RingSpec
from sandbox.arm import ArmEmulator, arm_in_thread
from sandbox.clock import Clock

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SUB = "00000000-0000-0000-0000-000000000001"
TIME_SCALE = 0.0005  # a 45-minute gateway takes 1.35 s


class StaticCredential:
    """What a credential must offer azure-core's bearer policy; the emulator accepts any token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("t", int(time.time()) + 3600 * 24 * 365)


@dataclass
class Clients:
    arm: ArmEmulator
    resource: ResourceManagementClient
    network: NetworkManagementClient
    aks: ContainerServiceClient
    auth: AuthorizationManagementClient
    msi: ManagedServiceIdentityClient


def make_clients(arm: ArmEmulator, **extra: Any) -> Clients:
    kw: dict[str, Any] = {
        "base_url": arm.url,
        "connection_verify": str(arm.ca_path),
        "credential_scopes": ["https://management.azure.com/.default"],
        "polling_interval": 0,
        # Keep the SDK's retry policy, only with a short backoff so a test that survives 500s is quick.
        "retry_backoff_factor": 0.05,
        **extra,
    }
    cred = StaticCredential()
    return Clients(
        arm,
        ResourceManagementClient(cred, SUB, **kw),  # type: ignore[arg-type]
        NetworkManagementClient(cred, SUB, **kw),  # type: ignore[arg-type]
        ContainerServiceClient(cred, SUB, **kw),  # type: ignore[arg-type]
        AuthorizationManagementClient(cred, SUB, **kw),  # type: ignore[arg-type]
        ManagedServiceIdentityClient(cred, SUB, **kw),  # type: ignore[arg-type]
    )


@pytest.fixture
def azure(arm_state_dir: Path) -> Iterator[Clients]:
    with arm_in_thread(arm_state_dir, Clock(TIME_SCALE)) as arm:
        yield make_clients(arm)


# --- the AzureCloud block the product's tasks use, against the emulator ----------------------------

WRITES = ("PUT", "PATCH", "DELETE")


def writes(arm: ArmEmulator) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in arm.requests() if r["method"] in WRITES]


def only(arm: ArmEmulator, type_name: str, name: str) -> dict[str, Any]:
    found = [r for r in arm.resources(type_name) if r["name"] == name]
    assert len(found) == 1, f"{type_name}/{name}: {len(found)} found"
    return found[0]


def running_emulator(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmEmulator]:
    """The ARM emulator in a thread, as the `arm` fixture (tests/conftest.py) runs it."""
    try:
        int(arm_emulator.retry_after(1.0, 0.01))
    except ValueError:
        # azure-mgmt-network deserializes a PUT's Retry-After as int; until the emulator sends
        # whole seconds, send "0", which azure-core ignores in favour of the block's poll interval.
        monkeypatch.setattr(arm_emulator, "retry_after", lambda remaining, floor: "0")
    with arm_in_thread(state_dir, Clock(TIME_SCALE)) as emu:
        yield emu


# Bounded: a wait that cannot end fails naming its resource long before pytest's 300 s.
TEST_DEADLINE_S = 120.0


def sandbox_cloud(arm: ArmEmulator) -> AzureCloud:
    """The block `multidc sandbox connect` saves, with test deadlines and polls ten times as fast."""
    block = cli_sandbox_cloud({"arm_url": arm.url, "ca_path": str(arm.ca_path)}, deadline_s=TEST_DEADLINE_S)
    assert isinstance(block, AzureCloud)
    return block.model_copy(update={"poll_interval_seconds": 0.02, "retry_backoff_seconds": 0.01})


def untagged_vnet(cloud: AzureCloud, spec: RingSpec, dc: str) -> str:
    """The DC's VNet, by its ring name, created by hand without multidc's tags; returns its name."""
    az = spec.dc(dc).azure
    assert az is not None
    name = naming.vnet_name(spec.name, dc)
    cloud.network_client(az.subscription_id).virtual_networks.begin_create_or_update(
        az.resource_group,
        name,
        nm.VirtualNetwork(
            {"location": az.location, "properties": {"addressSpace": {"addressPrefixes": [str(az.vnet_cidr)]}}}
        ),
    ).result()
    return name


# --- builders for the two-DC topology, the way the product's tasks will call the SDK -------------


def vnet_id(rg: str, dc: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{dc}-vnet"


def make_rg(c: Clients, rg: str, location: str = "eastus") -> None:
    c.resource.resource_groups.create_or_update(rg, rm.ResourceGroup(location=location, tags={"managed-by": "multidc"}))


def make_vnet(c: Clients, rg: str, dc: str, space: str, nodes: str, gw: str, location: str = "eastus") -> Any:
    body = nm.VirtualNetwork(
        location=location,
        tags={"managed-by": "multidc"},
        address_space=nm.AddressSpace(address_prefixes=[space]),
        subnets=[nm.Subnet(name="nodes", address_prefix=nodes), nm.Subnet(name="GatewaySubnet", address_prefix=gw)],
    )
    return c.network.virtual_networks.begin_create_or_update(rg, f"{dc}-vnet", body).result()


def make_pip(c: Clients, rg: str, dc: str) -> Any:
    body = nm.PublicIPAddress(location="eastus", sku=nm.PublicIPAddressSku(name="Standard"),
                              public_ip_allocation_method="Static", zones=["1", "2", "3"])
    return c.network.public_ip_addresses.begin_create_or_update(rg, f"{dc}-gw-ip", body).result()


def gateway_body(c: Clients, rg: str, dc: str, sku: str = "VpnGw1AZ") -> Any:
    pip = make_pip(c, rg, dc)
    subnet = c.network.subnets.get(rg, f"{dc}-vnet", "GatewaySubnet")
    return nm.VirtualNetworkGateway(
        location="eastus",
        gateway_type="Vpn",
        vpn_type="RouteBased",
        sku=nm.VirtualNetworkGatewaySku(name=sku, tier=sku),
        ip_configurations=[nm.VirtualNetworkGatewayIPConfiguration(
            name="default", subnet=nm.SubResource(id=subnet.id), public_ip_address=nm.SubResource(id=pip.id))],
    )


def make_gateway_poller(c: Clients, rg: str, dc: str, sku: str = "VpnGw1AZ") -> Any:
    return c.network.virtual_network_gateways.begin_create_or_update(rg, f"{dc}-gw", gateway_body(c, rg, dc, sku))


def connection_body(c: Clients, rg1: str, gw1: str, rg2: str, gw2: str, key: str = "s3cret-key") -> Any:
    g1 = c.network.virtual_network_gateways.get(rg1, gw1)
    g2 = c.network.virtual_network_gateways.get(rg2, gw2)
    return nm.VirtualNetworkGatewayConnection(
        location="eastus", connection_type="Vnet2Vnet", virtual_network_gateway1=g1,
        virtual_network_gateway2=g2, shared_key=key)
