"""The teardown flow on the sandbox: what a ring leaves behind in ARM and in its clusters, and what it must not touch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.network.models import PublicIPAddress, PublicIPAddressPropertiesFormat, PublicIPAddressSku
from kubernetes import config
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api, V1Namespace, V1ObjectMeta
from kubernetes.client.exceptions import ApiException
from prefect.blocks.system import Secret
from pydantic import SecretStr

from blocks.azure import AzureCloud
from blocks.kube import load_kubeconfig
from flows.provision import provision_azure
from flows.spec_ref import SpecRef
from flows.teardown import TeardownResult, teardown
from multidc_core import naming
from multidc_core.corefile import insert_server_blocks
from multidc_core.naming import admin_block_name, kubeconfig_block_name, shared_key_block_name
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld, world_in_thread
from tests import sandbox_steps as steps

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RING = "tdown"
CLOUD_BLOCK = "teardown-sandbox-arm"
FOREIGN_IP = "someone-elses-ip"
FOREIGN_KEY = "other-team.server"
FOREIGN_BLOCK = "example.org:53 {\n    forward . 10.99.0.53\n}\n"
PASSWORD = "test-admin-password"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path / "world", time_scale=0.0005) as tw:
        yield tw


def spec_file(tmp_path: Path, example: str, ring: str, replace: dict[str, str] | None = None) -> SpecRef:
    text = (EXAMPLES / example).read_text()
    text = "\n".join(f"name: {ring}" if line.startswith("name:") else line for line in text.splitlines())
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    path = tmp_path / f"{ring}.yaml"
    path.write_text(text + "\n")
    return SpecRef(path=str(path))


def save_cloud(tw: ThreadedWorld) -> AzureCloud:
    arm = tw.world.arm
    assert arm is not None and arm.ca_path is not None
    cloud = AzureCloud(
        arm_endpoint=arm.url,
        credential_kind="static-token",
        static_token="sandbox",  # type: ignore[arg-type]
        ca_bundle=Path(arm.ca_path).read_text(),
        poll_interval_seconds=0.02,
        retry_backoff_seconds=0.01,
        retry_deadline_seconds=1.0,  # an injected fault gives up quickly instead of after 10 minutes
    )
    cloud.save(CLOUD_BLOCK, overwrite=True)
    return cloud


def build_azure_ring(tw: ThreadedWorld, spec: RingSpec, cloud: AzureCloud) -> dict[str, ApiClient]:
    """Provision with the flow, then the Kubernetes side by hand; plus what teardown must leave alone."""
    state = provision_azure(spec, CLOUD_BLOCK, return_state=True)
    assert state.is_completed(), state.message
    apis = {d.name: load_kubeconfig(spec.name, d.name).api_client() for d in spec.datacenters}
    dns = {dc: steps.expose_dns(api, spec, dc) for dc, api in apis.items()}
    for dc, api in apis.items():
        steps.forward_dns(api, spec, dc, {o: ip for o, ip in dns.items() if o != dc})
        steps.deploy_cassandra(api, spec, dc, PASSWORD)
        CoreV1Api(api).patch_namespaced_config_map(
            naming.COREDNS_CUSTOM, naming.KUBE_SYSTEM, {"data": {FOREIGN_KEY: FOREIGN_BLOCK}}
        )
    Secret(value=SecretStr("{}")).save(admin_block_name(spec.name), overwrite=True)
    a = spec.azure_dcs[0].azure
    assert a is not None
    cloud.network_client(a.subscription_id).public_ip_addresses.begin_create_or_update(
        a.resource_group,
        FOREIGN_IP,
        PublicIPAddress(
            location=a.location,
            sku=PublicIPAddressSku(name="Standard"),
            properties=PublicIPAddressPropertiesFormat(public_ip_allocation_method="Static"),
        ),
    ).result()
    return apis


def run(ref: SpecRef, confirm: str) -> Any:
    return teardown(ref, CLOUD_BLOCK, confirm=confirm, return_state=True)


def ring_resources(tw: ThreadedWorld, ring: str) -> list[str]:
    """Every ARM resource that is this ring's: by tag, and role assignments by their description."""
    assert tw.world.arm is not None
    out = []
    for r in tw.world.arm.resources():
        tags = r.get("tags") or {}
        described = f"{naming.TAG_RING}={ring} " in ((r.get("properties") or {}).get("description") or "")
        if tags.get(naming.TAG_RING) == ring or described:
            out.append(r["id"])
    return out


def names(tw: ThreadedWorld, type_name: str) -> set[str]:
    assert tw.world.arm is not None
    return {r["name"] for r in tw.world.arm.resources(type_name)}


def groups(tw: ThreadedWorld) -> set[str]:
    return names(tw, "Microsoft.Resources/resourceGroups")


def block_exists(name: str, kind: type[Any] = Secret) -> bool:
    try:
        kind.load(name)
    except ValueError:
        return False
    return True


def namespaces(api: ApiClient) -> set[str]:
    items: list[Any] = CoreV1Api(api).list_namespace().items
    return {str(ns.metadata.name) for ns in items}


def exists(read: Any, *args: str) -> bool:
    try:
        read(*args)
    except ApiException as exc:
        assert exc.status == 404
        return False
    return True


def coredns_custom(api: ApiClient) -> dict[str, str]:
    cm = CoreV1Api(api).read_namespaced_config_map(naming.COREDNS_CUSTOM, naming.KUBE_SYSTEM)
    return dict(cm.data or {})


def restarted_at(api: ApiClient) -> str | None:
    dep: Any = AppsV1Api(api).read_namespaced_deployment(naming.COREDNS_DEPLOYMENT, naming.KUBE_SYSTEM)
    return (dep.spec.template.metadata.annotations or {}).get(naming.RESTARTED_AT_ANNOTATION)


def assert_cluster_clean(api: ApiClient, spec: RingSpec) -> None:
    core = CoreV1Api(api)
    assert not {d.namespace for d in spec.datacenters} & namespaces(api)
    assert not exists(core.read_namespaced_service, naming.DNS_SERVICE_NAME, naming.KUBE_SYSTEM)


def test_wrong_confirm_deletes_nothing_right_one_leaves_no_tagged_resource_and_a_rerun_deletes_nothing(
    prefect_harness: None, world: ThreadedWorld, tmp_path: Path
) -> None:
    ref = spec_file(tmp_path, "sandbox.yaml", RING)
    spec = ref.load()
    cloud = save_cloud(world)
    apis = build_azure_ring(world, spec, cloud)
    before = ring_resources(world, RING)
    assert len(before) > 10

    for wrong in ("", "sandbox", RING.upper()):
        state = run(ref, wrong)
        assert state.is_failed()
        assert "pass the ring name as confirm" in str(state.message)
    assert ring_resources(world, RING) == before
    for d in spec.datacenters:
        assert d.namespace in namespaces(apis[d.name])
    assert block_exists(shared_key_block_name(RING))

    state = run(ref, RING)
    assert state.is_completed(), state.message
    result = state.result()
    assert isinstance(result, TeardownResult)
    assert ring_resources(world, RING) == []
    # The untagged public IP survives, and so does the group holding it; the other group is gone.
    assert FOREIGN_IP in names(world, naming.T_PUBLIC_IP)
    assert groups(world) == {spec.datacenters[0].azure.resource_group}  # type: ignore[union-attr]
    assert not any(name.startswith(RING) for name in world.world.clusters)
    counts = result.counts
    assert counts["Namespace"] == 2 and counts["Service"] == 2
    assert counts["coredns-custom entry"] == 2  # one remote zone per DC, the foreign key untouched
    assert counts["AKS cluster"] == 2 and counts["VPN gateway"] == 2 and counts["gateway connection"] == 2
    assert counts["virtual network"] == 2 and counts["resource group"] == 1
    kept = [(k.kind, k.name) for k in result.kept]
    assert kept == [("resource group", spec.datacenters[0].azure.resource_group)]  # type: ignore[union-attr]
    for name in (shared_key_block_name(RING), admin_block_name(RING)):
        assert not block_exists(name)
    assert not any(block_exists(kubeconfig_block_name(RING, d.name)) for d in spec.datacenters)

    state = run(ref, RING)
    assert state.is_completed(), state.message
    again = state.result()
    assert again.counts == {}
    assert {i.action for i in again.items} <= {"absent", "skipped", "kept"}
    assert FOREIGN_IP in names(world, naming.T_PUBLIC_IP)


def test_partial_teardown_cleans_the_clusters_first_and_a_rerun_finishes_it(
    prefect_harness: None, world: ThreadedWorld, tmp_path: Path
) -> None:
    ring = "tdpart"
    ref = spec_file(tmp_path, "sandbox.yaml", ring)
    spec = ref.load()
    cloud = save_cloud(world)
    apis = build_azure_ring(world, spec, cloud)
    restarts = {dc: restarted_at(api) for dc, api in apis.items()}
    arm = world.world.arm
    assert arm is not None
    fault = arm.faults.add_error_rate(500, 1.0, methods=["DELETE"], path_contains="managedClusters")

    time.sleep(1.1)  # restartedAt has a one-second resolution: the teardown's restart must differ
    state = run(ref, ring)
    assert state.is_failed()
    assert "AKS cluster" in str(state.message)
    # Kubernetes went first and is clean in both (still running) clusters; only our keys went.
    for dc, api in apis.items():
        assert_cluster_clean(api, spec)
        assert coredns_custom(api) == {FOREIGN_KEY: FOREIGN_BLOCK}
        assert restarted_at(api) != restarts[dc]
    # Links went before the failing cluster deletes; the clusters and the blocks to reach them stay.
    assert not names(world, naming.T_CONNECTION)
    assert {naming.cluster_name(ring, d.name) for d in spec.datacenters} <= names(world, naming.T_CLUSTER)
    assert block_exists(kubeconfig_block_name(ring, "dc1"), type(load_kubeconfig(ring, "dc1")))

    # Second stop, later: the clusters go, the grants (and so the VNets) do not; the blocks stay behind.
    arm.faults.remove(fault)
    fault = arm.faults.add_error_rate(500, 1.0, methods=["DELETE"], path_contains="roleAssignments")
    state = run(ref, ring)
    assert state.is_failed()
    assert "role assignment" in str(state.message)
    assert not names(world, naming.T_CLUSTER) and names(world, naming.T_VNET)
    assert block_exists(kubeconfig_block_name(ring, "dc1"), type(load_kubeconfig(ring, "dc1")))

    # The re-run meets clusters that are gone (their API refuses connections): skipped, then finished.
    arm.faults.remove(fault)
    state = run(ref, ring)
    assert state.is_completed(), state.message
    result = state.result()
    assert ring_resources(world, ring) == []
    assert FOREIGN_IP in names(world, naming.T_PUBLIC_IP)
    assert result.counts == {
        "role assignment": 2,
        "managed identity": 2,
        "virtual network": 2,
        "resource group": 1,
        "Secret block": 2,
        "kubeconfig block": 2,
    }
    skipped = {(i.name, i.reason) for i in result.items if i.action == "skipped"}
    assert skipped == {("dc1", "unreachable"), ("dc2", "unreachable")}


def test_existing_clusters_lose_only_the_rings_objects_and_a_foreign_namespace_stops_teardown(
    prefect_harness: None, world: ThreadedWorld, tmp_path: Path
) -> None:
    ring = "tdexist"
    kubeconfig = world.add_existing("seed-blog")
    ref = spec_file(tmp_path, "existing-clusters.yaml", ring, {"~/.kube/config": str(kubeconfig)})
    spec = ref.load()
    apis = {d.name: api_for_existing(kubeconfig, d.kubeconfig.context) for d in spec.datacenters}  # type: ignore[union-attr]
    aws, azure = apis["aws-1"], apis["azure-1"]
    corefile_before = corefile(aws)
    dns = {dc: steps.expose_dns(api, spec, dc, world.world.lb_dns_name) for dc, api in apis.items()}
    steps.forward_dns(azure, spec, "azure-1", {"aws-1": dns["aws-1"]})
    CoreV1Api(azure).patch_namespaced_config_map(
        naming.COREDNS_CUSTOM, naming.KUBE_SYSTEM, {"data": {FOREIGN_KEY: FOREIGN_BLOCK}}
    )
    edited = insert_server_blocks(corefile_before, spec, "aws-1", {"azure-1": dns["azure-1"]})
    CoreV1Api(aws).patch_namespaced_config_map("coredns", naming.KUBE_SYSTEM, {"data": {"Corefile": edited}})
    for dc, api in apis.items():
        steps.deploy_cassandra(api, spec, dc, PASSWORD)
    CoreV1Api(aws).create_namespace(V1Namespace(metadata=V1ObjectMeta(name="not-ours")))

    state = teardown(ref, "no-such-block", confirm=ring, return_state=True)  # no Azure DC: block unused
    assert state.is_completed(), state.message
    for api in apis.values():
        assert_cluster_clean(api, spec)
    assert coredns_custom(azure) == {FOREIGN_KEY: FOREIGN_BLOCK}
    assert corefile(aws) == corefile_before
    assert "not-ours" in namespaces(aws)
    assert state.result().counts == {
        "Namespace": 2,
        "Service": 2,
        "coredns-custom entry": 1,
        "Corefile section": 1,
    }

    state = teardown(ref, "no-such-block", confirm=ring, return_state=True)
    assert state.is_completed(), state.message
    assert state.result().counts == {}

    # A namespace with the ring's name that multidc did not label stops the run and survives it.
    CoreV1Api(aws).create_namespace(V1Namespace(metadata=V1ObjectMeta(name="aws-1")))
    state = teardown(ref, "no-such-block", confirm=ring, return_state=True)
    assert state.is_failed()
    assert "namespace aws-1" in str(state.message) and "not labelled" in str(state.message)
    assert "aws-1" in namespaces(aws)


def api_for_existing(kubeconfig: Path, context: str) -> ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig), context=context)


def corefile(api: ApiClient) -> str:
    cm: Any = CoreV1Api(api).read_namespaced_config_map("coredns", naming.KUBE_SYSTEM)
    return str(cm.data["Corefile"])
