"""The existing clusters of a ring spec (provider: kubeconfig): DNS exposure, cloud and CoreDNS mode."""

from __future__ import annotations

import re
from collections.abc import Iterator

from multidc_core.problems import Problem, show
from multidc_core.spec import Cloud, CorednsMode, DnsExposure, KubeconfigDC, Provider, RingSpec

# A Kubernetes annotation key: an optional DNS subdomain prefix and a name of at most 63 characters.
ANNOTATION_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def kubeconfig_problems(spec: RingSpec) -> Iterator[Problem]:
    for i, dc in enumerate(spec.datacenters):
        kc, p = dc.kubeconfig, f"datacenters[{i}].kubeconfig"
        if kc is None or dc.provider is not Provider.KUBECONFIG:
            continue
        for field in ("path", "context"):
            value: str = getattr(kc, field)
            if not value.strip() or not value.isprintable():
                yield Problem(
                    f"{p}.{field}",
                    f"{show(value)} is empty or holds control characters",
                    f"give the kubeconfig {field} on one line",
                )
        exposure, addresses = kc.dns_exposure, kc.dns_addresses
        if exposure is not DnsExposure.LOADBALANCER and not addresses:
            yield Problem(
                f"{p}.dns_addresses",
                f"empty, but dns_exposure {exposure.value!r} needs the addresses",
                "list the node addresses (nodeport) or the one DNS address (address) other clusters reach",
            )
        elif exposure is DnsExposure.ADDRESS and len(addresses) > 1:
            yield Problem(
                f"{p}.dns_addresses",
                f"{len(addresses)} addresses, but dns_exposure 'address' takes one",
                "give one address, or use dns_exposure: nodeport for node addresses",
            )
        elif exposure is DnsExposure.LOADBALANCER and addresses:
            yield Problem(
                f"{p}.dns_addresses",
                "is ignored with dns_exposure 'loadbalancer'",
                "remove dns_addresses, or set dns_exposure to nodeport or address",
            )
        yield from _cloud(kc, p)


def _cloud(kc: KubeconfigDC, p: str) -> Iterator[Problem]:
    cloud, annotations, exposure, mode = kc.cloud, kc.dns_lb_annotations, kc.dns_exposure, kc.coredns_mode
    lb = exposure is DnsExposure.LOADBALANCER
    if lb and cloud is Cloud.OTHER and not annotations:
        yield Problem(
            f"{p}.cloud",
            "is 'other' with dns_exposure 'loadbalancer': without its cloud's annotation the load balancer "
            "in front of kube-dns gets a public address (a DNS resolver open to the internet)",
            "set cloud to aks, eks or gke, or give dns_lb_annotations that make the load balancer internal, "
            "or use dns_exposure nodeport or address",
        )
    if annotations and not lb:
        yield Problem(
            f"{p}.dns_lb_annotations",
            f"is ignored with dns_exposure {exposure.value!r}",
            "remove dns_lb_annotations, or set dns_exposure to loadbalancer",
        )
    for key, value in annotations.items():
        if not ANNOTATION_KEY.match(key) or not value.isprintable():
            yield Problem(
                f"{p}.dns_lb_annotations",
                f"key {show(key)} is not an annotation key, or its value holds control characters",
                "use keys like service.beta.kubernetes.io/aws-load-balancer-scheme and one-line values",
            )
    if cloud is Cloud.EKS and kc.pod_cidrs and not kc.node_cidrs:
        yield Problem(
            f"{p}.node_cidrs",
            "is empty, but EKS's VPC CNI sends pods' traffic to other networks from the node's address "
            "(AWS_VPC_K8S_CNI_EXTERNALSNAT=false by default): the other DCs' NetworkPolicy would drop it",
            "list the node subnets (the same ranges as pod_cidrs when pods share the node subnets)",
        )
    if mode is CorednsMode.CUSTOM and cloud in (Cloud.EKS, Cloud.GKE):
        yield Problem(
            f"{p}.coredns_mode",
            f"is 'coredns-custom', but the DNS of {cloud.value} clusters does not import a coredns-custom "
            "ConfigMap (only AKS does)",
            "use coredns_mode: corefile, or leave it out",
        )
