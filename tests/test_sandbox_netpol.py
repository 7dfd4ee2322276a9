"""The sandbox's NetworkPolicy (networking.k8s.io/v1 ingress semantics) on plain objects."""

from __future__ import annotations

from typing import Any

from multidc_core import manifests, naming
from sandbox.netpol import ingress_allowed
from tests.render_support import load_example

POD = {"metadata": {"name": "c-0", "namespace": "azure-1", "labels": {"app": "cassandra"}},
       "spec": {"containers": [{"ports": [{"name": "intra-node", "containerPort": 7000}]}]}}


def policy(ingress: list[dict[str, Any]], selector: dict[str, Any] | None = None, ns: str = "azure-1") -> dict:
    return {"metadata": {"name": "p", "namespace": ns},
            "spec": {"podSelector": {} if selector is None else selector, "ingress": ingress}}


def allowed(
    policies: list[dict], src: str, src_pod: dict | None = None, port: int = 7000, pod: dict | None = None
) -> bool:
    return ingress_allowed(policies, pod or POD, src, src_pod, {"azure-1": {}, "other": {"team": "x"}}, port)


def test_a_pod_no_policy_selects_takes_everything() -> None:
    assert allowed([], "52.1.2.3")
    assert allowed([policy([], {"matchLabels": {"app": "web"}})], "52.1.2.3")
    assert allowed([policy([], ns="other")], "52.1.2.3")


def test_ip_blocks_with_except_and_ports() -> None:
    rule = {"from": [{"ipBlock": {"cidr": "10.9.0.0/16", "except": ["10.9.192.0/18"]}}],
            "ports": [{"protocol": "TCP", "port": 7000}]}
    p = [policy([rule])]
    assert allowed(p, "10.9.0.4") and not allowed(p, "10.9.200.1") and not allowed(p, "10.8.0.1")
    assert not allowed(p, "10.9.0.4", port=9042)
    named = [policy([{"ports": [{"port": "intra-node"}]}])]
    assert allowed(named, "1.2.3.4") and not allowed(named, "1.2.3.4", port=7001)
    ranged = [policy([{"ports": [{"port": 7000, "endPort": 7001}]}])]
    assert allowed(ranged, "1.2.3.4", port=7001)
    assert not allowed([policy([])], "10.9.0.4")  # selected with no rule: nothing gets in


def test_pod_and_namespace_selectors_match_pods_of_the_cluster_only() -> None:
    same_ns = [policy([{"from": [{"podSelector": {}}]}])]
    neighbour = {"metadata": {"namespace": "azure-1", "labels": {}}}
    stranger = {"metadata": {"namespace": "other", "labels": {"app": "cassandra"}}}
    assert allowed(same_ns, "10.19.0.9", neighbour) and not allowed(same_ns, "10.19.0.9", stranger)
    assert not allowed(same_ns, "10.9.0.4")  # another cluster's pod is an address here, not a pod
    by_ns = [policy([{"from": [{"namespaceSelector": {"matchLabels": {"team": "x"}}}]}])]
    assert allowed(by_ns, "10.19.0.9", stranger) and not allowed(by_ns, "10.19.0.9", neighbour)


def test_the_rendered_policy_admits_an_eks_dcs_node_addresses_only_with_node_cidrs() -> None:
    spec = load_example("existing-clusters")
    azure = spec.dc("azure-1")
    rendered = manifests.network_policy(spec, azure)
    pod = {**POD, "metadata": {**POD["metadata"], "labels": naming.selector(spec.name, "azure-1")}}
    node_ip = "10.9.192.10"  # an aws-1 node: where its pods' gossip comes from (SNAT)
    assert allowed([rendered], node_ip, pod=pod) and not allowed([rendered], "52.1.2.3", pod=pod)
    aws = spec.dc("aws-1")
    assert aws.kubeconfig is not None
    bare = aws.model_copy(update={"kubeconfig": aws.kubeconfig.model_copy(update={"node_cidrs": []})})
    old = spec.model_copy(update={"datacenters": [bare, azure]})
    assert not allowed([manifests.network_policy(old, azure)], node_ip, pod=pod)
    assert allowed([manifests.network_policy(old, azure)], "10.9.0.4", pod=pod)
