"""A changed cassandra.yaml reaches the running pods: one pod of a DC at a time, each back UN first."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kubernetes import watch
from kubernetes.client import CoreV1Api, V1Pod

from flows.ring import deploy_ring
from multidc_core import manifests, naming
from multidc_core.spec import Datacenter, RingSpec
from sandbox.harness import ThreadedWorld
from sandbox.runtime import node_id
from tasks.cassandra_cql import configure_auth
from tasks.rollout import RolloutError
from tasks.start_gate import gate_state
from tests import ring_fixtures as rf
from tests.ring_fixtures import assert_auth_taken_over

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]


def _with_auth(spec: RingSpec, auth: bool) -> RingSpec:
    return spec.model_copy(update={"cassandra": spec.cassandra.model_copy(update={"auth": auth})})


def _ready(pod: V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _most_down(spec: RingSpec, dc_name: str, down: dict[str, int], done: threading.Event) -> threading.Thread:
    """Watches one DC for the most Cassandra pods missing or not Ready at the same time, from every event.

    A watch sees each change of each pod, so a restart shorter than any polling interval still counts.
    The list is taken before the thread starts: no change made after this call is missed."""
    dc = spec.dc(dc_name)
    core = CoreV1Api(rf.api(spec, dc_name))
    selector = f"{naming.LABEL_APP}={naming.APP}"
    listed = core.list_namespaced_pod(dc.namespace, label_selector=selector)
    ready = {p.metadata.name: _ready(p) for p in listed.items}
    down[dc_name] = dc.cassandra.nodes - sum(ready.values())
    return threading.Thread(target=_follow, args=(core, dc, listed.metadata.resource_version, ready, down, done),
                            daemon=True)


def _follow(core: CoreV1Api, dc: Datacenter, version: str, ready: dict[str, bool], down: dict[str, int],
            done: threading.Event) -> None:
    selector = f"{naming.LABEL_APP}={naming.APP}"
    while not done.is_set():
        for event in watch.Watch().stream(core.list_namespaced_pod, dc.namespace, label_selector=selector,
                                          resource_version=version, timeout_seconds=1):
            pod = event["object"]
            version = pod.metadata.resource_version
            if event["type"] == "DELETED":
                ready.pop(pod.metadata.name, None)
            else:
                ready[pod.metadata.name] = _ready(pod)
            down[dc.name] = max(down[dc.name], dc.cassandra.nodes - sum(ready.values()))


def test_a_changed_cassandra_yaml_restarts_the_pods_one_at_a_time(sandbox: ThreadedWorld) -> None:
    kubeconfig = sandbox.add_existing("seed-blog")
    spec = _with_auth(rf.existing_spec(kubeconfig, nodes=3), False)
    deploy_ring(spec, waits=rf.FAST)
    aws = spec.dc("aws-1")
    before = {p.metadata.name: p.metadata.uid for p in CoreV1Api(rf.api(spec, "aws-1")).list_namespaced_pod(
        aws.namespace, label_selector=f"{naming.LABEL_APP}={naming.APP}").items}
    # Only cassandra.yaml changes (the authenticator line): the env and image stay as they were.
    spec = _with_auth(spec, True)
    down: dict[str, int] = {}
    done = threading.Event()
    watchers = [_most_down(spec, dc.name, down, done) for dc in spec.datacenters]
    for watcher in watchers:
        watcher.start()
    try:
        deploy_ring(spec, waits=rf.FAST)
    finally:
        done.set()
        for watcher in watchers:
            watcher.join(10)
    assert down == {dc.name: 1 for dc in spec.datacenters}  # every DC rolled, never two pods down at once
    for dc in spec.datacenters:
        pods = CoreV1Api(rf.api(spec, dc.name)).list_namespaced_pod(
            dc.namespace, label_selector=f"{naming.LABEL_APP}={naming.APP}").items
        assert sorted(p.metadata.name for p in pods) == sorted(naming.pods(dc))
        for pod in pods:
            node = sandbox.world.ring.nodes[node_id(dc.name, {"metadata": {
                "namespace": dc.namespace, "name": pod.metadata.name}})]
            assert node.up and node.config.auth, f"{pod.metadata.name} still runs the old cassandra.yaml"
    assert all(p.metadata.uid != before[p.metadata.name] for p in CoreV1Api(rf.api(spec, "aws-1")).list_namespaced_pod(
        aws.namespace, label_selector=f"{naming.LABEL_APP}={naming.APP}").items)
    assert_auth_taken_over(spec)


def test_configure_auth_waits_for_the_default_superuser_to_appear(sandbox: ThreadedWorld) -> None:
    spec = _with_auth(rf.existing_spec(sandbox.add_existing("seed-blog"), nodes=2), False)
    deploy_ring(spec, waits=rf.FAST)
    ring = sandbox.world.ring

    def restarted_with_auth() -> None:
        # As after a restart with PasswordAuthenticator: no role yet, the role managers' setup pending.
        # At this time scale the real 10 s would be 10 ms; 1.5 s makes the wait visible.
        now = ring.clock.now()
        for node in ring.nodes.values():
            node.config.auth, node.role_setup_at = True, now + 1.5
            node.data.get("system_auth", {}).pop("roles", None)

    sandbox.call(restarted_with_auth)
    started = time.monotonic()
    assert configure_auth(_with_auth(spec, True), waits=rf.FAST) == "cassandra"
    assert time.monotonic() - started >= 1.0
    assert_auth_taken_over(_with_auth(spec, True))


def test_a_roll_waits_for_every_node_of_the_dc_up_in_the_ring_not_only_for_ready_pods(sandbox: ThreadedWorld) -> None:
    """A node that stopped answering while its pod stays Ready (its probe asks only itself, and the kubelet drops
    Ready only after failureThreshold failures: here a probe that checks only the process) must stop the roll
    before a second node of the DC goes down."""
    kubeconfig = sandbox.add_existing("seed-blog")
    spec = _with_auth(rf.existing_spec(kubeconfig, nodes=3), False)
    deploy_ring(spec, waits=rf.FAST)
    aws = spec.dc("aws-1")
    core = CoreV1Api(rf.api(spec, "aws-1"))
    selector = f"{naming.LABEL_APP}={naming.APP}"
    before = {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(aws.namespace,
                                                                                  label_selector=selector).items}
    hung = "cassandra-rack1-1"
    sandbox.world.clusters["aws-1"].kube.wrong_probe(aws.namespace, hung, ["sh", "-c", "true"])
    sandbox.call(sandbox.world.ring.stop_node, node_id("aws-1", {"metadata": {"namespace": aws.namespace,
                                                                              "name": hung}}))
    assert [r.code for r in rf.nodetool_status(spec, "aws-1") if r.dc == "aws-1"].count("DN") == 1
    short = rf.FAST.model_copy(update={"pod_ready_s": 3})
    with pytest.raises(RolloutError, match=r"datacenter aws-1: not restarting pod aws-1/cassandra-rack1-2 .* is DN"):
        deploy_ring(_with_auth(spec, True), waits=short)
    after = {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(aws.namespace,
                                                                                 label_selector=selector).items}
    assert after == before  # no pod of aws-1 was restarted while one of its nodes was down


def test_a_ring_built_before_the_start_gate_rolls_onto_it_and_every_node_comes_back(
    sandbox: ThreadedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pods made without the gate never wrote a grant on their volumes: their restart on the gated template
    (a restart, not a new node) is granted by the roll, or it would wait at its gate for ever."""
    spec = _with_auth(rf.existing_spec(sandbox.add_existing("seed-blog"), nodes=3), False)
    gated = manifests.statefulsets

    def ungated(s: RingSpec, d: Datacenter) -> list[dict[str, Any]]:
        out = gated(s, d)
        for sts in out:
            pod = sts["spec"]["template"]["spec"]
            pod["initContainers"] = [c for c in pod["initContainers"] if c["name"] != naming.START_GATE_CONTAINER]
        return out

    monkeypatch.setattr(manifests, "statefulsets", ungated)
    deploy_ring(spec, waits=rf.FAST)
    selector = f"{naming.LABEL_APP}={naming.APP}"
    assert all(gate_state(rf.request(rf.api(spec, "aws-1"), "GET", f"/api/v1/namespaces/aws-1/pods/{p}")) == "started"
               for p in naming.pods(spec.dc("aws-1")))  # no gate: nothing held them
    monkeypatch.setattr(manifests, "statefulsets", gated)
    deploy_ring(spec, waits=rf.FAST)
    for dc in spec.datacenters:
        pods = CoreV1Api(rf.api(spec, dc.name)).list_namespaced_pod(dc.namespace, label_selector=selector).items
        assert sorted(p.metadata.name for p in pods) == sorted(naming.pods(dc))
        for pod in pods:
            assert [c.name for c in pod.spec.init_containers][-1] == naming.START_GATE_CONTAINER
            assert _ready(pod)
    rf.assert_one_ring(spec)
