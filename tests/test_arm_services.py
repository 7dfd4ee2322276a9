"""ARM emulator: identities, role assignments, AKS with hooks, resource-group deletion, response shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization.v2022_04_01 import models as am
from azure.mgmt.containerservice import models as cm
from azure.mgmt.msi import models as mm

from sandbox.arm import DefaultHooks, arm_in_thread
from sandbox.clock import Clock
from tests.arm_fixtures import (
    SUB,
    TIME_SCALE,
    Clients,
    connection_body,
    make_clients,
    make_gateway_poller,
    make_rg,
    make_vnet,
    vnet_id,
)
from tests.paths import AZURE_SPECS

NETWORK_CONTRIBUTOR = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/" \
    "4d97b98b-1d4f-4787-a291-c67834d212e7"
SPECS = AZURE_SPECS
FAST = {k: 1.0 for k in ("gateway", "connection", "public_ip", "vnet", "subnet", "peering")}


class RecordingHooks(DefaultHooks):
    def __init__(self) -> None:
        self.provisioned: list[str] = []
        self.deleted: list[str] = []

    async def on_cluster_provisioned(self, cluster: dict[str, Any]) -> None:  # type: ignore[override]
        self.provisioned.append(cluster["name"])

    def kubeconfig_for(self, cluster: dict[str, Any]) -> str:
        return f"apiVersion: v1\nkind: Config\n# for {cluster['name']}\n"

    def on_deleted(self, resource: dict[str, Any]) -> None:
        self.deleted.append(resource["id"])


@pytest.fixture
def hooked(arm_state_dir: Path) -> Iterator[tuple[Clients, RecordingHooks]]:  # noqa: F811
    hooks = RecordingHooks()
    with arm_in_thread(arm_state_dir, Clock(TIME_SCALE), hooks, durations=FAST) as arm:
        yield make_clients(arm), hooks


def cluster_body(subnet_id: str, identity_id: str, service_cidr: str = "10.101.0.0/16",
                 dns_ip: str = "10.101.0.10") -> cm.ManagedCluster:
    return cm.ManagedCluster(
        location="eastus",
        tags={"managed-by": "multidc"},
        identity=cm.ManagedClusterIdentity(
            type="UserAssigned",
            user_assigned_identities={identity_id: cm.ManagedServiceIdentityUserAssignedIdentitiesValue()}),
        dns_prefix="dc1",
        agent_pool_profiles=[cm.ManagedClusterAgentPoolProfile(
            name="system", count=3, vm_size="Standard_D4s_v5", mode="System", vnet_subnet_id=subnet_id,
            availability_zones=["1", "2", "3"])],
        network_profile=cm.ContainerServiceNetworkProfile(
            network_plugin="azure", service_cidr=service_cidr, dns_service_ip=dns_ip),
    )


def test_identity_role_assignment_cluster_and_kubeconfig(hooked: tuple[Clients, RecordingHooks]) -> None:
    c, hooks = hooked
    make_rg(c, "rg1")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    ident = c.msi.user_assigned_identities.create_or_update("rg1", "dc1-aks-id", mm.Identity(location="eastus"))
    assert ident.principal_id and ident.client_id
    again = c.msi.user_assigned_identities.create_or_update("rg1", "dc1-aks-id", mm.Identity(location="eastus"))
    assert again.principal_id == ident.principal_id

    subnet = c.network.subnets.get("rg1", "dc1-vnet", "nodes")
    ra_name = "6f2b9a1e-2c1d-5b8e-9f00-000000000001"
    params = am.RoleAssignmentCreateParameters(role_definition_id=NETWORK_CONTRIBUTOR, principal_id=ident.principal_id,
                                               principal_type="ServicePrincipal")
    ra = c.auth.role_assignments.create(subnet.id, ra_name, params)
    assert ra.scope.lower() == subnet.id.lower()
    assert c.auth.role_assignments.create(subnet.id, ra_name, params).name == ra_name  # re-run is harmless
    listed = list(c.auth.role_assignments.list_for_scope(subnet.id, filter="atScope()"))
    assert [r.name for r in listed] == [ra_name]
    stranger = am.RoleAssignmentCreateParameters(role_definition_id=NETWORK_CONTRIBUTOR,
                                                 principal_id="11111111-2222-3333-4444-555555555555")
    with pytest.raises(HttpResponseError) as err:
        c.auth.role_assignments.create(subnet.id, "6f2b9a1e-2c1d-5b8e-9f00-000000000002", stranger)
    assert err.value.error.code == "PrincipalNotFound"

    aks = c.aks.managed_clusters
    with pytest.raises(HttpResponseError) as err:
        aks.begin_create_or_update("rg1", "dc1-aks", cluster_body(subnet.id, ident.id, "10.1.0.0/16", "10.1.0.10"))
    assert err.value.error.code == "ServiceCidrOverlapExistingSubnetsCidr"
    with pytest.raises(HttpResponseError) as err:
        aks.begin_create_or_update("rg1", "dc1-aks", cluster_body(subnet.id, ident.id, dns_ip="10.102.0.10"))
    assert err.value.error.code == "DnsServiceIpOutOfServiceCidr"
    missing_id = ident.id.replace("dc1-aks-id", "nobody")
    with pytest.raises(HttpResponseError) as err:
        aks.begin_create_or_update("rg1", "dc1-aks", cluster_body(subnet.id, missing_id))
    assert err.value.error.code == "InvalidResourceReference"

    poller = aks.begin_create_or_update("rg1", "dc1-aks", cluster_body(subnet.id, ident.id))
    assert aks.get("rg1", "dc1-aks").provisioning_state == "Creating"
    mc = poller.result()
    assert mc.provisioning_state == "Succeeded"
    assert hooks.provisioned == ["dc1-aks"]
    assert mc.identity.user_assigned_identities[ident.id].principal_id == ident.principal_id
    creds = aks.list_cluster_admin_credentials("rg1", "dc1-aks")
    assert creds.kubeconfigs[0].name == "clusterAdmin"
    assert creds.kubeconfigs[0].value == b"apiVersion: v1\nkind: Config\n# for dc1-aks\n"
    assert [m.name for m in aks.list_by_resource_group("rg1")] == ["dc1-aks"]
    assert [m.name for m in aks.list()] == ["dc1-aks"]


def test_resource_group_delete_removes_its_resources(hooked: tuple[Clients, RecordingHooks]) -> None:
    c, hooks = hooked
    make_rg(c, "rg1")
    make_rg(c, "keep")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    make_vnet(c, "keep", "dc2", "10.2.0.0/16", "10.2.0.0/20", "10.2.255.0/27")
    c.msi.user_assigned_identities.create_or_update("rg1", "dc1-aks-id", mm.Identity(location="eastus"))
    c.resource.resource_groups.begin_delete("rg1").result()
    assert not c.resource.resource_groups.check_existence("rg1")
    with pytest.raises(ResourceNotFoundError):
        c.network.virtual_networks.get("rg1", "dc1-vnet")
    remaining = {r["id"].split("/")[4] for r in c.arm.resources()}
    assert remaining == {"keep"}
    assert any(d.endswith("/dc1-vnet") for d in hooks.deleted)
    assert any(d.endswith("/subnets/nodes") for d in hooks.deleted)
    assert c.network.virtual_networks.get("keep", "dc2-vnet").provisioning_state == "Succeeded"


def test_dump_and_load_restore_the_same_world(hooked: tuple[Clients, RecordingHooks], arm_state_dir: Path) -> None:  # noqa: F811
    c, _ = hooked
    make_rg(c, "rg1")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    dump = json.loads(json.dumps(c.arm.dump()))  # plain JSON all the way
    with arm_in_thread(arm_state_dir, Clock(TIME_SCALE)) as arm2:
        arm2.load(dump)
        c2 = make_clients(arm2)
        assert [s.name for s in c2.network.virtual_networks.get("RG1", "DC1-VNET").subnets] == ["nodes", "GatewaySubnet"]


def _shape(ours: Any, example: Any, path: str = "") -> list[str]:
    """Where our JSON differs in kind from Azure's example, for the keys both have."""
    if isinstance(example, dict) and isinstance(ours, dict):
        return [p for k in ours.keys() & example.keys() for p in _shape(ours[k], example[k], f"{path}.{k}")]
    if isinstance(example, list) and isinstance(ours, list):
        return _shape(ours[0], example[0], path + "[0]") if ours and example else []
    return [] if type(ours) is type(example) else [f"{path}: {type(ours).__name__} vs {type(example).__name__}"]


def _example(rel: str) -> dict[str, Any]:
    path = SPECS / rel
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())["responses"]["200"]["body"]


def test_responses_have_the_shape_of_azure_examples(hooked: tuple[Clients, RecordingHooks]) -> None:
    c, _ = hooked
    make_rg(c, "rg1")
    make_rg(c, "rg2")
    make_vnet(c, "rg1", "dc1", "10.1.0.0/16", "10.1.0.0/20", "10.1.255.0/27")
    make_vnet(c, "rg2", "dc2", "10.2.0.0/16", "10.2.0.0/20", "10.2.255.0/27")
    for p in [make_gateway_poller(c, "rg1", "dc1"), make_gateway_poller(c, "rg2", "dc2")]:
        p.result()
    c.network.virtual_network_gateway_connections.begin_create_or_update(
        "rg1", "dc1-to-dc2", connection_body(c, "rg1", "dc1-gw", "rg2", "dc2-gw")).result()
    net = "network/resource-manager/Microsoft.Network/Network/stable"
    cases = {
        "Microsoft.Network/connections": f"{net}/2025-07-01/examples/VirtualNetworkGatewayConnectionGet.json",
        "Microsoft.Network/virtualNetworks": f"{net}/2026-03-01/examples/VirtualNetworkCreate.json",
        "Microsoft.Network/publicIPAddresses": f"{net}/2026-03-01/examples/PublicIpAddressCreateDefaults.json",
        "Microsoft.Network/virtualNetworkGateways": f"{net}/2026-01-01/examples/VirtualNetworkGatewayUpdate.json",
    }
    for type_name, rel in cases.items():
        example = _example(rel)
        ours = c.arm.resources(type_name)[0]
        assert {"id", "name", "type", "location", "properties"} <= ours.keys()
        assert ours["type"] == example["type"]
        missing = {k for k in example if k not in ("identity", "tags")} - ours.keys()
        assert not missing, (type_name, missing)
        assert _shape(ours, example) == [], type_name
    conn = c.arm.resources("Microsoft.Network/connections")[0]["properties"]
    ex = _example(cases["Microsoft.Network/connections"])["properties"]
    for k in ("connectionStatus", "connectionType", "provisioningState", "resourceGuid", "virtualNetworkGateway1",
              "routingWeight", "enableBgp", "ingressBytesTransferred", "egressBytesTransferred"):
        assert k in conn and k in ex
    assert vnet_id("rg1", "dc1").lower() in json.dumps(c.arm.resources()).lower()


def test_start_arm_runs_inside_a_larger_asyncio_program(arm_state_dir: Path) -> None:  # noqa: F811
    """The glue runs ARM and the Kubernetes servers on one loop; the async SDK shares it here."""
    import asyncio

    from azure.mgmt.network import models as nm
    from azure.mgmt.network.aio import NetworkManagementClient
    from azure.mgmt.resource.resources import models as rm
    from azure.mgmt.resource.resources.aio import ResourceManagementClient

    from sandbox.arm import start_arm
    from tests.arm_fixtures import StaticCredential

    class AsyncCredential:
        async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            return StaticCredential().get_token(*scopes)

        async def close(self) -> None:
            return None

    async def main() -> str:
        arm = await start_arm(arm_state_dir, Clock(TIME_SCALE), durations=FAST)
        kw: dict[str, Any] = {"base_url": arm.url, "connection_verify": str(arm.ca_path), "polling_interval": 0,
                              "credential_scopes": ["https://management.azure.com/.default"]}
        try:
            async with ResourceManagementClient(AsyncCredential(), SUB, **kw) as res, \
                    NetworkManagementClient(AsyncCredential(), SUB, **kw) as net:  # type: ignore[arg-type]
                await res.resource_groups.create_or_update("rg1", rm.ResourceGroup(location="eastus"))
                body = nm.VirtualNetwork(location="eastus", address_space=nm.AddressSpace(address_prefixes=["10.9.0.0/16"]))
                poller = await net.virtual_networks.begin_create_or_update("rg1", "v", body)
                return (await poller.result()).provisioning_state  # type: ignore[return-value]
        finally:
            await arm.stop()

    assert asyncio.run(main()) == "Succeeded"
