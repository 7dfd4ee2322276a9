"""NetworkPolicy as the sandbox enforces it: may a packet from an address reach a pod on a port?

Only what the ring needs: ingress rules (ipBlock with except, podSelector, namespaceSelector, ports
with endPort); egress is not enforced. Semantics of networking.k8s.io/v1 NetworkPolicy.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sandbox.kube.selectors import match_labels
from sandbox.kube.store import Obj

# Gossip (the storage port) is what decides whether Cassandra nodes see each other.
STORAGE_PORT = 7000


def _selects(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    # In a NetworkPolicy an empty selector ({}) selects everything, unlike a missing one.
    return selector == {} or match_labels(selector, labels)


def policy_types(policy: Obj) -> list[str]:
    """spec.policyTypes, or its default: Ingress, plus Egress when the policy has egress rules."""
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def isolating(policies: list[Obj], pod: Obj) -> list[Obj]:
    """The policies that isolate the pod for ingress: same namespace, podSelector matches."""
    ns, labels = pod["metadata"].get("namespace"), pod["metadata"].get("labels") or {}
    return [
        p for p in policies
        if p["metadata"].get("namespace") == ns
        and _selects((p.get("spec") or {}).get("podSelector"), labels)
        and "Ingress" in policy_types(p)
    ]


def _port_ok(rule: dict[str, Any], pod: Obj, port: int, protocol: str) -> bool:
    ports = rule.get("ports") or []
    if not ports:
        return True
    named = {
        p.get("name"): p.get("containerPort")
        for c in (pod.get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
    }
    for p in ports:
        if (p.get("protocol") or "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True
        first = named.get(want) if isinstance(want, str) else want
        if first is not None and first <= port <= int(p.get("endPort") or first):
            return True
    return False


def _peer_ok(peer: dict[str, Any], policy_ns: str, src_ip: str, src_pod: Obj | None,
             namespace_labels: dict[str, dict[str, str]]) -> bool:
    block = peer.get("ipBlock")
    if block is not None:
        ip = ipaddress.ip_address(src_ip)
        return ip in ipaddress.ip_network(block["cidr"], strict=False) and not any(
            ip in ipaddress.ip_network(e, strict=False) for e in block.get("except") or []
        )
    if src_pod is None:  # pod and namespace selectors match pods of this cluster only
        return False
    src_ns = src_pod["metadata"].get("namespace", "")
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], namespace_labels.get(src_ns)):
            return False
    elif src_ns != policy_ns:
        return False
    return "podSelector" not in peer or _selects(peer["podSelector"], src_pod["metadata"].get("labels"))


def ingress_allowed(
    policies: list[Obj],
    pod: Obj,
    src_ip: str,
    src_pod: Obj | None,
    namespace_labels: dict[str, dict[str, str]],
    port: int = STORAGE_PORT,
    protocol: str = "TCP",
) -> bool:
    """Whether a packet from src_ip (src_pod when it is a pod of the same cluster) reaches the pod."""
    selecting = isolating(policies, pod)
    if not selecting:
        return True  # a pod no policy selects is not isolated
    for policy in selecting:
        ns = policy["metadata"].get("namespace", "")
        for rule in (policy.get("spec") or {}).get("ingress") or []:
            if not _port_ok(rule, pod, port, protocol):
                continue
            peers = rule.get("from") or []
            if not peers or any(_peer_ok(p, ns, src_ip, src_pod, namespace_labels) for p in peers):
                return True
    return False
