"""Cloud load balancers as the clouds give them: internal only with the cloud's annotation, EKS by
DNS name; the product exposes each existing cluster's DNS on an internal one and never a public one."""

from __future__ import annotations

import ipaddress

import pytest
from kubernetes.client import CoreV1Api
from kubernetes.config import new_client_from_config, new_client_from_config_dict
from prefect import flow

from flows.ring import RingResult, deploy_ring
from multidc_core.spec import Cloud, RingSpec
from sandbox.harness import ThreadedWorld
from sandbox.world import ClusterEntry, World
from tasks.dns import DnsCheckError, ensure_dns_exposed
from tasks.kube_objects import KubeError, KubeWaits
from tests import ring_fixtures as rf
from tests.kube_helpers import wait_for
from tests.ring_fixtures import assert_one_ring

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]

AZURE_INTERNAL = {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
AWS_NLB_INTERNAL = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
}


def _lb(core: CoreV1Api, name: str, annotations: dict[str, str], timeout: float = 10.0) -> dict[str, str]:
    core.create_namespaced_service("kube-system", {
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"type": "LoadBalancer", "selector": {"k8s-app": "kube-dns"},
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}})

    def ingress() -> dict[str, str] | None:
        found = core.read_namespaced_service(name, "kube-system").status.load_balancer.ingress
        return {k: v for k, v in found[0].to_dict().items() if v} if found else None

    return wait_for(ingress, timeout)


def test_load_balancers_are_public_without_the_clouds_annotation_and_eks_answers_with_a_name(
    sandbox: ThreadedWorld,
) -> None:
    kubeconfig = sandbox.add_existing("seed-blog")
    aws = CoreV1Api(new_client_from_config(str(kubeconfig), context="kube-aws"))
    azure = CoreV1Api(new_client_from_config(str(kubeconfig), context="kube-azure"))
    world = sandbox.world
    some_aws_pod = "10.9.0.200"  # any address of aws-1's pod network

    open_resolver = _lb(azure, "bare", {})["ip"]
    assert ipaddress.ip_address(open_resolver).is_global
    # A public frontend answers the whole internet: an open resolver, reachable from anywhere.
    assert world.public_frontend(open_resolver) is not None
    assert world.reachable(some_aws_pod, open_resolver) and world.dns_server_at(open_resolver, 53) == "azure-1"
    internal = _lb(azure, "internal", AZURE_INTERNAL)["ip"]
    assert ipaddress.ip_address(internal) in ipaddress.ip_network("10.19.128.0/17")

    nlb = _lb(aws, "nlb", AWS_NLB_INTERNAL)
    assert "ip" not in nlb and nlb["hostname"].endswith(".elb.us-east-1.amazonaws.com")
    nlb_ip = world.lb_dns_name(nlb["hostname"])
    assert nlb_ip is not None and ipaddress.ip_address(nlb_ip) in ipaddress.ip_network("10.9.128.0/18")
    # The in-tree controller: a classic ELB, internet-facing unless told otherwise.
    elb = _lb(aws, "elb", {})
    assert not elb["hostname"].startswith("internal-")
    assert ipaddress.ip_address(world.lb_dns_name(elb["hostname"]) or "").is_global
    legacy = _lb(aws, "legacy", {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"})
    assert legacy["hostname"].startswith("internal-")
    assert not ipaddress.ip_address(world.lb_dns_name(legacy["hostname"]) or "").is_global


async def _add(world: World, name: str, flavor: str, cidr: str) -> ClusterEntry:
    return await world.add_cluster(name, "existing:t", [cidr], flavor=flavor, pod_cidr=cidr, lb_cidr=cidr)


def test_gke_needs_its_annotation_and_kubeadm_gives_no_load_balancer_at_all(sandbox: ThreadedWorld) -> None:
    def cluster(name: str, flavor: str, cidr: str) -> CoreV1Api:
        entry = sandbox.call(_add, sandbox.world, name, flavor, cidr)
        return CoreV1Api(new_client_from_config_dict(entry.kube.kubeconfig_dict(name)))

    gke = cluster("gke-1", "gke", "10.30.0.0/16")
    assert ipaddress.ip_address(_lb(gke, "bare", {})["ip"]).is_global
    internal = _lb(gke, "internal", {"networking.gke.io/load-balancer-type": "Internal"})["ip"]
    assert ipaddress.ip_address(internal) in ipaddress.ip_network("10.30.0.0/16")
    kubeadm = cluster("kind-1", "kubeadm", "10.40.0.0/16")
    with pytest.raises(AssertionError):  # no cloud controller: <pending> for good (25 x lb_address)
        _lb(kubeadm, "pending", AZURE_INTERNAL, timeout=0.5)
    assert kubeadm.list_namespaced_event("kube-system", field_selector="involvedObject.name=pending").items == []


def test_seed_blog_dns_is_internal_everywhere_and_the_eks_name_is_resolved(sandbox: ThreadedWorld) -> None:
    """Old code: the azure-1 DNS got a public address (no annotation) and aws-1's hostname was refused."""
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    result = deploy_ring(spec, waits=rf.FAST)
    assert isinstance(result, RingResult)
    assert_one_ring(spec)
    frontends = {name: e.kube.lb_frontends() for name, e in sandbox.world.clusters.items()}
    assert {name: [(f.service, f.public) for f in fes] for name, fes in frontends.items()} == {
        "aws-1": [("multidc-dns", False)],
        "azure-1": [("multidc-dns", False)],
    }
    aws_nlb = frontends["aws-1"][0]
    assert aws_nlb.hostname is not None and aws_nlb.hostname.startswith("k8s-kubesyst-multidcd-")
    # What azure-1 forwards aws-1's zone to: the address the NLB's name resolves to.
    assert result.datacenters["aws-1"].dns_address == aws_nlb.address
    assert result.datacenters["azure-1"].dns_address == frontends["azure-1"][0].address


@flow
def expose(spec: RingSpec, dc: str, waits: KubeWaits) -> str:
    return ensure_dns_exposed(spec, dc, waits)


def test_a_dns_load_balancer_that_comes_up_public_is_deleted_and_the_run_fails(sandbox: ThreadedWorld) -> None:
    """Annotations that do not mean 'internal' on the cloud: the DNS must not stay open to the internet."""
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    azure = spec.dc("azure-1")
    assert azure.kubeconfig is not None
    wrong = azure.kubeconfig.model_copy(
        update={"cloud": Cloud.OTHER, "dns_lb_annotations": {"example.com/internal": "true"}}
    )
    spec = spec.model_copy(update={"datacenters": [spec.datacenters[0], azure.model_copy(update={"kubeconfig": wrong})]})
    with pytest.raises(KubeError) as caught:
        expose(spec, "azure-1", rf.FAST)
    assert "got the public address" in str(caught.value) and "kubeconfig.cloud" in str(caught.value)
    services = CoreV1Api(rf.api(spec, "azure-1")).list_namespaced_service("kube-system").items
    assert [s.metadata.name for s in services] == ["kube-dns"]


def test_coredns_custom_is_read_only_on_aks_clusters(sandbox: ThreadedWorld) -> None:
    """aws-1 (EKS-like) given coredns-custom: its CoreDNS never reads it, so it cannot resolve azure-1.

    Validation refuses coredns-custom with cloud eks; a cluster declared 'other' gets what it asked for.
    """
    spec = rf.existing_spec(
        sandbox.add_existing("seed-blog"),
        cloud="other",
        dns_lb_annotations=AWS_NLB_INTERNAL,
        coredns_mode="coredns-custom",
    )
    with pytest.raises(DnsCheckError) as caught:
        deploy_ring(spec, waits=rf.FAST)
    assert str(caught.value).startswith(
        "datacenter aws-1 cannot resolve seed cassandra-rack1-0.cassandra.azure-1.svc.cluster.local of "
        "datacenter azure-1: its CoreDNS forwards azure-1.svc.cluster.local to "
    )
    custom = rf.request(rf.api(spec, "aws-1"), "GET", "/api/v1/namespaces/kube-system/configmaps/coredns-custom")
    assert sorted(custom["data"]) == ["multidc-azure-1.server"]  # written, restarted, never imported
