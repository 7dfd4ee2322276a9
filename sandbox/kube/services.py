"""The service controller's LoadBalancer part: an address from the cluster's subnet, pinned or the next free."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.kube.ipam import allocate, in_cidr
from sandbox.kube.store import Key, Obj, key_of

if TYPE_CHECKING:
    from sandbox.kube.controllers import Controllers

LB_IPV4_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-ipv4"


class LoadBalancers:
    """Gives each LoadBalancer Service its ingress address after the `lb_address` delay."""

    def __init__(self, ctl: Controllers) -> None:
        self.ctl = ctl

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
        uid = svc["metadata"]["uid"]
        self.ctl.after(f"{uid}:lb", self.ctl.duration("lb_address"), lambda: self._assign_lb(key_of(svc)))

    def _assign_lb(self, key: Key) -> None:
        svc = self.ctl.store.get(key)
        if svc is None or svc["spec"].get("type") != "LoadBalancer":
            return
        pinned = (svc["metadata"].get("annotations") or {}).get(LB_IPV4_ANNOTATION)
        used = [
            ip
            for other in self.ctl.store.list("Service")
            if other["metadata"]["uid"] != svc["metadata"]["uid"]
            for ip in [i.get("ip") for i in (other.get("status") or {}).get("loadBalancer", {}).get("ingress") or []]
            + [(other["metadata"].get("annotations") or {}).get(LB_IPV4_ANNOTATION)]
            if ip
        ]
        if pinned and not in_cidr(pinned, self.ctl.lb_cidr):
            self.ctl.emit(svc, "SyncLoadBalancerFailed", f"Error syncing load balancer: private IP {pinned} is not "
                      f"in the subnet {self.ctl.lb_cidr}", "Warning", "service-controller")
            return
        if pinned and pinned in used:
            self.ctl.emit(svc, "SyncLoadBalancerFailed", f"Error syncing load balancer: private IP {pinned} is "
                      "already in use", "Warning", "service-controller")
            return
        address = pinned or allocate(self.ctl.lb_cidr, used)
        if address is None:
            self.ctl.emit(svc, "SyncLoadBalancerFailed", f"no free address in {self.ctl.lb_cidr}", "Warning",
                      "service-controller")
            return
        self.ctl.store.update({**svc, "status": {"loadBalancer": {"ingress": [{"ip": address, "ipMode": "VIP"}]}}})
        self.ctl.emit(svc, "EnsuredLoadBalancer", "Ensured load balancer", component="service-controller")
