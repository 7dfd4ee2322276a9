"""deploy-ring on three sandbox AKS DCs and on two existing clusters (the seed blog's AWS + Azure)."""

from __future__ import annotations

import time
from ipaddress import ip_address

import pytest
from kubernetes.client import CoreV1Api
from kubernetes.config import new_client_from_config
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from flows.ring import MAX_WORKERS, RingResult, deploy_ring, submit_ring
from multidc_core import naming
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld
from tasks.cassandra import PodNotReadyError
from tasks.dns import DnsCheckError, ensure_dns_exposed
from tasks.kube_objects import KubeWaits, WaitTimeout, get_or_none, wait_until
from tasks.start_gate import gate_state
from tests import ring_fixtures as rf
from tests.ring_fixtures import assert_auth_taken_over, assert_one_ring

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]


def test_three_azure_dcs_of_seeds_only_join_one_ring(sandbox: ThreadedWorld) -> None:
    spec = rf.three_dc_spec()
    rf.azure_clusters(sandbox, spec)
    result = deploy_ring(spec, waits=rf.FAST)
    assert isinstance(result, RingResult)
    assert [r.ready for r in result.datacenters.values()] == ["2/2 ready"] * 3
    # dc3 checked from inside, before it started, that it resolves the first DC's seeds.
    dc1_seeds = naming.dc_seeds(spec.dc("dc1"))
    assert [r.split()[0] for r in result.datacenters["dc3"].resolved] == dc1_seeds
    assert_one_ring(spec)
    assert_auth_taken_over(spec)


def test_seeds_start_while_an_earlier_dc_streams_and_its_joiners_wait_their_turn(sandbox: ThreadedWorld) -> None:
    """aws-1's third node (a joiner) is held; azure-1's seeds still start, its own joiner waits at its start gate
    (its pod and disk are there already) and starts only after aws-1's joiner is up."""
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"), nodes=3)
    aws = sandbox.world.clusters["aws-1"].kube
    held = naming.pods(spec.dc("aws-1"))[2]
    joiner = naming.pods(spec.dc("azure-1"))[2]
    aws.stop_container("aws-1", held)

    def azure_joiner() -> str | None:
        path = f"/api/v1/namespaces/{spec.dc('azure-1').namespace}/pods/{joiner}"
        return gate_state(get_or_none(rf.api(spec, "azure-1"), path))

    @task
    def while_held() -> tuple[str, str | None, str]:
        def joiner_at_its_gate() -> bool | None:
            return True if rf.ready_summary(spec, "azure-1") == "2/3" and azure_joiner() == "held" else None

        wait_until("azure-1 seeds Ready, its joiner at its gate", joiner_at_its_gate, 20, 0.05)
        time.sleep(0.3)  # many tests of the gate's wait loop at this time scale: nobody grants it
        seen = rf.ready_summary(spec, "aws-1"), azure_joiner(), rf.ready_summary(spec, "azure-1")
        aws.start_container("aws-1", held)
        return seen

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS))  # type: ignore[arg-type]
    def composed() -> tuple[tuple[str, str | None, str], RingResult]:
        observed = while_held.submit()
        ring = submit_ring(spec, waits=rf.FAST)
        return observed.result(), ring.result()

    (aws_ready, azure_joiner_gate, azure_ready), result = composed()
    assert aws_ready == "2/3"  # aws-1's joiner was still streaming (held) ...
    assert (azure_joiner_gate, azure_ready) == ("held", "2/3")  # ... and azure-1's joiner waited at its gate
    assert [r.ready for r in result.datacenters.values()] == ["3/3 ready"] * 2
    assert_one_ring(spec)  # with no restart anywhere: no node bootstrapped beside another joining one


CUSTOM = "/api/v1/namespaces/kube-system/configmaps/coredns-custom"
OTHERS = {"data": {"corp.server": "corp.example:53 {\n    forward . 10.19.0.53\n}\n"}}
PDB = "/apis/policy/v1/namespaces/aws-1/poddisruptionbudgets/cassandra"


def test_existing_clusters_loadbalancer_dns_corefile_and_coredns_custom(sandbox: ThreadedWorld) -> None:
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    rf.request(rf.api(spec, "azure-1"), "PATCH", CUSTOM, OTHERS, "application/merge-patch+json")
    result = deploy_ring(spec, waits=rf.FAST)
    assert isinstance(result, RingResult)
    assert_one_ring(spec)
    assert_auth_taken_over(spec)
    # aws-1 (EKS-like) forwards in its Corefile, azure-1 (AKS-like) through coredns-custom,
    # where the cluster owner's key stays as it was.
    corefile = rf.request(rf.api(spec, "aws-1"), "GET", "/api/v1/namespaces/kube-system/configmaps/coredns")
    assert "azure-1.svc.cluster.local:53" in corefile["data"]["Corefile"]
    custom = rf.request(rf.api(spec, "azure-1"), "GET", CUSTOM)
    assert sorted(custom["data"]) == ["corp.server", "multidc-aws-1.server"]
    assert custom["data"]["corp.server"] == OTHERS["data"]["corp.server"]
    before = rf.versions(spec)
    deploy_ring(spec, waits=rf.FAST)
    assert rf.versions(spec) == before
    # Drift in a field we set is patched back; nothing else is written.
    rf.request(
        rf.api(spec, "aws-1"), "PATCH", PDB, {"spec": {"maxUnavailable": 2}}, "application/merge-patch+json"
    )
    drifted = rf.versions(spec)
    again = deploy_ring(spec, waits=rf.FAST)
    actions = {(a.kind, a.action) for r in again.datacenters.values() for a in r.applied}
    assert actions == {(k, "unchanged") for k, _ in actions if k != "PodDisruptionBudget"} | {
        ("PodDisruptionBudget", "patched"),
        ("PodDisruptionBudget", "unchanged"),
    }
    assert rf.request(rf.api(spec, "aws-1"), "GET", PDB)["spec"]["maxUnavailable"] == 1
    changed = {k for k, v in rf.versions(spec).items() if drifted[k] != v}
    assert changed == {"aws-1/apis/policy/v1/namespaces/aws-1/poddisruptionbudgets/cassandra"}


def test_existing_cluster_dns_at_a_wrong_address_fails_before_the_second_dc_starts(
    sandbox: ThreadedWorld,
) -> None:
    spec = rf.existing_spec(
        sandbox.add_existing("seed-blog"), dns_exposure="address", dns_addresses=["10.9.200.200"]
    )
    with pytest.raises(DnsCheckError) as caught:
        deploy_ring(spec, waits=rf.FAST)
    assert str(caught.value) == (
        "datacenter azure-1 cannot resolve seed cassandra-rack1-0.cassandra.aws-1.svc.cluster.local of "
        "datacenter aws-1: its CoreDNS forwards aws-1.svc.cluster.local to 10.9.200.200"
    )
    assert rf.cassandra_pods(spec, "azure-1") == []
    assert {x.dc for x in rf.nodetool_status(spec, "aws-1")} == {"aws-1"}


def test_a_crash_looping_pod_ends_the_run_naming_dc_pod_reason_and_events(sandbox: ThreadedWorld) -> None:
    spec = rf.sandbox_spec()
    spec = spec.model_copy(update={"datacenters": spec.datacenters[:1], "keyspaces": []})
    rf.azure_clusters(sandbox, spec)
    sandbox.world.clusters["sandbox-dc1-aks"].kube.crash_loop("dc1", "cassandra-rack3-0", times=None)
    with pytest.raises(PodNotReadyError) as caught:
        deploy_ring(spec, waits=rf.FAST.model_copy(update={"pod_ready_s": 1.5}))
    message = str(caught.value)
    assert message.startswith("datacenter dc1: pod dc1/cassandra-rack3-0 not Ready after 1.5s: ")
    assert "CrashLoopBackOff" in message and "event Warning BackOff" in message


@flow
def expose(spec: RingSpec, waits: KubeWaits) -> str:
    return ensure_dns_exposed(spec, spec.datacenters[0].name, waits)


def test_a_dns_address_that_never_comes_names_the_service_and_its_events(sandbox: ThreadedWorld) -> None:
    spec = rf.sandbox_spec()
    dc1 = spec.datacenters[0]
    assert dc1.azure is not None
    # Outside the node subnet: the cloud controller refuses it (a spec error validation also catches).
    bad = dc1.model_copy(update={"azure": dc1.azure.model_copy(update={"dns_lb_ip": ip_address("10.9.9.9")})})
    spec = spec.model_copy(update={"datacenters": [bad], "keyspaces": []})
    rf.azure_clusters(sandbox, spec)
    with pytest.raises(WaitTimeout) as caught:
        expose(spec, rf.FAST.model_copy(update={"dns_address_s": 0.5}))
    message = str(caught.value)
    assert message.startswith("dc1: LoadBalancer address of kube-system/multidc-dns: not done after 0.5s")
    assert "SyncLoadBalancerFailed" in message


def test_existing_cluster_dns_on_a_nodeport_of_given_node_addresses(sandbox: ThreadedWorld) -> None:
    kubeconfig = sandbox.add_existing("seed-blog")
    aws = new_client_from_config(str(kubeconfig), context="kube-aws")
    nodes = CoreV1Api(aws).list_node().items
    ips = [a.address for node in nodes for a in node.status.addresses if a.type == "InternalIP"]
    spec = rf.existing_spec(kubeconfig, dns_exposure="nodeport", dns_addresses=ips[:2])
    result = deploy_ring(spec, waits=rf.FAST)
    assert isinstance(result, RingResult)
    address = result.datacenters["aws-1"].dns_address
    assert address.startswith(f"{ips[0]}:") and len(address.split()) == 2
    assert_one_ring(spec)


@task
def broken_interconnect() -> None:
    raise RuntimeError("the VPN never connected")


@flow(task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS))  # type: ignore[arg-type]
def composed_with_broken_interconnect(spec: RingSpec) -> RingResult:
    return submit_ring(spec, waits=rf.FAST, interconnect=[broken_interconnect.submit()]).result()


def test_a_failed_interconnect_stops_every_later_dc_and_says_so(sandbox: ThreadedWorld) -> None:
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    with pytest.raises(RuntimeError, match="a ring step did not run"):
        composed_with_broken_interconnect(spec)
    assert rf.cassandra_pods(spec, "azure-1") == []
    assert rf.ready_summary(spec, "aws-1") == "2/2"  # the first DC never waited for the interconnect
