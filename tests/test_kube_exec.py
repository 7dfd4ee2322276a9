"""Pod exec over the websocket protocol of `kubernetes.stream`, and state that survives dump/load."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from sandbox.kube.cluster import KubeCluster
from sandbox.kube.harness import running_cluster
from tests.kube_helpers import FakeRuntime, api_client, cluster_kwargs, statefulset, wait_for

pytest_plugins = ["tests.kube_fixtures"]


def _exec(core: client.CoreV1Api, pod: str, argv: list[str], **kw):
    return stream(core.connect_get_namespaced_pod_exec, pod, "dc1", command=argv, container="cassandra",
                  stderr=True, stdout=True, stdin=False, tty=False, **kw)


@pytest.fixture
def ready_pod(kube_rt: KubeCluster) -> client.CoreV1Api:
    core = client.CoreV1Api(api_client(kube_rt))
    core.create_namespace({"metadata": {"name": "dc1"}})
    core.create_namespaced_secret("dc1", {"metadata": {"name": "admin"}, "stringData": {"user": "boss"}})
    env = [{"name": "CASSANDRA_ADMIN_USER", "valueFrom": {"secretKeyRef": {"name": "admin", "key": "user"}}},
           {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    apps = client.AppsV1Api(core.api_client)
    apps.create_namespaced_stateful_set("dc1", statefulset("cassandra-r1", replicas=1, env=env))
    wait_for(lambda: apps.read_namespaced_stateful_set("cassandra-r1", "dc1").status.ready_replicas == 1)
    return core


def test_exec_preloaded_and_streamed(ready_pod: client.CoreV1Api) -> None:
    core = ready_pod
    assert _exec(core, "cassandra-r1-0", ["nodetool", "status"]) == "nodetool status\nwarn\n"
    resp = _exec(core, "cassandra-r1-0", ["fail", "2"], _preload_content=False)
    resp.run_forever(timeout=5)
    assert resp.returncode == 2 and resp.read_stderr() == "it failed\n" and resp.read_stdout() == ""
    resp = _exec(core, "cassandra-r1-0", ["env"], _preload_content=False)
    resp.run_forever(timeout=5)
    pod_ip = core.read_namespaced_pod("cassandra-r1-0", "dc1").status.pod_ip
    assert resp.returncode == 0
    assert resp.read_stdout() == f"CASSANDRA_ADMIN_USER=boss\nPOD_IP={pod_ip}\n"


def test_exec_errors(ready_pod: client.CoreV1Api, kube_rt: KubeCluster) -> None:
    with pytest.raises(ApiException) as err:
        _exec(ready_pod, "missing-0", ["true"])
    assert "404" in str(err.value)
    kube_rt.stop_container("dc1", "cassandra-r1-0")
    with pytest.raises(ApiException) as err:
        _exec(ready_pod, "cassandra-r1-0", ["true"])
    assert "400" in str(err.value)
    kube_rt.clear_faults()
    wait_for(lambda: (s := ready_pod.read_namespaced_pod("cassandra-r1-0", "dc1").status.container_statuses)
             and s[0].ready)
    assert _exec(ready_pod, "cassandra-r1-0", ["true"]) == "true\nwarn\n"


def test_dump_and_load_keep_objects_and_versions(ready_pod: client.CoreV1Api, kube_rt: KubeCluster,
                                                 tmp_path, runtime: FakeRuntime) -> None:
    state = kube_rt.dump()
    before = {p.metadata.name: p.metadata.resource_version for p in ready_pod.list_namespaced_pod("dc1").items}
    with running_cluster(**cluster_kwargs(tmp_path, name="c1", runtime=runtime), state=state) as again:
        core = client.CoreV1Api(api_client(again))
        pods = core.list_namespaced_pod("dc1").items
        assert {p.metadata.name: p.metadata.resource_version for p in pods} == before
        assert pods[0].status.container_statuses[0].ready
        assert _exec(core, "cassandra-r1-0", ["true"]) == "true\nwarn\n"
        assert again.requests()[-1]["method"] == "GET"
