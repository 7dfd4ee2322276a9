"""The service controller's LoadBalancer part, per cloud: internal only with the cloud's annotation,
public otherwise; AKS/GKE give an address, EKS a DNS name."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.kube.ipam import allocate, in_cidr
from sandbox.kube.store import Key, Obj, key_of

if TYPE_CHECKING:
    from sandbox.kube.controllers import Controllers

LB_IPV4_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
AZURE_INTERNAL = "service.beta.kubernetes.io/azure-load-balancer-internal"
AWS_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
AWS_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
AWS_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"
GKE_TYPE = "networking.gke.io/load-balancer-type"
GKE_TYPE_LEGACY = "cloud.google.com/load-balancer-type"
# First octet of the clouds' public frontends (Azure 20/8, AWS 52/8, Google 34/8): global addresses.
PUBLIC_FIRST_OCTET = {"aks": 20, "eks": 52, "gke": 34}


@dataclass(frozen=True)
class Frontend:
    """One load balancer frontend of a Service: its address, the DNS name it has (EKS), and whether
    the internet reaches it."""

    namespace: str
    service: str
    address: str
    hostname: str | None
    public: bool


def is_internal(flavor: str, annotations: dict[str, str]) -> bool | None:
    """Whether the cloud makes the load balancer internal; None: no cloud load balancer (kubeadm)."""
    if flavor == "aks":  # cloud-provider-azure: only the value "true" counts
        return annotations.get(AZURE_INTERNAL) == "true"
    if flavor == "eks":
        legacy = annotations.get(AWS_INTERNAL, "")
        if annotations.get(AWS_TYPE) in ("external", "nlb-ip"):  # the AWS Load Balancer Controller
            scheme = annotations.get(AWS_SCHEME)
            if scheme:
                return scheme == "internal"
            return legacy != "false"  # internal by default since v2.2
        return legacy not in ("", "false")  # the in-tree controller: internet-facing by default
    if flavor == "gke":
        return "Internal" in (annotations.get(GKE_TYPE), annotations.get(GKE_TYPE_LEGACY))
    return None


def _public_cidr(flavor: str, cluster: str) -> str:
    h = zlib.crc32(cluster.encode())
    return f"{PUBLIC_FIRST_OCTET.get(flavor, 20)}.{h % 200 + 20}.{(h >> 8) % 250}.0/24"


def _aws_name(svc: Obj, internal: bool, region: str) -> str:
    meta = svc["metadata"]
    digest = hashlib.sha256(meta["uid"].encode()).hexdigest()
    if (meta.get("annotations") or {}).get(AWS_TYPE) in ("external", "nlb-ip"):
        ns, name = (x.replace("-", "")[:8] for x in (meta["namespace"], meta["name"]))
        return f"k8s-{ns}-{name}-{digest[:10]}.elb.{region}.amazonaws.com"
    prefix = "internal-" if internal else ""
    return f"{prefix}a{digest[:32]}-{int(digest[32:40], 16) % 10**10}.{region}.elb.amazonaws.com"


class LoadBalancers:
    """Gives each LoadBalancer Service its frontend after the `lb_address` delay, as its cloud would."""

    def __init__(self, ctl: Controllers) -> None:
        self.ctl = ctl
        self.dns_names: dict[str, str] = {}  # EKS: load balancer DNS name -> address

    @property
    def public_cidr(self) -> str:
        return _public_cidr(self.ctl.flavor, self.ctl.cluster)

    # -- Service ---------------------------------------------------------------------------------

    def reconcile(self, svc: Obj) -> None:
        spec, status = svc["spec"], svc.get("status") or {}
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        if spec.get("type") != "LoadBalancer":
            if ingress:
                self.ctl.store.update({**svc, "status": {"loadBalancer": {}}})
            return
        pinned = (svc["metadata"].get("annotations") or {}).get(LB_IPV4_ANNOTATION)
        if ingress and (not pinned or ingress[0].get("ip") == pinned):
            return
        if is_internal(self.ctl.flavor, svc["metadata"].get("annotations") or {}) is None:
            return  # no cloud controller: the Service stays <pending>, as on kubeadm without MetalLB
        uid = svc["metadata"]["uid"]
        self.ctl.after(f"{uid}:lb", self.ctl.duration("lb_address"), lambda: self._assign_lb(key_of(svc)))

    def _used(self, svc: Obj) -> list[str]:
        used: list[str] = []
        for other in self.ctl.store.list("Service"):
            if other["metadata"]["uid"] == svc["metadata"]["uid"]:
                continue
            for i in (other.get("status") or {}).get("loadBalancer", {}).get("ingress") or []:
                used.append(i.get("ip") or self.dns_names.get(i.get("hostname", ""), ""))
            used.append((other["metadata"].get("annotations") or {}).get(LB_IPV4_ANNOTATION, ""))
        return [u for u in used if u]

    def _fail(self, svc: Obj, message: str) -> None:
        self.ctl.emit(svc, "SyncLoadBalancerFailed", message, "Warning", "service-controller")

    def _assign_lb(self, key: Key) -> None:
        svc = self.ctl.store.get(key)
        if svc is None or svc["spec"].get("type") != "LoadBalancer":
            return
        annotations = svc["metadata"].get("annotations") or {}
        internal = bool(is_internal(self.ctl.flavor, annotations))
        subnet = self.ctl.lb_cidr if internal else self.public_cidr
        pinned = annotations.get(LB_IPV4_ANNOTATION) if self.ctl.flavor == "aks" else None
        used = self._used(svc)
        if pinned and not in_cidr(pinned, subnet):
            self._fail(svc, f"Error syncing load balancer: private IP {pinned} is not in the subnet {subnet}")
            return
        if pinned and pinned in used:
            self._fail(svc, f"Error syncing load balancer: private IP {pinned} is already in use")
            return
        address = pinned or allocate(subnet, used)
        if address is None:
            self._fail(svc, f"no free address in {subnet}")
            return
        if self.ctl.flavor == "eks":  # ELB and NLB frontends are DNS names, never addresses
            name = _aws_name(svc, internal, self.ctl.region)
            self.dns_names[name] = address
            entry = {"hostname": name}
        else:
            entry = {"ip": address, "ipMode": "VIP"}
        self.ctl.store.update({**svc, "status": {"loadBalancer": {"ingress": [entry]}}})
        self.ctl.emit(svc, "EnsuredLoadBalancer", "Ensured load balancer", component="service-controller")

    # -- what the world sees ---------------------------------------------------------------------

    def frontends(self) -> list[Frontend]:
        out: list[Frontend] = []
        for svc in self.ctl.store.list("Service"):
            if svc["spec"].get("type") != "LoadBalancer":
                continue
            for i in (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []:
                address = i.get("ip") or self.dns_names.get(i.get("hostname", ""))
                if address:
                    meta = svc["metadata"]
                    public = in_cidr(address, self.public_cidr)
                    out.append(Frontend(meta["namespace"], meta["name"], address, i.get("hostname"), public))
        return out

    def dump(self) -> dict[str, str]:
        return dict(self.dns_names)

    def load(self, data: dict[str, str]) -> None:
        self.dns_names = dict(data)
