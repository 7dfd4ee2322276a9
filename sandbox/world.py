"""The sandbox world: clusters on networks, routing between them, DNS as CoreDNS would answer."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sandbox.arm.emulator import ArmEmulator
from sandbox.clock import Clock
from sandbox.dns import forward_zones, match_zone
from sandbox.kube.cluster import KubeCluster, start_cluster
from sandbox.kube.services import Frontend
from sandbox.kube.store import Obj
from sandbox.netpol import ingress_allowed
from sandbox.ring.cluster import RingSim
from sandbox.runtime import CassandraRuntime
from sandbox.tls import SandboxTLS

CLUSTER_DOMAIN = "svc.cluster.local"


@dataclass
class ClusterEntry:
    """One Kubernetes cluster and the network it sits on.

    network: the lower-cased ARM id of an AKS cluster's VNet, or "existing:<group>" for an
    existing cluster whose pod network routes to every other cluster of the same group.
    """

    kube: KubeCluster
    network: str
    cidrs: list[ipaddress.IPv4Network]
    meta: dict[str, Any] = field(default_factory=dict)
    # Azure CNI overlay: the pod CIDR, reachable only inside the cluster (pod traffic that leaves is
    # NATed to its node's address, so another cluster never sees, nor reaches, a pod IP).
    nat_cidrs: list[ipaddress.IPv4Network] = field(default_factory=list)

    def owns(self, ip: ipaddress.IPv4Address) -> bool:
        return any(ip in net for net in self.cidrs) or self.behind_nat(ip)

    def behind_nat(self, ip: ipaddress.IPv4Address) -> bool:
        return any(ip in net for net in self.nat_cidrs)


VERDICTS_KEPT = 50_000  # NetworkPolicy verdicts kept per world (pairs of addresses)


class World:
    """Everything the sandbox simulates, on one event loop. Implements ArmHooks and Network."""

    def __init__(self, clock: Clock, tls: SandboxTLS) -> None:
        self.clock = clock
        self.tls = tls
        self.clusters: dict[str, ClusterEntry] = {}
        self.partitions: set[frozenset[str]] = set()
        self.ring = RingSim(self, clock)
        self.runtime = CassandraRuntime(self.ring, self)
        self.arm: ArmEmulator | None = None
        # While a pod's command runs (synchronously, on the loop) nothing else can change the
        # network: routes between clusters are worked out once per pair then, not once per replica.
        self._routes: dict[frozenset[str], bool] | None = None
        # NetworkPolicy verdicts per pair of addresses, within a command and across commands (every
        # readiness probe runs `nodetool status`, which asks for every pair of nodes): a verdict stands
        # until a Pod of either cluster, or a NetworkPolicy or Namespace of the receiving one, changes
        # (Store.kind_version).
        self._verdicts: dict[tuple[str, str, str, str], tuple[tuple[object, ...], bool]] = {}

    @contextmanager
    def steady(self) -> Iterator[None]:
        """Routes between clusters are remembered until the end of the block (no await inside)."""
        outer = self._routes
        self._routes = {} if outer is None else outer
        try:
            yield
        finally:
            self._routes = outer

    # ---- clusters --------------------------------------------------------------------------------

    async def add_cluster(
        self,
        name: str,
        network: str,
        cidrs: list[str],
        port: int = 0,
        state: dict[str, Any] | None = None,
        nat_cidrs: list[str] | None = None,
        **kube_args: Any,
    ) -> ClusterEntry:
        kube = await start_cluster(
            port=port,
            state=state,
            name=name,
            clock=self.clock,
            runtime=self.runtime,
            tls=self.tls,
            **kube_args,
        )
        nat = [ipaddress.IPv4Network(c) for c in nat_cidrs or []]
        entry = ClusterEntry(kube, network, [ipaddress.IPv4Network(c) for c in cidrs], dict(kube_args), nat)
        entry.meta.update(network=network, cidrs=cidrs, nat_cidrs=list(nat_cidrs or []))
        self.clusters[name] = entry
        return entry

    async def remove_cluster(self, name: str) -> None:
        entry = self.clusters.pop(name, None)
        if entry is None:
            return
        for node_id in [n for n in self.ring.nodes if n.startswith(name + "/")]:
            self.ring.remove_node(node_id)
        await entry.kube.stop()

    # ---- ArmHooks --------------------------------------------------------------------------------

    async def on_cluster_provisioned(self, mc: dict[str, Any]) -> None:
        if mc["name"] in self.clusters:
            return
        props = mc.get("properties", {})
        pool = (props.get("agentPoolProfiles") or [{}])[0]
        subnet_id = pool.get("vnetSubnetID", "")
        vnet_id = subnet_id.lower().split("/subnets/")[0]
        assert self.arm is not None
        subnet = self.arm.store.resource(subnet_id) or {}
        prefix = subnet.get("properties", {}).get("addressPrefix", "10.244.0.0/16")
        net = props.get("networkProfile", {})
        # Flat Azure CNI: pods and internal load balancers take node-subnet addresses. Overlay: pods
        # take the private podCidr (AKS's default 10.244.0.0/16), NATed behind the nodes.
        overlay = (net.get("networkPluginMode") or "").lower() == "overlay"
        pods = (net.get("podCidr") or "10.244.0.0/16") if overlay else prefix
        await self.add_cluster(
            mc["name"],
            network=vnet_id,
            cidrs=[prefix],
            nat_cidrs=[pods] if overlay else [],
            flavor="aks",
            pod_cidr=pods,
            lb_cidr=prefix,
            service_cidr=net.get("serviceCidr", "10.0.0.0/16"),
            dns_service_ip=net.get("dnsServiceIP", "10.0.0.10"),
            # AKS labels nodes topology.kubernetes.io/zone=<location>-<n>; the StatefulSets pin to that.
            zones=[f"{mc.get('location', '')}-{z}" for z in pool.get("availabilityZones") or []],
            node_count=sum(int(p.get("count", 1)) for p in props.get("agentPoolProfiles") or [pool]),
        )

    def kubeconfig_for(self, mc: dict[str, Any]) -> str:
        entry = self.clusters.get(mc["name"])
        if entry is None:
            raise LookupError(f"cluster {mc['name']!r} has no API server yet")
        return entry.kube.kubeconfig(mc["name"])

    async def on_deleted(self, resource: dict[str, Any]) -> None:
        if resource.get("type", "").lower() == "microsoft.containerservice/managedclusters":
            await self.remove_cluster(resource["name"])

    # ---- routing ---------------------------------------------------------------------------------

    def cluster_of(self, ip: str) -> str | None:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            return None
        for name, entry in self.clusters.items():
            if entry.owns(addr):
                return name
        return None

    def clusters_connected(self, a: str, b: str) -> bool:
        if a == b:
            return True
        if self._routes is None:
            return self._connected(a, b)
        pair = frozenset((a, b))
        if pair not in self._routes:
            self._routes[pair] = self._connected(a, b)
        return self._routes[pair]

    def _connected(self, a: str, b: str) -> bool:
        if frozenset((a, b)) in self.partitions:
            return False
        na, nb = self.clusters[a].network, self.clusters[b].network
        if na == nb:
            return True
        if na.startswith("existing:") or nb.startswith("existing:"):
            return False
        return self.arm is not None and self.arm.vnets_connected(na, nb)

    def reachable(self, from_ip: str, to_ip: str) -> bool:
        if from_ip == to_ip:
            return True
        a, b = self.cluster_of(from_ip), self.cluster_of(to_ip)
        if b is None:  # a public load balancer answers the whole internet
            return self.public_frontend(to_ip) is not None
        if a != b and self.clusters[b].behind_nat(ipaddress.IPv4Address(to_ip)):
            return False  # an overlay pod IP means nothing outside its cluster
        if a is None or not self.clusters_connected(a, b):
            return False
        return self._admitted_kept(a, from_ip, b, to_ip)

    def source_of(self, a: str, from_ip: str, b: str) -> tuple[str, Obj | None]:
        """The source address a packet from a pod of cluster a carries into cluster b, and the pod
        when b sees it as one of its own. The EKS VPC CNI (AWS_VPC_K8S_CNI_EXTERNALSNAT=false, the
        default) rewrites pod traffic leaving the VPC to the node's address."""
        if a == b:
            return from_ip, self._pod_at(a, from_ip)
        if self.clusters[a].kube.flavor == "eks" or self.clusters[a].nat_cidrs:  # EKS, or AKS overlay
            pod = self._pod_at(a, from_ip)
            if pod is not None and (pod.get("status") or {}).get("hostIP"):
                return str(pod["status"]["hostIP"]), None
        return from_ip, None

    def _pod_at(self, cluster: str, ip: str, namespaces: set[str] | None = None) -> Obj | None:
        kube = self.clusters[cluster].kube
        for ns in sorted(namespaces) if namespaces is not None else [None]:
            for pod in kube.objects("Pod", ns):
                status = pod.get("status") or {}
                if status.get("podIP") == ip and not (pod.get("spec") or {}).get("hostNetwork"):
                    return pod
        return None

    def _admitted_kept(self, a: str, from_ip: str, b: str, to_ip: str) -> bool:
        """`_admitted`, worked out again only when what it reads has changed."""
        ka, kb = self.clusters[a].kube, self.clusters[b].kube
        stamp = (ka, ka.versions("Pod"), kb, kb.versions("Pod", "NetworkPolicy", "Namespace"))
        key = (a, from_ip, b, to_ip)
        hit = self._verdicts.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        admitted = self._admitted(a, from_ip, b, to_ip)
        if len(self._verdicts) >= VERDICTS_KEPT:  # addresses change as pods come and go: start afresh
            self._verdicts.clear()
        self._verdicts[key] = (stamp, admitted)
        return admitted

    def _admitted(self, a: str, from_ip: str, b: str, to_ip: str) -> bool:
        """Whether b's NetworkPolicies let the packet reach the pod at to_ip (gossip's port)."""
        kube = self.clusters[b].kube
        policies = kube.objects("NetworkPolicy")
        if not policies:
            return True
        pod = self._pod_at(b, to_ip, {p["metadata"]["namespace"] for p in policies})
        if pod is None:
            return True
        src_ip, src_pod = self.source_of(a, from_ip, b)
        labels = {ns["metadata"]["name"]: ns["metadata"].get("labels") or {} for ns in kube.objects("Namespace")}
        return ingress_allowed(policies, pod, src_ip, src_pod, labels)

    def public_frontend(self, ip: str) -> Frontend | None:
        """The public load balancer frontend at ip, of any cluster (reachable from anywhere)."""
        for entry in self.clusters.values():
            for fe in entry.kube.lb_frontends():
                if fe.public and fe.address == ip:
                    return fe
        return None

    def partition(self, a: str, b: str) -> None:
        self._known(a, b)
        self.partitions.add(frozenset((a, b)))

    def heal(self, a: str, b: str) -> None:
        self.partitions.discard(frozenset((a, b)))
        self.ring.gossip(force=True)  # the next gossip round crosses the healed link

    def _known(self, *names: str) -> None:
        unknown = [n for n in names if n not in self.clusters]
        if unknown:
            raise KeyError(f"no cluster named {unknown[0]!r}; clusters: {sorted(self.clusters)}")

    # ---- DNS -------------------------------------------------------------------------------------

    def resolve(self, from_ip: str, fqdn: str) -> str | None:
        """What `fqdn` resolves to for a pod at from_ip: its own CoreDNS, then any forward zone."""
        try:
            return str(ipaddress.IPv4Address(fqdn))
        except ValueError:
            pass
        here = self.cluster_of(from_ip)
        name = fqdn.lower().rstrip(".")
        if here is None:
            return None
        if not name.endswith("." + CLUSTER_DOMAIN):
            return self.lb_dns_name(name)
        kube = self.clusters[here].kube
        loaded = kube.coredns_snapshot()
        # Only AKS mounts coredns-custom into CoreDNS and imports its *.server keys; elsewhere only
        # the coredns ConfigMap's Corefile is read.
        custom = loaded.get("coredns-custom") if kube.flavor == "aks" else None
        zone = match_zone(name, forward_zones(loaded.get("coredns", {}).get("Corefile"), custom))
        if zone is None:
            return self.lookup_local(here, name)
        for ip, port in zone.upstreams:
            target = self.dns_server_at(ip, port)
            if target is not None and self.reachable(from_ip, ip):
                return self.lookup_local(target, name)
        return None  # SERVFAIL: no upstream answered

    def lb_dns_name(self, name: str) -> str | None:
        """A cloud load balancer's DNS name (EKS), public in the cloud's DNS, as any node resolves it."""
        for entry in self.clusters.values():
            for fe in entry.kube.lb_frontends():
                if fe.hostname == name:
                    return fe.address
        return None

    def dns_server_at(self, ip: str, port: int) -> str | None:
        """The cluster whose CoreDNS is exposed at ip:port (LoadBalancer or NodePort Service)."""
        for name, entry in self.clusters.items():
            fronted = {(fe.namespace, fe.service) for fe in entry.kube.lb_frontends() if fe.address == ip}
            for svc in entry.kube.objects("Service"):
                if (svc["spec"].get("selector") or {}).get("k8s-app") != "kube-dns":
                    continue
                ports = svc["spec"].get("ports") or []
                meta = svc["metadata"]
                if (meta["namespace"], meta["name"]) in fronted and any(p.get("port") == port for p in ports):
                    return name
                node_port = svc["spec"].get("type") == "NodePort" and any(
                    p.get("nodePort") == port for p in ports
                )
                if node_port and ip in self.node_addresses(entry):
                    return name
        return None

    @staticmethod
    def node_addresses(entry: ClusterEntry) -> set[str]:
        return {
            a["address"]
            for node in entry.kube.objects("Node")
            for a in node.get("status", {}).get("addresses", [])
            if a.get("type") == "InternalIP"
        }

    def lookup_local(self, cluster: str, name: str) -> str | None:
        """`<pod>.<service>.<ns>.svc.cluster.local` or `<service>.<ns>.svc.cluster.local` in one cluster."""
        labels = name[: -len(CLUSTER_DOMAIN) - 1].split(".")
        kube = self.clusters[cluster].kube
        if len(labels) == 2:
            svc = kube.get("Service", labels[1], labels[0])
            ip = svc["spec"].get("clusterIP") if svc else None
            return ip if ip and ip != "None" else None
        if len(labels) != 3:
            return None
        pod_name, svc_name, ns = labels
        svc = kube.get("Service", ns, svc_name)
        pod = kube.get("Pod", ns, pod_name)
        if svc is None or pod is None or svc["spec"].get("clusterIP") != "None":
            return None
        selector = svc["spec"].get("selector") or {}
        pod_labels = pod["metadata"].get("labels") or {}
        if any(pod_labels.get(k) != v for k, v in selector.items()):
            return None
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in pod.get("status", {}).get("conditions", [])
        )
        if not ready and not svc["spec"].get("publishNotReadyAddresses"):
            return None
        pod_ip: str | None = pod.get("status", {}).get("podIP")
        return pod_ip
