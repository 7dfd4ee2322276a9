"""What the kubelet does before and after a container starts: init containers and readiness probes."""

from __future__ import annotations

import copy
from typing import Any

from kubernetes import client

from multidc_core import manifests
from sandbox.kube.cluster import KubeCluster
from tests.kube_helpers import FakeRuntime, api_client, statefulset, wait_for
from tests.ring_fixtures import sandbox_spec

pytest_plugins = ["tests.kube_fixtures"]

STOCK = {
    "/etc/cassandra/cassandra.yaml": "cluster_name: 'Test Cluster'\n",
    "/etc/cassandra/cassandra-rackdc.properties": "dc=dc1\nrack=rack1\n",
    "/etc/cassandra/jvm-server.options": "-Xss256k\n",
}


def _product_pod(name: str, init_command: str | None = None) -> dict[str, Any]:
    """A StatefulSet with the product's init container, volumes and mounts (the command may be replaced)."""
    spec = sandbox_spec()
    template = manifests.statefulsets(spec, spec.datacenters[0])[0]["spec"]["template"]["spec"]
    sts = statefulset(name, replicas=1)
    pod = sts["spec"]["template"]["spec"]
    pod["initContainers"] = copy.deepcopy(template["initContainers"])
    if init_command is not None:
        pod["initContainers"][0]["command"] = ["sh", "-c", init_command]
    pod["volumes"] = copy.deepcopy(template["volumes"])
    pod["containers"][0]["volumeMounts"] = [m for m in template["containers"][0]["volumeMounts"]
                                            if m["name"] != "data"]
    return sts


def test_init_containers_copy_the_config_into_the_emptydir_the_main_container_reads(
    kube_rt: KubeCluster, runtime: FakeRuntime
) -> None:
    runtime.images["cassandra:5.0"] = STOCK
    c = api_client(kube_rt)
    core, apps = client.CoreV1Api(c), client.AppsV1Api(c)
    core.create_namespace({"metadata": {"name": "dc1"}})
    core.create_namespaced_config_map("dc1", {"metadata": {"name": "cassandra-config"},
                                              "data": {"cassandra.yaml": "cluster_name: ring\n"}})
    apps.create_namespaced_stateful_set("dc1", _product_pod("good"))
    wait_for(lambda: "good-0" in runtime.starts)
    # The image's directory, with the ConfigMap's cassandra.yaml laid over it (manifests.INIT_COMMAND).
    assert runtime.files["good-0"] == {**STOCK, "/etc/cassandra/cassandra.yaml": "cluster_name: ring\n"}
    pod = core.read_namespaced_pod("good-0", "dc1")
    assert pod.status.init_container_statuses[0].state.terminated.reason == "Completed"
    # An init container that copies elsewhere leaves /etc/cassandra (an emptyDir) empty.
    apps.create_namespaced_stateful_set("dc1", _product_pod("lost", "cp /config/cassandra.yaml /tmp/"))
    wait_for(lambda: "lost-0" in runtime.starts)
    assert runtime.files["lost-0"] == {}
    # One that fails keeps the pod initializing: the main container never starts.
    apps.create_namespaced_stateful_set("dc1", _product_pod("bad", "cp /config/missing.yaml /work-config/"))
    pod = wait_for(lambda: (p := core.read_namespaced_pod("bad-0", "dc1")).status.init_container_statuses and p)
    term = pod.status.init_container_statuses[0].state.terminated
    assert term.reason == "Error" and "cp: cannot stat '/config/missing.yaml'" in term.message
    assert "bad-0" not in runtime.starts
    assert any(cond.type == "Initialized" and cond.status == "False" for cond in pod.status.conditions)
