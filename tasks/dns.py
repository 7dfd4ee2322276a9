"""Cross-cluster DNS: expose each cluster's CoreDNS, forward other DCs' zones to it, check from inside."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from kubernetes.client import ApiClient
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from multidc_core import manifests
from multidc_core import naming as n
from multidc_core.corefile import insert_server_blocks, render_coredns_custom
from multidc_core.spec import CorednsMode, Datacenter, DnsExposure, RingSpec
from tasks.dns_probe import getent, ipv4_addresses, start_probe
from tasks.kube_access import api_for
from tasks.kube_objects import (
    MERGE_PATCH,
    KubeError,
    KubeWaits,
    WaitTimeout,
    apply_object,
    call,
    get_or_none,
    path_of,
    read,
    request,
    wait_until,
)
from tasks.kube_watch import watch_until

__all__ = ["DnsCheckError", "check_dns", "ensure_dns_exposed", "ensure_dns_forwarding"]


class DnsCheckError(KubeError):
    """A DC cannot resolve another DC's seed: the DC, the seed and where its DNS forwards."""


def _kube_dns_configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": n.KUBE_SYSTEM}}


def _service_address(svc: dict[str, Any], pinned: str | None) -> str | None:
    """The load balancer's IP, or `hostname:<name>` where the cloud gives a DNS name (EKS)."""
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ips = [i["ip"] for i in ingress if i.get("ip")]
    if not ips:
        names = [i["hostname"] for i in ingress if i.get("hostname")]
        return f"hostname:{names[0]}" if names else None
    if pinned is not None and pinned not in ips:
        return None  # the cloud controller has not applied the pinned address yet
    return ips[0]


def _resolve_lb_hostname(api: ApiClient, spec: RingSpec, d: Datacenter, host: str, w: KubeWaits) -> str:
    """The IPv4 addresses of a load balancer's DNS name, as the cluster's pods resolve it: CoreDNS
    `forward` takes addresses only, and a new NLB's name takes a few minutes to resolve."""
    start_probe(api, spec, d, w)

    def resolved() -> str | None:
        return " ".join(ipv4_addresses(getent(api, d, "ahostsv4", [host]))) or None

    return wait_until(f"{d.name}: addresses of load balancer {host}", resolved, w.dns_address_s, w.poll_s)


def _refuse_public(api: ApiClient, svc: dict[str, Any], dc: str, address: str) -> None:
    """A DNS server on a public address answers the whole internet: take the Service away at once."""
    public = [a for a in address.split() if ipaddress.ip_address(a.rsplit(":", 1)[0]).is_global]
    if not public:
        return
    call(f"Service {n.DNS_SERVICE_NAME}", request, api, "DELETE", path_of(svc, n.DNS_SERVICE_NAME))
    raise KubeError(
        f"{dc}: Service {n.KUBE_SYSTEM}/{n.DNS_SERVICE_NAME} got the public address {public[0]}, which would "
        "open the cluster's DNS to the internet; it was deleted. Set kubeconfig.cloud (aks, eks, gke) or "
        "kubeconfig.dns_lb_annotations so that the load balancer is internal"
    )


@task(cache_policy=NO_CACHE)
def ensure_dns_exposed(spec: RingSpec, dc: str, waits: KubeWaits | None = None) -> str:
    """Guarantee the DC's CoreDNS is reachable from other clusters and return where.

    Creates the `multidc-dns` Service in kube-system (selector `k8s-app: kube-dns`, never a patch of
    kube-dns): an internal LoadBalancer on AKS, for existing clusters as `dns_exposure` says, with
    the internal annotations of their `cloud`. A load balancer named by a hostname (EKS) is resolved
    from inside the cluster; one that got a public address is deleted and the task fails.

    Args:
        spec: The ring spec.
        dc: The datacenter whose DNS is exposed.
        waits: Deadlines; `dns_address_s` bounds the wait for a LoadBalancer address.

    Returns:
        What other clusters forward to: `ip`, `ip ip` for a hostname, `ip:port ip:port` for a NodePort.
    """
    w = waits or KubeWaits()
    d = spec.dc(dc)
    kc = d.kubeconfig
    svc = manifests.dns_service(spec, d)
    if svc is None:  # address mode: the user runs the exposure and tells us where it is
        if kc is None or not kc.dns_addresses:
            raise KubeError(f"{dc}: dns_exposure 'address' needs dns_addresses with the DNS address")
        return str(kc.dns_addresses[0])
    api = api_for(spec, d)
    apply_object(api, svc)
    if kc is not None and kc.dns_exposure is DnsExposure.NODEPORT:
        live = call(f"Service {n.DNS_SERVICE_NAME}", read, api, svc) or {}
        ports = [p for p in live.get("spec", {}).get("ports", []) if p.get("protocol") == "UDP"]
        if not kc.dns_addresses or not ports or not ports[0].get("nodePort"):
            raise KubeError(
                f"{dc}: dns_exposure 'nodeport' needs dns_addresses (node IPs) and a UDP nodePort"
            )
        return " ".join(f"{a}:{ports[0]['nodePort']}" for a in kc.dns_addresses)
    pinned = str(d.azure.dns_lb_ip) if d.azure is not None and d.azure.dns_lb_ip is not None else None

    def address(live: dict[str, Any] | None) -> str | None:
        return _service_address(live or {}, pinned)

    what = f"{dc}: LoadBalancer address of {n.KUBE_SYSTEM}/{n.DNS_SERVICE_NAME}"
    try:
        ip = watch_until(api, what, "Service", n.KUBE_SYSTEM, n.DNS_SERVICE_NAME, address, w.dns_address_s)
    except WaitTimeout as exc:
        events = (get_or_none(api, f"/api/v1/namespaces/{n.KUBE_SYSTEM}/events") or {}).get("items") or []
        mine = [e for e in events if (e.get("involvedObject") or {}).get("name") == n.DNS_SERVICE_NAME]
        said = "; ".join(f"{e.get('reason')}: {e.get('message')}" for e in mine[-3:]) or "no events"
        raise WaitTimeout(f"{exc} ({said})") from None
    if ip.startswith("hostname:"):
        ip = _resolve_lb_hostname(api, spec, d, ip.removeprefix("hostname:"), w)
    _refuse_public(api, svc, dc, ip)
    get_run_logger().info("%s: DNS exposed at %s", dc, ip)
    return ip


def _forward_coredns_custom(
    api: ApiClient, spec: RingSpec, d: Datacenter, remote_dns: dict[str, str]
) -> bool:
    want = render_coredns_custom(spec, d.name, remote_dns)
    ref = _kube_dns_configmap(n.COREDNS_CUSTOM)
    live = call(f"ConfigMap {n.COREDNS_CUSTOM}", read, api, ref)
    if live is None:
        apply_object(api, manifests.coredns_custom(spec, d, remote_dns))
        return True
    have = live.get("data") or {}
    if all(have.get(k) == v for k, v in want.items()):
        return False
    # Only our keys: other rings' and the cluster owner's keys stay as they are.
    path = f"/api/v1/namespaces/{n.KUBE_SYSTEM}/configmaps/{n.COREDNS_CUSTOM}"
    call(f"ConfigMap {n.COREDNS_CUSTOM}", request, api, "PATCH", path, {"data": want}, MERGE_PATCH)
    return True


def _forward_corefile(api: ApiClient, spec: RingSpec, d: Datacenter, remote_dns: dict[str, str]) -> bool:
    live = call("ConfigMap coredns", read, api, _kube_dns_configmap("coredns"))
    if live is None:
        raise KubeError(f"{d.name}: ConfigMap {n.KUBE_SYSTEM}/coredns not found (coredns_mode: corefile)")
    corefile = (live.get("data") or {}).get("Corefile", "")
    new = insert_server_blocks(corefile, spec, d.name, remote_dns)
    if new == corefile:
        return False
    path = f"/api/v1/namespaces/{n.KUBE_SYSTEM}/configmaps/coredns"
    call("ConfigMap coredns", request, api, "PATCH", path, {"data": {"Corefile": new}}, MERGE_PATCH)
    return True


@task(cache_policy=NO_CACHE)
def ensure_dns_forwarding(spec: RingSpec, dc: str, remote_dns: dict[str, str]) -> bool:
    """Forward every other DC's namespace zone to that DC's DNS, then restart CoreDNS if that changed.

    AKS-style clusters get one `multidc-<ns>.server` key per remote DC in `coredns-custom`
    (merged: other keys are left alone); `coredns_mode: corefile` clusters get a marked section
    in the `coredns` Corefile. CoreDNS is restarted (pod template annotation) only on a change.

    Args:
        spec: The ring spec.
        dc: The datacenter whose CoreDNS is configured.
        remote_dns: Every other DC's name -> its DNS address (from ensure_dns_exposed).

    Returns:
        Whether the configuration changed (and CoreDNS was restarted).
    """
    d = spec.dc(dc)
    api = api_for(spec, d)
    corefile = d.kubeconfig is not None and d.kubeconfig.dns_mode is CorednsMode.COREFILE
    changed = (_forward_corefile if corefile else _forward_coredns_custom)(api, spec, d, remote_dns)
    log = get_run_logger()
    if not changed:
        log.info("%s: DNS forwarding already in place", dc)
        return False
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = f"/apis/apps/v1/namespaces/{n.KUBE_SYSTEM}/deployments/{n.COREDNS_DEPLOYMENT}"
    patch = manifests.coredns_restart_patch(now)
    call(f"Deployment {n.COREDNS_DEPLOYMENT}", request, api, "PATCH", path, patch, MERGE_PATCH)
    log.info("%s: forwarding %s; CoreDNS restarted", dc, ", ".join(sorted(remote_dns)))
    return True


_FORWARD = re.compile(r"^\s*forward\s+\.\s+(.+?)\s*$", re.MULTILINE)


def forwarded_to(api: ApiClient, spec: RingSpec, d: Datacenter, namespace: str) -> str | None:
    """Where this cluster's configuration forwards a namespace's zone (None: nowhere)."""
    zone = n.namespace_zone(namespace)
    texts: list[str] = []
    for name in (n.COREDNS_CUSTOM, "coredns"):
        live = call(f"ConfigMap {name}", read, api, _kube_dns_configmap(name)) or {}
        texts += list((live.get("data") or {}).values())
    for text in texts:
        start = text.find(f"{zone}:53 {{")
        if start >= 0:
            m = _FORWARD.search(text, start)
            if m:
                return m.group(1)
    return None


def _owner(spec: RingSpec, fqdn: str) -> str:
    for d in spec.datacenters:
        if fqdn.endswith("." + n.namespace_zone(d.namespace)):
            return d.name
    return "?"


@task(cache_policy=NO_CACHE)
def check_dns(spec: RingSpec, dc: str, fqdns: list[str], waits: KubeWaits | None = None) -> list[str]:
    """Resolve other DCs' seed names from inside the DC's cluster, as its Cassandra pods will.

    Runs `getent hosts` in the `multidc-dns-probe` pod of the DC's namespace (created once, kept
    for re-runs). Retries until `dns_check_s` so that a CoreDNS rollout in progress is waited for.

    Args:
        spec: The ring spec.
        dc: The datacenter that must resolve the names.
        fqdns: Seed FQDNs of other DCs (`<pod>.cassandra.<ns>.svc.cluster.local`).
        waits: Deadlines; `pod_ready_s` bounds the probe's start, `dns_check_s` the names' resolution.

    Returns:
        "fqdn ip" per name.

    Raises:
        DnsCheckError: naming the DC, the seed it cannot resolve and where its DNS forwards that zone.
    """
    w = waits or KubeWaits()
    d = spec.dc(dc)
    api = api_for(spec, d)
    start_probe(api, spec, d, w)
    # One `getent hosts` per attempt for every name still unresolved (it prints "ip name" for each
    # name it finds and exits 2 when any is missing), so a DC's check is one exec, not one per seed.
    ips: dict[str, str] = {}

    def resolve_all() -> bool | None:
        todo = [f for f in fqdns if f not in ips]
        for line in getent(api, d, "hosts", todo).splitlines():
            ip, *names = line.split()
            for name in names:
                if name.rstrip(".") in todo:
                    ips[name.rstrip(".")] = ip
        return True if all(f in ips for f in fqdns) else None

    try:
        if fqdns:
            wait_until(f"{dc}: resolve {len(fqdns)} seed(s)", resolve_all, w.dns_check_s, w.poll_s)
    except KubeError:
        fqdn = next(f for f in fqdns if f not in ips)
        owner = _owner(spec, fqdn)
        ns = spec.dc(owner).namespace if owner != "?" else fqdn.split(".")[2]
        where = forwarded_to(api, spec, d, ns)
        how = (
            f"its CoreDNS forwards {n.namespace_zone(ns)} to {where}"
            if where
            else (f"its CoreDNS has no forwarding for {n.namespace_zone(ns)} (was the DNS step run?)")
        )
        raise DnsCheckError(f"datacenter {dc} cannot resolve seed {fqdn} of datacenter {owner}: {how}") from None
    found = [f"{fqdn} {ips[fqdn]}" for fqdn in fqdns]
    get_run_logger().info("%s: resolves %d remote seed(s)", dc, len(found))
    return found
