"""Kubernetes emulator controllers through the real client: StatefulSets, volumes, crash loops, LBs, CoreDNS."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.clock import Clock
from sandbox.kube.cluster import KubeCluster
from sandbox.kube.harness import running_cluster
from tests.kube_helpers import FakeRuntime, api_client, cluster_kwargs, statefulset, wait_for

pytest_plugins = ["tests.kube_fixtures"]


@pytest.fixture
def api(kube_rt: KubeCluster) -> tuple[client.CoreV1Api, client.AppsV1Api]:
    c = api_client(kube_rt)
    core = client.CoreV1Api(c)
    core.create_namespace({"metadata": {"name": "dc1"}})
    return core, client.AppsV1Api(c)


def _ready(apps: client.AppsV1Api, name: str, n: int) -> bool:
    return (apps.read_namespaced_stateful_set(name, "dc1").status.ready_replicas or 0) == n


def _events(core: client.CoreV1Api, name: str) -> list[tuple[str, str]]:
    return [(e.reason, e.message) for e in
            core.list_namespaced_event("dc1", field_selector=f"involvedObject.name={name}").items]


def test_statefulset_pods_in_order_with_bound_volumes(api, runtime: FakeRuntime) -> None:
    core, apps = api
    runtime.not_ready.add("cassandra-r1-0")
    apps.create_namespaced_stateful_set("dc1", statefulset("cassandra-r1", zone="eastus-2"))
    wait_for(lambda: core.list_namespaced_pod("dc1").items and runtime.starts == ["cassandra-r1-0"])
    # OrderedReady: no second pod while the first is not Ready.
    assert [p.metadata.name for p in core.list_namespaced_pod("dc1").items] == ["cassandra-r1-0"]
    runtime.not_ready.clear()
    wait_for(lambda: _ready(apps, "cassandra-r1", 3))
    assert runtime.starts == ["cassandra-r1-0", "cassandra-r1-1", "cassandra-r1-2"]
    sts = apps.read_namespaced_stateful_set("cassandra-r1", "dc1")
    assert sts.status.replicas == 3 and sts.status.current_revision == sts.status.update_revision
    zones = {n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"] for n in core.list_node().items}
    for pod in core.list_namespaced_pod("dc1").items:
        name = pod.metadata.name
        assert pod.status.phase == "Running" and pod.status.container_statuses[0].ready
        assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network("10.1.0.0/24")
        assert runtime.envs[name]["POD_IP"] == pod.status.pod_ip
        assert pod.metadata.labels["statefulset.kubernetes.io/pod-name"] == name
        assert pod.metadata.owner_references[0].uid == sts.metadata.uid
        assert zones[pod.spec.node_name] == "eastus-2"
        pvc = core.read_namespaced_persistent_volume_claim(f"data-{name}", "dc1")
        assert pvc.status.phase == "Bound" and pvc.spec.volume_name
        assert ("SuccessfulAttachVolume", f'AttachVolume.Attach succeeded for volume "{pvc.spec.volume_name}"') in \
            _events(core, name)
    assert len({p.status.pod_ip for p in core.list_namespaced_pod("dc1").items}) == 3
    # Scale down removes the highest ordinal first and keeps its claim.
    apps.patch_namespaced_stateful_set("cassandra-r1", "dc1", {"spec": {"replicas": 2}})
    wait_for(lambda: len(core.list_namespaced_pod("dc1").items) == 2)
    assert [p.metadata.name for p in core.list_namespaced_pod("dc1").items] == ["cassandra-r1-0", "cassandra-r1-1"]
    assert "cassandra-r1-2" in runtime.stopped
    assert len(core.list_namespaced_persistent_volume_claim("dc1").items) == 3


def test_missing_storage_class_and_zone_stay_pending(api) -> None:
    core, apps = api
    apps.create_namespaced_stateful_set("dc1", statefulset("nosc", replicas=1, storage_class="premium-zrs"))
    apps.create_namespaced_stateful_set("dc1", statefulset("nozone", replicas=1, zone="westus-9"))
    wait_for(lambda: any(r == "ProvisioningFailed" for r, _ in _events(core, "data-nosc-0")))
    assert ("ProvisioningFailed", 'storageclass.storage.k8s.io "premium-zrs" not found') in _events(core, "data-nosc-0")
    assert core.read_namespaced_persistent_volume_claim("data-nosc-0", "dc1").status.phase == "Pending"
    assert core.read_namespaced_pod("nosc-0", "dc1").status.phase == "Pending"
    events = wait_for(lambda: [m for r, m in _events(core, "nozone-0") if r == "FailedScheduling"])
    assert "didn't match Pod's node affinity/selector" in events[0]
    assert core.read_namespaced_pod("nozone-0", "dc1").spec.node_name is None
    # The class appearing later lets the claim bind and the pod start.
    storage = client.StorageV1Api(core.api_client)
    storage.create_storage_class({"metadata": {"name": "premium-zrs"}, "provisioner": "disk.csi.azure.com",
                                  "volumeBindingMode": "WaitForFirstConsumer"})
    wait_for(lambda: _ready(apps, "nosc", 1))


def test_crash_loop_and_missing_secret(api, runtime: FakeRuntime, kube_rt: KubeCluster) -> None:
    core, apps = api
    runtime.crash["crashy-0"] = "Unable to contact any seeds!"
    apps.create_namespaced_stateful_set("dc1", statefulset("crashy", replicas=1))
    pod = wait_for(lambda: (p := core.read_namespaced_pod("crashy-0", "dc1")).status.container_statuses
                   and p.status.container_statuses[0].restart_count >= 2 and p)
    status = pod.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff" and not status.ready
    assert status.last_state.terminated.message == "Unable to contact any seeds!"
    assert any(r == "BackOff" for r, _ in _events(core, "crashy-0"))
    del runtime.crash["crashy-0"]
    wait_for(lambda: _ready(apps, "crashy", 1), timeout=15)
    # A Secret the env refers to that does not exist yet: CreateContainerConfigError until it does.
    env = [{"name": "CASSANDRA_ADMIN_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "admin", "key": "password"}}}]
    apps.create_namespaced_stateful_set("dc1", statefulset("sec", replicas=1, env=env))
    wait_for(lambda: (s := core.read_namespaced_pod("sec-0", "dc1").status.container_statuses)
             and s[0].state.waiting and s[0].state.waiting.reason == "CreateContainerConfigError")
    core.create_namespaced_secret("dc1", {"metadata": {"name": "admin"}, "stringData": {"password": "pw"}})
    wait_for(lambda: _ready(apps, "sec", 1))
    assert runtime.envs["sec-0"] == {"CASSANDRA_ADMIN_PASSWORD": "pw"}
    # Injected faults: a crash loop of two starts, then stop and start of the container.
    kube_rt.crash_loop("dc1", "sec-0", times=2)
    kube_rt.stop_container("dc1", "sec-0")
    wait_for(lambda: not _ready(apps, "sec", 1))
    assert "sec-0" in runtime.stopped
    kube_rt.start_container("dc1", "sec-0")
    wait_for(lambda: _ready(apps, "sec", 1), timeout=15)
    assert core.read_namespaced_pod("sec-0", "dc1").status.container_statuses[0].restart_count == 2
    assert kube_rt.fault_state()["crash_loops"] == []


def test_slow_attach_fault(api, kube_rt: KubeCluster) -> None:
    core, apps = api
    kube_rt.slow_volume_attach(extra_seconds=3600, namespace="dc1")
    apps.create_namespaced_stateful_set("dc1", statefulset("slow", replicas=1))
    wait_for(lambda: core.read_namespaced_persistent_volume_claim("data-slow-0", "dc1").status.phase == "Bound")
    assert not any(r == "SuccessfulAttachVolume" for r, _ in _events(core, "slow-0"))
    kube_rt.clear_slow_volume_attach("dc1")
    apps.delete_namespaced_stateful_set("slow", "dc1")
    apps.create_namespaced_stateful_set("dc1", statefulset("slow", replicas=1))
    wait_for(lambda: _ready(apps, "slow", 1))


def test_load_balancer_addresses(api) -> None:
    core, _ = api

    def lb(name: str, pinned: str | None = None) -> None:
        annotations = {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
        if pinned:
            annotations["service.beta.kubernetes.io/azure-load-balancer-ipv4"] = pinned
        core.create_namespaced_service("dc1", {"metadata": {"name": name, "annotations": annotations}, "spec": {
            "type": "LoadBalancer", "selector": {"k8s-app": "kube-dns"},
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "tcp", "port": 53, "protocol": "TCP"}]}})

    def address(name: str) -> str | None:
        ingress = core.read_namespaced_service(name, "dc1").status.load_balancer.ingress
        return ingress[0].ip if ingress else None

    lb("pinned", "10.1.0.250")
    lb("free")
    assert wait_for(lambda: address("pinned")) == "10.1.0.250"
    free = wait_for(lambda: address("free"))
    assert ipaddress.ip_address(free) in ipaddress.ip_network("10.1.0.0/24") and free != "10.1.0.250"
    assert core.read_namespaced_service("free", "dc1").spec.cluster_ip.startswith("10.100.")


def test_coredns_restart_is_recorded_with_snapshot(kube: KubeCluster) -> None:
    c = api_client(kube)
    core, apps = client.CoreV1Api(c), client.AppsV1Api(c)
    seen: list[tuple[str, dict]] = []
    kube.on_coredns_restart(lambda cluster, snap: seen.append((cluster, snap)))
    assert kube.coredns_restarted_at() is None
    block = "dc2.svc.cluster.local:53 {\n    forward . 10.2.0.250\n}\n"
    core.patch_namespaced_config_map("coredns-custom", "kube-system", {"data": {"multidc-dc2.server": block}})
    assert "multidc-dc2.server" not in kube.coredns_snapshot().get("coredns-custom", {})
    old_pods = {p.metadata.name for p in core.list_namespaced_pod("kube-system").items}
    apps.patch_namespaced_deployment("coredns", "kube-system", {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-05T10:00:00Z"}}}}})
    wait_for(lambda: kube.coredns_restarted_at() is not None)
    assert seen and seen[0][0] == "c1" and seen[0][1]["coredns-custom"] == {"multidc-dc2.server": block}
    assert kube.coredns_snapshot()["coredns-custom"] == {"multidc-dc2.server": block}
    # The rollout replaces the pods.
    wait_for(lambda: (names := {p.metadata.name for p in core.list_namespaced_pod(
        "kube-system", label_selector="k8s-app=kube-dns").items}) and not names & old_pods
        and apps.read_namespaced_deployment("coredns", "kube-system").status.ready_replicas == 2)


def test_template_change_rolls_pods_highest_first(api, runtime: FakeRuntime) -> None:
    core, apps = api
    apps.create_namespaced_stateful_set("dc1", statefulset("roll", replicas=2))
    wait_for(lambda: _ready(apps, "roll", 2))
    before = apps.read_namespaced_stateful_set("roll", "dc1").status.current_revision
    apps.patch_namespaced_stateful_set("roll", "dc1", {"spec": {"template": {"spec": {"containers": [
        {"name": "cassandra", "env": [{"name": "MAX_HEAP_SIZE", "value": "2G"}]}]}}}})
    sts = wait_for(lambda: (s := apps.read_namespaced_stateful_set("roll", "dc1")).status.updated_replicas == 2
                   and s.status.ready_replicas == 2 and s)
    assert sts.status.current_revision == sts.status.update_revision != before
    assert runtime.starts == ["roll-0", "roll-1", "roll-1", "roll-0"]
    assert runtime.envs["roll-0"]["MAX_HEAP_SIZE"] == "2G"


def test_merged_kubeconfig_has_a_context_per_cluster(kube: KubeCluster) -> None:
    import yaml
    from kubernetes import config

    from sandbox.kube.cluster import merged_kubeconfig

    doc = yaml.safe_load(merged_kubeconfig({"aws-1": kube, "azure-1": kube}, current="azure-1"))
    assert [c["name"] for c in doc["contexts"]] == ["aws-1", "azure-1"]
    api = config.new_client_from_config_dict(doc, context="aws-1")
    assert client.CoreV1Api(api).read_namespace("kube-system").metadata.name == "kube-system"


def test_crash_loop_without_end_keeps_the_capped_back_off(tmp_path: Path, runtime: FakeRuntime) -> None:
    """A pod that crashes a thousand times still gets kubelet's 300 s back-off (2**1024 used to overflow)."""
    runtime.crash["crashy-0"] = "Unable to contact any seeds!"
    with running_cluster(**cluster_kwargs(tmp_path, runtime=runtime, clock=Clock(1e-7))) as cluster:
        core, apps = client.CoreV1Api(api_client(cluster)), client.AppsV1Api(api_client(cluster))
        core.create_namespace({"metadata": {"name": "dc1"}})
        apps.create_namespaced_stateful_set("dc1", statefulset("crashy", replicas=1))
        pod = wait_for(lambda: (p := core.read_namespaced_pod("crashy-0", "dc1")).status.container_statuses
                       and p.status.container_statuses[0].restart_count > 1100 and p, timeout=60, interval=0.2)
    waiting = pod.status.container_statuses[0].state.waiting
    assert waiting.reason == "CrashLoopBackOff" and waiting.message.startswith("back-off 300s")


def test_a_ready_pod_turns_unready_only_after_failure_threshold_failed_probes(api, runtime: FakeRuntime) -> None:
    """The kubelet's prober changes Ready only after failureThreshold (default 3) failures in a row: a pod whose
    process stopped answering stays Ready meanwhile (up to failureThreshold x periodSeconds)."""
    core, apps = api
    apps.create_namespaced_stateful_set("dc1", statefulset("probed", replicas=1))
    wait_for(lambda: _ready(apps, "probed", 1), timeout=15)
    runtime.not_ready.add("probed-0")

    def unhealthy() -> int:
        return sum(e.count or 1 for e in core.list_namespaced_event(
            "dc1", field_selector="involvedObject.name=probed-0").items if e.reason == "Unhealthy")

    wait_for(lambda: unhealthy() >= 1, timeout=15)
    assert _ready(apps, "probed", 1), "Ready was dropped at the first failed probe"
    wait_for(lambda: not _ready(apps, "probed", 1), timeout=15)
    assert unhealthy() >= 3
    runtime.not_ready.discard("probed-0")  # successThreshold 1: the next good probe makes it Ready again
    wait_for(lambda: _ready(apps, "probed", 1), timeout=15)
