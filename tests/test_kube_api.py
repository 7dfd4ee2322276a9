"""The Kubernetes emulator's API through the real `kubernetes` client: CRUD, Status errors, patches, watch."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from sandbox.kube.cluster import KubeCluster
from tests.kube_helpers import api_client, statefulset, wait_for

pytest_plugins = ["tests.kube_fixtures"]


def _cm(name: str, **data: str) -> dict:
    return {"metadata": {"name": name, "labels": {"app": "demo", "tier": name}}, "data": data}


def test_discovery_version_and_auth(kube: KubeCluster) -> None:
    api = api_client(kube)
    assert client.VersionApi(api).get_code().git_version.startswith("v1.")
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "policy", "networking.k8s.io", "storage.k8s.io"} <= groups
    bad = kube.kubeconfig_dict()
    bad["users"][0]["user"]["token"] = "wrong"
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(config.new_client_from_config_dict(bad)).list_namespace()
    assert err.value.status == 401
    assert kube.requests()[-1]["status"] == 401


def test_initial_objects(core: client.CoreV1Api) -> None:
    nodes = core.list_node().items
    assert sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes) == [
        "eastus-1", "eastus-2", "eastus-3"]
    dns = core.read_namespaced_service("kube-dns", "kube-system")
    assert dns.spec.cluster_ip == "10.100.0.10"
    assert dns.metadata.labels["addonmanager.kubernetes.io/mode"] == "Reconcile"
    assert core.read_namespaced_config_map("coredns-custom", "kube-system").data in (None, {})
    assert "import custom/*.server" in core.read_namespaced_config_map("coredns", "kube-system").data["Corefile"]
    classes = {s.metadata.name: s for s in client.StorageV1Api(core.api_client).list_storage_class().items}
    assert {"managed-csi", "managed-csi-premium", "default"} <= set(classes)
    assert classes["managed-csi"].volume_binding_mode == "WaitForFirstConsumer"
    wait_for(lambda: all(p.status.phase == "Running" for p in core.list_namespaced_pod(
        "kube-system", label_selector="k8s-app=kube-dns").items))


def test_crud_and_status_errors(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "dc1"}})
    created = core.create_namespaced_config_map("dc1", _cm("a", k="1"))
    assert created.metadata.uid and created.metadata.creation_timestamp and created.metadata.resource_version
    core.create_namespaced_config_map("dc1", _cm("b", k="2"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("dc1", _cm("a"))
    assert err.value.status == 409 and "AlreadyExists" in err.value.body
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("nope", "dc1")
    assert err.value.status == 404 and '"reason": "NotFound"' in err.value.body
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("dc1", _cm("Bad_Name"))
    assert err.value.status == 422
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-ns", _cm("a"))
    assert err.value.status == 404
    assert [c.metadata.name for c in core.list_namespaced_config_map("dc1", label_selector="tier in (b)").items] == ["b"]
    assert [c.metadata.name for c in core.list_namespaced_config_map(
        "dc1", field_selector="metadata.name=a").items] == ["a"]
    # PUT with the current resourceVersion wins; with a stale one it is a 409 Conflict.
    current = core.read_namespaced_config_map("a", "dc1")
    current.data = {"k": "changed"}
    replaced = core.replace_namespaced_config_map("a", "dc1", current)
    assert replaced.metadata.resource_version != created.metadata.resource_version
    assert replaced.metadata.uid == created.metadata.uid
    stale = _cm("a", k="stale")
    stale["metadata"]["resourceVersion"] = created.metadata.resource_version
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("a", "dc1", stale)
    assert err.value.status == 409 and "Conflict" in err.value.body
    core.delete_namespaced_config_map("a", "dc1")
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map("a", "dc1")
    assert err.value.status == 404


def test_patches_and_no_op_writes(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    core.create_namespace({"metadata": {"name": "dc1"}})
    cm = core.create_namespaced_config_map("dc1", _cm("a", k="1", gone="x"))
    rv = cm.metadata.resource_version
    same = core.patch_namespaced_config_map("a", "dc1", {"data": {"k": "1"}},
                                            _content_type="application/merge-patch+json")
    assert same.metadata.resource_version == rv
    assert core.replace_namespaced_config_map("a", "dc1", same).metadata.resource_version == rv
    patched = core.patch_namespaced_config_map("a", "dc1", {"data": {"k": "2", "gone": None}},
                                               _content_type="application/merge-patch+json")
    assert patched.data == {"k": "2"} and patched.metadata.resource_version != rv
    patched = core.patch_namespaced_config_map("a", "dc1", [{"op": "add", "path": "/data/j", "value": "3"}])
    assert patched.data == {"k": "2", "j": "3"}
    # A dict body is a strategic merge patch: containers and env merge by name.
    apps.create_namespaced_stateful_set("dc1", statefulset("s", replicas=0))
    sts = apps.patch_namespaced_stateful_set("s", "dc1", {"spec": {"template": {"spec": {"containers": [
        {"name": "cassandra", "env": [{"name": "CASSANDRA_DC", "value": "dc9"}, {"name": "NEW", "value": "1"}]}]}}}})
    container = sts.spec.template.spec.containers[0]
    assert container.image == "cassandra:5.0"
    assert {e.name: e.value for e in container.env} == {"POD_IP": None, "CASSANDRA_DC": "dc9", "NEW": "1"}
    assert sts.metadata.generation == 2
    # The controller writes status once it has seen generation 2; after that a no-op patch keeps the version.
    settled = wait_for(lambda: (s := apps.read_namespaced_stateful_set("s", "dc1")).status.observed_generation == 2
                       and s)
    again = apps.patch_namespaced_stateful_set("s", "dc1", {"spec": {"replicas": 0}})
    assert again.metadata.resource_version == settled.metadata.resource_version


def test_secret_string_data_and_events_field_selector(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "dc1"}})
    core.create_namespaced_secret("dc1", {"metadata": {"name": "cassandra-admin"},
                                          "stringData": {"username": "admin", "password": "s3cret"}})
    secret = core.read_namespaced_secret("cassandra-admin", "dc1")
    assert base64.b64decode(secret.data["password"]).decode() == "s3cret" and secret.type == "Opaque"
    pinned_outside = {"service.beta.kubernetes.io/azure-load-balancer-ipv4": "192.168.1.1"}
    core.create_namespaced_service("dc1", {"metadata": {"name": "lb", "annotations": pinned_outside}, "spec": {
        "type": "LoadBalancer", "ports": [{"port": 53}], "selector": {"app": "x"}}})
    events = wait_for(lambda: core.list_namespaced_event("dc1", field_selector="involvedObject.name=lb").items)
    assert events[0].reason == "SyncLoadBalancerFailed" and events[0].involved_object.kind == "Service"


def test_namespace_delete_cascades(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    core.create_namespace({"metadata": {"name": "dc1"}})
    core.create_namespaced_config_map("dc1", _cm("a"))
    apps.create_namespaced_stateful_set("dc1", statefulset("s", replicas=1))
    wait_for(lambda: core.list_namespaced_persistent_volume_claim("dc1").items)
    core.delete_namespace("dc1")
    with pytest.raises(ApiException):
        core.read_namespace("dc1")
    assert core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=dc1").items == []
    assert core.list_pod_for_all_namespaces(field_selector="metadata.namespace=dc1").items == []
    assert apps.list_stateful_set_for_all_namespaces().items == []
    core.create_namespace({"metadata": {"name": "dc1"}})
    assert core.list_namespaced_config_map("dc1").items == []


def test_watch_streams_changes(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "dc1"}})
    core.create_namespaced_config_map("dc1", _cm("a"))
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, "dc1", timeout_seconds=1):
        seen.append((event["type"], event["object"].metadata.name))
        break
    assert seen == [("ADDED", "a")]


def test_other_kinds_round_trip(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    core.create_namespace({"metadata": {"name": "dc1"}})
    api = core.api_client
    labels = {"app": "cassandra"}
    pdb = client.PolicyV1Api(api).create_namespaced_pod_disruption_budget("dc1", {
        "metadata": {"name": "cassandra"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}})
    assert pdb.spec.max_unavailable == 1
    net = client.NetworkingV1Api(api)
    net.create_namespaced_network_policy("dc1", {"metadata": {"name": "cassandra"}, "spec": {
        "podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"],
        "ingress": [{"ports": [{"port": 9042, "protocol": "TCP"}]}]}})
    assert net.read_namespaced_network_policy("cassandra", "dc1").spec.ingress[0].ports[0].port == 9042
    svc = core.create_namespaced_service("dc1", {"metadata": {"name": "cassandra", "labels": labels}, "spec": {
        "clusterIP": "None", "publishNotReadyAddresses": True, "selector": labels,
        "ports": [{"name": "cql", "port": 9042}]}})
    assert svc.spec.cluster_ip == "None" and svc.spec.publish_not_ready_addresses
    with pytest.raises(ApiException) as err:
        sts = statefulset("s")
        sts["spec"]["selector"] = {"matchLabels": {"app": "other"}}
        apps.create_namespaced_stateful_set("dc1", sts)
    assert err.value.status == 422
    dep = apps.create_namespaced_deployment("dc1", {"metadata": {"name": "web"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "nginx", "envFrom": [{"configMapRef": {"name": "web-env"}}]}]}}}})
    assert dep.metadata.generation == 1
    core.create_namespaced_config_map("dc1", {"metadata": {"name": "web-env"}, "data": {"A": "1"}})
    wait_for(lambda: apps.read_namespaced_deployment("web", "dc1").status.ready_replicas == 1)


def test_service_delete_answers_the_service_and_configmap_delete_a_status() -> None:
    from sandbox.kube.harness import running_cluster

    with running_cluster(name="del") as cluster:
        api = client.CoreV1Api(config.new_client_from_config_dict(cluster.kubeconfig_dict()))
        api.create_namespaced_service("default", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
        api.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
        assert api.delete_namespaced_service("s", "default").metadata.name == "s"
        answer = api.delete_namespaced_config_map("c", "default")  # typed as `object` by client 37: a dict
        assert (answer["status"] if isinstance(answer, dict) else answer.status) == "Success"
        assert cluster.get("Service", "default", "s") is None and cluster.get("ConfigMap", "default", "c") is None
