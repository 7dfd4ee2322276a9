"""The objects a fresh cluster of each flavor has: nodes, CoreDNS, kube-dns, storage classes."""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Sequence
from typing import Any

from sandbox.kube.ipam import allocate
from sandbox.kube.store import Obj

ZONE = "topology.kubernetes.io/zone"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"

_COREFILE = """.:53 {
    errors
    health {
      lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
      ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance%s
}%s
"""


def corefile(flavor: str) -> str:
    # AKS reconciles the coredns ConfigMap and reads additions from coredns-custom via these imports.
    if flavor == "aks":
        return _COREFILE % ("\n    import custom/*.override", "\nimport custom/*.server")
    return _COREFILE % ("", "")


def _storage_class(name: str, provisioner: str, default: bool, parameters: dict[str, str]) -> Obj:
    return {
        "kind": "StorageClass",
        "metadata": {
            "name": name,
            "annotations": {DEFAULT_CLASS: "true" if default else "false"},
            "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"},
        },
        "provisioner": provisioner,
        "parameters": parameters,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def storage_classes(flavor: str) -> list[Obj]:
    if flavor == "aks":
        return [
            _storage_class("managed-csi", "disk.csi.azure.com", True, {"skuname": "StandardSSD_LRS"}),
            _storage_class("managed-csi-premium", "disk.csi.azure.com", False, {"skuname": "Premium_LRS"}),
            _storage_class("default", "disk.csi.azure.com", False, {"skuname": "StandardSSD_LRS"}),
        ]
    if flavor == "eks":
        return [_storage_class("gp2", "kubernetes.io/aws-ebs", True, {"type": "gp2", "fsType": "ext4"})]
    return [
        _storage_class("standard", "rancher.io/local-path", True, {}),
        _storage_class("default", "rancher.io/local-path", False, {}),
    ]


def region_of(flavor: str, zones: Sequence[str]) -> str:
    """The region of a cluster's zones: AWS zones end in a letter (us-east-1a), AKS's in -<n>."""
    zone = zones[0] if zones else ""
    if flavor == "eks":
        return zone[:-1] if zone[-1:].isalpha() else zone or "us-east-1"
    return zone.rsplit("-", 1)[0] if "-" in zone else zone


def _node_name(flavor: str, cluster: str, index: int, ip: str) -> str:
    if flavor == "aks":
        return f"aks-nodepool1-{zlib.crc32(cluster.encode()) % 10**8:08d}-vmss{index:06d}"
    if flavor == "eks":
        return f"ip-{ip.replace('.', '-')}.ec2.internal"
    return f"{cluster}-worker{index or ''}"


def nodes(flavor: str, cluster: str, pod_cidr: str, zones: list[str], count: int) -> list[Obj]:
    out: list[Obj] = []
    used: list[str] = []
    for i in range(count):
        ip = allocate(pod_cidr, used) or str(ipaddress.ip_network(pod_cidr, strict=False).network_address)
        used.append(ip)
        zone = zones[i % len(zones)] if zones else ""
        name = _node_name(flavor, cluster, i, ip)
        out.append({
            "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "Standard_D4s_v5" if flavor == "aks" else "m5.xlarge",
                ZONE: zone,
                "topology.kubernetes.io/region": region_of(flavor, [zone]),
            }},
            "spec": {"podCIDR": pod_cidr},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status"}],
                "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                "capacity": {"cpu": "4", "memory": "16374584Ki", "pods": "110"},
                "allocatable": {"cpu": "3860m", "memory": "12880184Ki", "pods": "110"},
                "nodeInfo": {
                    "architecture": "amd64", "bootID": f"boot-{i}", "containerRuntimeVersion": "containerd://1.7.22",
                    "kernelVersion": "5.15.0-1074-azure", "kubeProxyVersion": "v1.31.2", "kubeletVersion": "v1.31.2",
                    "machineID": f"machine-{i}", "operatingSystem": "linux", "osImage": "Ubuntu 22.04.5 LTS",
                    "systemUUID": f"uuid-{i}",
                },
            },
        })
    return out


def system_objects(flavor: str, service_cidr: str, dns_service_ip: str) -> list[Obj]:
    """Namespaces, the kubernetes and kube-dns Services, CoreDNS and its configuration."""
    api_ip = allocate(service_cidr, [], skip_first=1)
    ns_objs: list[Obj] = [{"kind": "Namespace", "metadata": {"name": n}}
                          for n in ("default", "kube-system", "kube-public", "kube-node-lease")]
    dns_labels = {"k8s-app": "kube-dns"}
    objs: list[Obj] = [
        *ns_objs,
        {"kind": "Service", "metadata": {"name": "kubernetes", "namespace": "default",
                                          "labels": {"component": "apiserver", "provider": "kubernetes"}},
         "spec": {"clusterIP": api_ip, "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}},
        {"kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {
            **dns_labels, "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS",
            "addonmanager.kubernetes.io/mode": "Reconcile"}},
         "spec": {"clusterIP": dns_service_ip, "selector": dns_labels, "ports": [
             {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
             {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}},
        {"kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": "kube-system",
                                            "labels": {"addonmanager.kubernetes.io/mode": "Reconcile"}},
         "data": {"Corefile": corefile(flavor)}},
    ]
    if flavor == "aks":
        objs.append({"kind": "ConfigMap", "metadata": {"name": "coredns-custom", "namespace": "kube-system",
                                                       "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"}},
                     "data": {}})
    objs.append(coredns_deployment())
    return objs


def coredns_deployment() -> Obj:
    labels = {"k8s-app": "kube-dns"}
    container: dict[str, Any] = {
        "name": "coredns",
        "image": "mcr.microsoft.com/oss/kubernetes/coredns:v1.11.3",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                  {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}],
        "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
    }
    return {
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system",
                     "labels": {**labels, "addonmanager.kubernetes.io/mode": "Reconcile"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "priorityClassName": "system-node-critical",
                         "volumes": [{"name": "config-volume", "configMap": {"name": "coredns"}}]},
            },
        },
    }
