"""The seed blog's AWS + Azure pair with the EKS-like cluster behaving as EKS does: an NLB named by a
hostname, the Corefile edited, pod traffic leaving the VPC rewritten to node addresses, and each
DC's NetworkPolicy enforced for gossip."""

from __future__ import annotations

import ipaddress

import pytest
from kubernetes.client import CoreV1Api, NetworkingV1Api

from flows.ring import RingResult, deploy_ring
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.spec import Cloud
from sandbox.harness import ThreadedWorld
from sandbox.presets import EXISTING_PRESETS
from tests import ring_fixtures as rf
from tests.ring_fixtures import assert_auth_taken_over, assert_one_ring

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]

AWS_NODES = ipaddress.ip_network("10.9.192.0/18")  # the seed-blog preset's node subnet


def _pod_ips(spec: object, dc: str) -> list[str]:
    d = spec.dc(dc)  # type: ignore[attr-defined]
    pods = CoreV1Api(rf.api(spec, dc)).list_namespaced_pod(d.namespace).items  # type: ignore[arg-type]
    return [p.status.pod_ip for p in pods if (p.metadata.labels or {}).get(naming.LABEL_APP) == naming.APP]


def test_seed_blog_deploys_with_the_eks_like_cluster_behaving_as_eks(sandbox: ThreadedWorld) -> None:
    """Old code: refused aws-1's hostname; and without node_cidrs azure-1 dropped aws-1's gossip."""
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    result = deploy_ring(spec, waits=rf.FAST)
    assert isinstance(result, RingResult)
    assert_one_ring(spec)
    assert_auth_taken_over(spec)
    world = sandbox.world
    # An NLB named by a hostname, resolved to its private address; the Corefile edited, no coredns-custom.
    svc = CoreV1Api(rf.api(spec, "aws-1")).read_namespaced_service("multidc-dns", "kube-system")
    hostname = svc.status.load_balancer.ingress[0].hostname
    assert hostname.endswith(".elb.us-east-1.amazonaws.com") and not svc.status.load_balancer.ingress[0].ip
    assert result.datacenters["aws-1"].dns_address == world.lb_dns_name(hostname)
    corefile = rf.request(rf.api(spec, "aws-1"), "GET", "/api/v1/namespaces/kube-system/configmaps/coredns")
    assert "azure-1.svc.cluster.local:53" in corefile["data"]["Corefile"]
    configmaps = CoreV1Api(rf.api(spec, "aws-1")).list_namespaced_config_map("kube-system").items
    assert naming.COREDNS_CUSTOM not in {c.metadata.name for c in configmaps}
    # aws-1's pods reach azure-1 from their nodes' addresses, which azure-1's policy allows.
    aws_pod, azure_pod = _pod_ips(spec, "aws-1")[0], _pod_ips(spec, "azure-1")[0]
    source, _ = world.source_of("aws-1", aws_pod, "azure-1")
    assert ipaddress.ip_address(source) in AWS_NODES
    assert world.source_of("azure-1", azure_pod, "aws-1")[0] == azure_pod  # Azure CNI keeps pod addresses
    policy = NetworkingV1Api(rf.api(spec, "azure-1")).read_namespaced_network_policy("cassandra", "azure-1")
    assert str(AWS_NODES) in [p.ip_block.cidr for p in policy.spec.ingress[0]._from if p.ip_block]


def test_sandbox_existing_example_describes_the_seed_blog_preset() -> None:
    """`multidc sandbox up --existing seed-blog` + examples/sandbox-existing.yaml: the same clusters."""
    spec = load_spec((rf.EXAMPLES / "sandbox-existing.yaml").read_text())
    cloud_of = {"eks": Cloud.EKS, "aks": Cloud.AKS}
    for preset in EXISTING_PRESETS["seed-blog"]:
        kc = spec.dc(preset["name"]).kubeconfig
        assert kc is not None and kc.context == preset["context"] and kc.cloud is cloud_of[preset["flavor"]]
        # The policy admits the preset's pods, and its nodes where they are elsewhere.
        admitted = [*kc.pod_cidrs, *kc.node_cidrs]
        for field in ("pod_cidr", "node_cidr"):
            if field in preset:
                net = ipaddress.ip_network(preset[field])
                assert any(net.subnet_of(c) for c in admitted), (preset["name"], field)


def test_a_changed_network_policy_changes_what_gets_through_at_once(sandbox: ThreadedWorld) -> None:
    """The sandbox keeps NetworkPolicy verdicts between commands (every readiness probe asks for every
    pair of nodes): a policy written through the API must still count from the next packet on."""
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    deploy_ring(spec, waits=rf.FAST)
    world = sandbox.world
    aws_pod, azure_pod = _pod_ips(spec, "aws-1")[0], _pod_ips(spec, "azure-1")[0]
    assert world.reachable(aws_pod, azure_pod)  # worked out, and kept
    net = NetworkingV1Api(rf.api(spec, "azure-1"))
    policy = net.read_namespaced_network_policy("cassandra", "azure-1")
    rules = policy.spec.ingress
    policy.spec.ingress = []  # still selects the pods, admits nothing
    net.replace_namespaced_network_policy("cassandra", "azure-1", policy)
    assert not world.reachable(aws_pod, azure_pod)
    policy = net.read_namespaced_network_policy("cassandra", "azure-1")
    policy.spec.ingress = rules
    net.replace_namespaced_network_policy("cassandra", "azure-1", policy)
    assert world.reachable(aws_pod, azure_pod)
