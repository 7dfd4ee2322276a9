"""Kubernetes manifests per datacenter, as plain dicts (no Secret values: those exist at run time only)."""

from __future__ import annotations

import hashlib
from typing import Any

from multidc_core import naming as n
from multidc_core.cassandra_config import (
    JMX_PORT,
    NATIVE_PORT,
    SSL_STORAGE_PORT,
    STORAGE_PORT,
    cassandra_yaml,
)
from multidc_core.corefile import render_coredns_custom
from multidc_core.spec import Cloud, Datacenter, DnsExposure, Provider, RingSpec

Manifest = dict[str, Any]

LB_INTERNAL = "service.beta.kubernetes.io/azure-load-balancer-internal"
LB_IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
AWS_LB_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
AWS_NLB_TARGET_TYPE = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
AWS_LB_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
GKE_LB_TYPE = "networking.gke.io/load-balancer-type"
# Without these a `type: LoadBalancer` Service gets a public address: kube-dns would answer the
# whole internet. EKS: an NLB of the AWS Load Balancer Controller (>= 2.2), pods as IP targets.
INTERNAL_LB: dict[Cloud, dict[str, str]] = {
    Cloud.AKS: {LB_INTERNAL: "true"},
    Cloud.EKS: {AWS_LB_TYPE: "external", AWS_NLB_TARGET_TYPE: "ip", AWS_LB_SCHEME: "internal"},
    Cloud.GKE: {GKE_LB_TYPE: "Internal"},
    Cloud.OTHER: {},
}
CASSANDRA_UID = 999  # the cassandra user of the official image; fsGroup makes the data disk writable
TERMINATION_GRACE_SECONDS = 180
CONFIG_MOUNT = "/etc/cassandra"
DATA_MOUNT = "/var/lib/cassandra"
READINESS_COMMAND = 'nodetool status | grep -E "^UN\\s+${POD_IP}\\s"'
# The start gate: a node beyond the seeds bootstraps, and Cassandra refuses to while another node of the
# ring is joining, so its pod is created at once (its disk binds and attaches meanwhile) and waits here
# until deploy-ring writes the grant (`kubectl exec -c start-gate -- touch`) once the ring's join slot is
# free. The file lives on the node's volume: a restarted or rescheduled pod starts at once, a new volume
# (a new node) waits for its grant.
START_GATE_COMMAND = f"until [ -e {n.START_GRANT_FILE} ]; do sleep 2; done"
# The image's /etc/cassandra holds jvm options, logback.xml and cassandra-env.sh as well: copy it
# all into the writable emptyDir, then lay the rendered cassandra.yaml over it.
INIT_COMMAND = "cp -a /etc/cassandra/. /work-config/ && cp /config/cassandra.yaml /work-config/cassandra.yaml"


def _meta(spec: RingSpec, dc: Datacenter, name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": n.labels(spec.name, dc.name)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def namespace(spec: RingSpec, dc: Datacenter) -> Manifest:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(spec, dc, dc.namespace)}


def dns_service(spec: RingSpec, dc: Datacenter) -> Manifest | None:
    """The Service that makes this cluster's DNS reachable from other clusters (None: address mode)."""
    ports = [
        {"name": "dns-udp", "port": 53, "targetPort": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "targetPort": 53, "protocol": "TCP"},
    ]
    meta = _meta(spec, dc, n.DNS_SERVICE_NAME, n.KUBE_SYSTEM)
    svc_type = "LoadBalancer"
    if dc.provider is Provider.AZURE and dc.azure is not None:
        meta["annotations"] = {LB_INTERNAL: "true"}
        if dc.azure.dns_lb_ip is not None:
            meta["annotations"][LB_IPV4] = str(dc.azure.dns_lb_ip)
    elif dc.kubeconfig is not None:
        kc = dc.kubeconfig
        if kc.dns_exposure is DnsExposure.ADDRESS:
            return None
        if kc.dns_exposure is DnsExposure.NODEPORT:
            svc_type = "NodePort"
        else:  # the spec's annotations replace the cloud's (e.g. EKS without the controller)
            meta["annotations"] = dict(kc.dns_lb_annotations or INTERNAL_LB[kc.cloud])
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"type": svc_type, "selector": dict(n.KUBE_DNS_SELECTOR), "ports": ports},
    }


def planned_dns_address(dc: Datacenter) -> str:
    """The DNS address other clusters forward to, when the spec fixes it; else a placeholder."""
    if dc.azure is not None and dc.azure.dns_lb_ip is not None:
        return str(dc.azure.dns_lb_ip)
    kc = dc.kubeconfig
    if kc is not None and kc.dns_exposure is DnsExposure.ADDRESS and kc.dns_addresses:
        return str(kc.dns_addresses[0])
    return f"<dns address of {dc.name}, known at run time>"


def planned_dns_addresses(spec: RingSpec) -> dict[str, str]:
    return {dc.name: planned_dns_address(dc) for dc in spec.datacenters}


def coredns_custom(spec: RingSpec, dc: Datacenter, remote_dns: dict[str, str]) -> Manifest:
    """The whole `coredns-custom` ConfigMap; the tasks merge its data into an existing one."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(spec, dc, n.COREDNS_CUSTOM, n.KUBE_SYSTEM),
        "data": render_coredns_custom(spec, dc.name, remote_dns),
    }


def admin_secret(ns: str, username: str, password: str, labels: dict[str, str] | None = None) -> Manifest:
    """The `cassandra-admin` Secret; built by tasks at run time, never part of the plan output."""
    meta: dict[str, Any] = {"name": n.SECRET_NAME, "namespace": ns}
    if labels:
        meta["labels"] = dict(labels)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "stringData": {n.SECRET_USERNAME_KEY: username, n.SECRET_PASSWORD_KEY: password},
    }


def cassandra_config(spec: RingSpec, dc: Datacenter) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(spec, dc, n.CONFIGMAP_NAME, dc.namespace),
        "data": {n.CONFIGMAP_KEY: cassandra_yaml(spec, dc)},
    }


def config_checksum(spec: RingSpec, dc: Datacenter) -> str:
    return hashlib.sha256(cassandra_yaml(spec, dc).encode()).hexdigest()


def _tcp(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "port": port, "protocol": "TCP"}


def headless_service(spec: RingSpec, dc: Datacenter) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(spec, dc, n.SERVICE_NAME, dc.namespace),
        "spec": {
            "clusterIP": "None",
            # Seeds must resolve before they are Ready, or the first node can never start.
            "publishNotReadyAddresses": True,
            "selector": n.selector(spec.name, dc.name),
            "ports": [
                _tcp("intra-node", STORAGE_PORT),
                _tcp("tls-intra-node", SSL_STORAGE_PORT),
                _tcp("cql", NATIVE_PORT),
            ],
        },
    }


def _env(spec: RingSpec, dc: Datacenter, rack: str) -> list[dict[str, Any]]:
    def secret(key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": n.SECRET_NAME, "key": key}}

    c = dc.cassandra
    # POD_IP first: $(POD_IP) expands only from variables defined before it.
    return [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "CASSANDRA_SEEDS", "value": n.seeds_csv(spec)},
        {"name": "CASSANDRA_CLUSTER_NAME", "value": spec.name},
        {"name": "CASSANDRA_DC", "value": dc.name},
        {"name": "CASSANDRA_RACK", "value": rack},
        {"name": "CASSANDRA_ENDPOINT_SNITCH", "value": "GossipingPropertyFileSnitch"},
        {"name": "CASSANDRA_NUM_TOKENS", "value": str(spec.cassandra.num_tokens)},
        {"name": "CASSANDRA_LISTEN_ADDRESS", "value": "$(POD_IP)"},
        {"name": "CASSANDRA_BROADCAST_ADDRESS", "value": "$(POD_IP)"},
        {"name": "MAX_HEAP_SIZE", "value": c.heap},
        {"name": "HEAP_NEWSIZE", "value": c.heap_new},
        {"name": "CASSANDRA_ADMIN_USER", "valueFrom": secret(n.SECRET_USERNAME_KEY)},
        {"name": "CASSANDRA_ADMIN_PASSWORD", "valueFrom": secret(n.SECRET_PASSWORD_KEY)},
    ]


def _affinity(zone: str | None) -> dict[str, Any] | None:
    if zone is None:
        return None
    term = {"matchExpressions": [{"key": n.ZONE_LABEL, "operator": "In", "values": [zone]}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def statefulsets(spec: RingSpec, dc: Datacenter) -> list[Manifest]:
    """One StatefulSet per rack, `cassandra-<rack>`, pinned to the rack's zone."""
    return [_statefulset(spec, dc, rn) for rn in n.rack_nodes(dc)]


def _statefulset(spec: RingSpec, dc: Datacenter, rn: n.RackNodes) -> Manifest:
    c = dc.cassandra
    rack = rn.rack.name
    pod_labels = {**n.labels(spec.name, dc.name), **n.rack_selector(spec.name, dc.name, rack)}
    resources = {"cpu": c.cpu, "memory": c.memory}
    container: dict[str, Any] = {
        "name": n.CONTAINER_NAME,
        "image": spec.cassandra.image,
        "env": _env(spec, dc, rack),
        "ports": [
            {"name": "intra-node", "containerPort": STORAGE_PORT},
            {"name": "tls-intra-node", "containerPort": SSL_STORAGE_PORT},
            {"name": "cql", "containerPort": NATIVE_PORT},
            {"name": "jmx", "containerPort": JMX_PORT},
        ],
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "readinessProbe": {
            "exec": {"command": ["sh", "-c", READINESS_COMMAND]},
            "initialDelaySeconds": 30,
            "periodSeconds": 15,
            "timeoutSeconds": 15,
            "failureThreshold": 4,
        },
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "nodetool drain"]}}},
        "volumeMounts": [
            {"name": n.DATA_VOLUME, "mountPath": DATA_MOUNT},
            {"name": "etc-cassandra", "mountPath": CONFIG_MOUNT},
        ],
    }
    init = {
        "name": "config",
        "image": spec.cassandra.image,
        "command": ["sh", "-c", INIT_COMMAND],
        "volumeMounts": [
            {"name": "config", "mountPath": "/config", "readOnly": True},
            {"name": "etc-cassandra", "mountPath": "/work-config"},
        ],
    }
    gate = {
        "name": n.START_GATE_CONTAINER,
        "image": spec.cassandra.image,
        "command": ["sh", "-c", START_GATE_COMMAND],
        "volumeMounts": [{"name": n.DATA_VOLUME, "mountPath": DATA_MOUNT}],
    }
    pod_spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": {"fsGroup": CASSANDRA_UID},
        "initContainers": [init, gate],
        "containers": [container],
        "volumes": [
            {"name": "config", "configMap": {"name": n.CONFIGMAP_NAME}},
            {"name": "etc-cassandra", "emptyDir": {}},
        ],
    }
    affinity = _affinity(n.zone_label(dc, rn.rack))
    if affinity is not None:
        pod_spec["affinity"] = affinity
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(spec, dc, rn.statefulset, dc.namespace),
        "spec": {
            "replicas": rn.replicas,
            "serviceName": n.SERVICE_NAME,
            # A rack's pods come up in order; the start gate holds each joining node until the ring's
            # join slot is free (Cassandra nodes must bootstrap one at a time).
            "podManagementPolicy": "OrderedReady",
            # Each rack's StatefulSet would roll on its own, one pod per rack down at once (a whole
            # replica set with RF = racks); deploy-ring deletes outdated pods one per DC instead.
            "updateStrategy": {"type": "OnDelete"},
            "selector": {"matchLabels": n.rack_selector(spec.name, dc.name, rack)},
            # The config's checksum in the template: a changed cassandra.yaml is a new revision.
            "template": {"metadata": {"labels": pod_labels, "annotations": {
                n.CONFIG_CHECKSUM_ANNOTATION: config_checksum(spec, dc)}}, "spec": pod_spec},
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": n.DATA_VOLUME, "labels": n.labels(spec.name, dc.name)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": c.storage_class,
                        "resources": {"requests": {"storage": c.disk_size}},
                    },
                }
            ],
        },
    }


def pod_disruption_budget(spec: RingSpec, dc: Datacenter) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(spec, dc, n.PDB_NAME, dc.namespace),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": n.selector(spec.name, dc.name)}},
    }


def peer_cidrs(spec: RingSpec) -> list[str]:
    """Where Cassandra peers' packets come from: Azure CNI gives pods node-subnet addresses; an
    existing cluster's pods, or its nodes where the CNI rewrites pod traffic leaving the cluster's
    network to the node's address (EKS VPC CNI by default)."""
    cidrs: list[str] = []
    for d in spec.datacenters:
        if d.azure is not None:
            cidrs.append(str(d.azure.node_subnet))
        elif d.kubeconfig is not None:
            cidrs += [str(c) for c in [*d.kubeconfig.pod_cidrs, *d.kubeconfig.node_cidrs]]
    return sorted(set(cidrs), key=cidrs.index)


def network_policy(spec: RingSpec, dc: Datacenter) -> Manifest:
    sources: list[dict[str, Any]] = [{"ipBlock": {"cidr": c}} for c in peer_cidrs(spec)]
    sources.append({"podSelector": {}})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec, dc, n.NETWORK_POLICY_NAME, dc.namespace),
        "spec": {
            "podSelector": {"matchLabels": n.selector(spec.name, dc.name)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": sources,
                    "ports": [
                        {"protocol": "TCP", "port": p} for p in (STORAGE_PORT, SSL_STORAGE_PORT, NATIVE_PORT)
                    ],
                }
            ],
        },
    }


def cassandra_manifests(spec: RingSpec, dc: Datacenter) -> list[Manifest]:
    """What the Cassandra deploy step applies, in order (the Secret is created before, at run time)."""
    return [
        namespace(spec, dc),
        cassandra_config(spec, dc),
        headless_service(spec, dc),
        *statefulsets(spec, dc),
        pod_disruption_budget(spec, dc),
        network_policy(spec, dc),
    ]


def coredns_restart_patch(restarted_at: str) -> Manifest:
    """Strategic-merge patch for Deployment `coredns` that rolls its pods (like `kubectl rollout
    restart`), so that CoreDNS loads the new `coredns-custom` server blocks."""
    return {"spec": {"template": {"metadata": {"annotations": {n.RESTARTED_AT_ANNOTATION: restarted_at}}}}}
