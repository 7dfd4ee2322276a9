"""What the kubelet does before and after a container starts: init containers and readiness probes."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from multidc_core import manifests, naming
from sandbox.kube import tables
from sandbox.kube.cluster import KubeCluster
from sandbox.kube.harness import running_cluster
from sandbox.ring.cluster import RingSim
from sandbox.ring.network import InMemoryNetwork
from sandbox.ring.testing import make_world
from sandbox.runtime import CassandraRuntime
from tasks.kube_access import exec_in_pod
from tasks.kube_client import request
from tasks.kube_objects import diagnose_pod
from tasks.kube_watch import watch_until
from tasks.start_gate import gate_state
from tests.kube_helpers import FakeRuntime, api_client, cluster_kwargs, statefulset, wait_for
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
    pod["initContainers"] = copy.deepcopy(template["initContainers"][:1])  # the config copy alone
    if init_command is not None:
        pod["initContainers"][0]["command"] = ["sh", "-c", init_command]
    pod["volumes"] = copy.deepcopy(template["volumes"])
    pod["containers"][0]["volumeMounts"] = [m for m in template["containers"][0]["volumeMounts"]
                                            if m["name"] != "data"]
    return sts


def _namespace_with_config(
    kube_rt: KubeCluster, runtime: FakeRuntime
) -> tuple[client.ApiClient, client.CoreV1Api, client.AppsV1Api]:
    """Namespace dc1 with the product's ConfigMap, over an image holding STOCK."""
    runtime.images["cassandra:5.0"] = STOCK
    c = api_client(kube_rt)
    core, apps = client.CoreV1Api(c), client.AppsV1Api(c)
    core.create_namespace({"metadata": {"name": "dc1"}})
    core.create_namespaced_config_map("dc1", {"metadata": {"name": "cassandra-config"},
                                              "data": {"cassandra.yaml": "cluster_name: ring\n"}})
    return c, core, apps


def test_init_containers_copy_the_config_into_the_emptydir_the_main_container_reads(
    kube_rt: KubeCluster, runtime: FakeRuntime
) -> None:
    c, core, apps = _namespace_with_config(kube_rt, runtime)
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


def _probed(name: str, command: str | None) -> dict[str, Any]:
    sts = statefulset(name, replicas=1)
    container = sts["spec"]["template"]["spec"]["containers"][0]
    if command is None:
        del container["readinessProbe"]
    else:
        container["readinessProbe"] = {"exec": {"command": ["sh", "-c", command]}, "periodSeconds": 15}
    return sts


def test_readiness_probes_run_their_command_through_the_pods_shell(tmp_path: Path) -> None:
    net = InMemoryNetwork()
    with running_cluster(**cluster_kwargs(tmp_path, runtime=CassandraRuntime(RingSim(net), net))) as kube:
        c = api_client(kube)
        core, apps = client.CoreV1Api(c), client.AppsV1Api(c)
        core.create_namespace({"metadata": {"name": "dc1"}})
        # The product's probe: `nodetool status | grep -E "^UN\s+${POD_IP}\s"`.
        apps.create_namespaced_stateful_set("dc1", _probed("right", manifests.READINESS_COMMAND))
        apps.create_namespaced_stateful_set("dc1", _probed("wrong", manifests.READINESS_COMMAND.replace(
            "${POD_IP}", "10.9.9.9")))
        apps.create_namespaced_stateful_set("dc1", _probed("none", None))
        wait_for(lambda: _ready(core, "right-0") and _ready(core, "none-0"))
        wrong = wait_for(lambda: (p := core.read_namespaced_pod("wrong-0", "dc1")).status.container_statuses
                         and p.status.container_statuses[0].state.running and p)
        time.sleep(0.3)  # many probe periods at this time scale
        wrong = core.read_namespaced_pod("wrong-0", "dc1")
        assert wrong.status.container_statuses[0].state.running and not _ready(core, "wrong-0")
        events = core.list_namespaced_event("dc1", field_selector="involvedObject.name=wrong-0").items
        assert any(e.reason == "Unhealthy" and e.type == "Warning" and e.message == "Readiness probe failed: "
                   for e in events)  # grep -E prints nothing when no line matches
        # The node itself is fine: UN in its own view, only the probe looks for another address.
        res = exec_in_pod(c, "dc1", "wrong-0", ["nodetool", "status"])
        assert f"UN  {wrong.status.pod_ip} " in res.stdout


def _ready(core: client.CoreV1Api, pod: str) -> bool:
    return any(cond.type == "Ready" and cond.status == "True"
               for cond in core.read_namespaced_pod(pod, "dc1").status.conditions or [])


def test_the_pods_shell_pipes_into_grep_as_sh_and_gnu_grep_do() -> None:
    world = make_world(("dc1",), nodes=1)
    pod = world.pod("dc1")
    assert world.start_pod(pod) is None
    probe = world.sh(pod, manifests.READINESS_COMMAND)
    assert probe.returncode == 0 and probe.stdout.startswith(f"UN  {pod.ip} ")
    assert world.sh(pod, "nodetool status | grep -q '^DN'").returncode == 1
    assert world.sh(pod, "echo a | grep b && echo never").stdout == ""  # the pipeline's status is grep's
    assert world.sh(pod, "echo UUN | grep -c 'U\\+N'").stdout == "1\n"  # basic regex: \\+ is the operator
    assert world.sh(pod, "echo a+ | grep 'a+'").returncode == 0  # ... and a bare + a literal
    assert world.sh(pod, "echo a | grep -E '('").returncode == 2
    assert world.sh(pod, "echo a |").returncode == 2


def _gated(name: str, replicas: int = 1) -> dict[str, Any]:
    """A StatefulSet whose pods carry the product's start gate over their data volume."""
    sts = _product_pod(name)
    template = manifests.statefulsets(sandbox_spec(), sandbox_spec().datacenters[0])[0]["spec"]["template"]["spec"]
    sts["spec"]["replicas"] = replicas
    sts["spec"]["template"]["spec"]["initContainers"] = copy.deepcopy(template["initContainers"])
    return sts


def _gate(core: client.CoreV1Api, pod: str) -> Any:
    statuses = core.read_namespaced_pod(pod, "dc1").status.init_container_statuses or []
    return next((s for s in statuses if s.name == naming.START_GATE_CONTAINER), None)


def test_the_start_gate_holds_the_pod_with_its_disk_attached_until_the_grant_is_on_its_volume(
    kube_rt: KubeCluster, runtime: FakeRuntime
) -> None:
    c, core, apps = _namespace_with_config(kube_rt, runtime)
    apps.create_namespaced_stateful_set("dc1", _gated("held"))
    wait_for(lambda: (g := _gate(core, "held-0")) is not None and g.state.running)
    time.sleep(0.3)  # many tests of the wait loop at this time scale
    pod = core.read_namespaced_pod("held-0", "dc1")
    assert "held-0" not in runtime.starts and pod.status.phase == "Pending"
    assert pod.status.init_container_statuses[0].state.terminated.reason == "Completed"  # the config copied
    assert core.read_namespaced_persistent_volume_claim("data-held-0", "dc1").status.phase == "Bound"
    # kubectl's STATUS column: the first unfinished init container, as printPod counts them.
    live = request(c, "GET", "/api/v1/namespaces/dc1/pods/held-0")
    table = tables.table("Pod", [live], time.time(), {})
    assert table["rows"][0]["cells"][2] == "Init:1/2"
    assert watch_until(c, "gate", "Pod", "dc1", "held-0", gate_state, 5) == "held"
    assert "init container start-gate running" in diagnose_pod(c, "dc1", "held-0")  # what a timeout names
    # The grant: `kubectl exec -c start-gate -- touch <file>` writes on the data volume ...
    res = exec_in_pod(c, "dc1", "held-0", ["touch", naming.START_GRANT_FILE], container=naming.START_GATE_CONTAINER)
    assert res.returncode == 0
    wait_for(lambda: "held-0" in runtime.starts)
    assert _gate(core, "held-0").state.terminated.exit_code == 0
    assert watch_until(c, "gate", "Pod", "dc1", "held-0", gate_state, 5) == "started"
    # ... so a new pod on the same claim starts at once; the main container cannot be exec'd before.
    core.delete_namespaced_pod("held-0", "dc1")
    wait_for(lambda: runtime.starts.count("held-0") == 2)
    # A new claim is a new, empty disk: its pod waits for a grant of its own.
    apps.patch_namespaced_stateful_set_scale("held", "dc1", {"spec": {"replicas": 0}})
    wait_for(lambda: not core.list_namespaced_pod("dc1").items)
    core.delete_namespaced_persistent_volume_claim("data-held-0", "dc1")
    wait_for(lambda: not core.list_namespaced_persistent_volume_claim("dc1").items)
    apps.patch_namespaced_stateful_set_scale("held", "dc1", {"spec": {"replicas": 1}})
    wait_for(lambda: (g := _gate(core, "held-0")) is not None and g.state.running)
    time.sleep(0.3)
    assert runtime.starts.count("held-0") == 2
