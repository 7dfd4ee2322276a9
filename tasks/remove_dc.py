"""Removing a datacenter from a live ring: its nodes out of the ring, other keyspaces off it, its DNS forwards."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from blocks.kube import DatacenterKubeconfig, forget_kubeconfig
from multidc_core import cql, manifests
from multidc_core import naming as n
from multidc_core.clientstats import parse_clientstats
from multidc_core.corefile import without_zone
from multidc_core.naming import kubeconfig_block_name
from multidc_core.spec import CorednsMode, RingSpec
from tasks.cassandra_cql import ADMIN_LOGIN, _cqlsh
from tasks.decommission import _nodetool, leave_ring, pod_ip, ring_rows
from tasks.kube_access import api_for, exec_in_pod
from tasks.kube_objects import MERGE_PATCH, KubeError, KubeWaits, call, get_or_none, request
from tasks.teardown_kube import Deletion


@task(cache_policy=NO_CACHE)
def drop_from_other_keyspaces(rest: RingSpec, dc: str, live: dict[str, dict[str, str]],
                              waits: KubeWaits | None = None) -> list[str]:
    """ALTER every live keyspace outside the spec that still replicates to `dc` (and elsewhere) to drop it.

    The spec's keyspaces and the system keyspaces are ensure_keyspaces' and configure_auth's job.
    """
    known = {ks.name for ks in rest.keyspaces} | set(cql.SYSTEM_KEYSPACES)
    wanted = {
        name: {k: int(v) for k, v in rep.items() if k not in ("class", dc)}
        for name, rep in live.items()
        if name not in known and rep.get("class", "").endswith(cql.NTS) and dc in rep
    }
    if not wanted:
        return []
    sh = _cqlsh(rest, waits)
    return sh.alter_if_needed(ADMIN_LOGIN if rest.cassandra.auth else None, wanted, create=False)


@task(cache_policy=NO_CACHE)
def connected_clients(spec: RingSpec, dc: str, viewer_dc: str) -> list[str]:
    """The applications still connected to `dc`'s nodes, one line each, from `nodetool clientstats --all`.

    Connections from the DC's own pods (cqlsh run by an operator or by multidc) are not applications.
    A DC whose cluster does not answer serves nobody only if `viewer_dc`'s `nodetool status` shows none
    of its nodes up; else the check cannot be made and the removal must not go on (KubeError).
    """
    d, log = spec.dc(dc), get_run_logger()
    try:
        api = api_for(spec, d)
        ips = {pod: pod_ip(api, d, pod) for pod in n.pods(d)}
    except Exception as exc:  # a probe: its cluster or kubeconfig may be gone with its nodes
        v = spec.dc(viewer_dc)
        up = [r.address for r in ring_rows(api_for(spec, v), v, n.pods(v)[0]) if r.dc == dc and r.status == "U"]
        if up:
            raise KubeError(f"datacenter {dc}: its cluster does not answer ({str(exc)[:200]}) but its nodes "
                            f"{', '.join(up)} are up in {viewer_dc}'s nodetool status: which clients read there "
                            "cannot be checked. Fix its kubeconfig or API access and run again; nothing was "
                            "changed") from exc
        log.warning("%s cannot be reached (%s) and its nodes are down: no client can read there", dc,
                    str(exc)[:200])
        return []
    own = {ip for ip in ips.values() if ip} | {"127.0.0.1"}
    found: list[str] = []
    for pod in (p for p, ip in ips.items() if ip):  # a pod that does not run serves no client
        res = exec_in_pod(api, d.namespace, pod, ["nodetool", "clientstats", "--all"])
        if res.returncode != 0:  # a node that is down serves no client
            log.warning("%s: nodetool clientstats in %s failed: %s", dc, pod, res.stderr.strip()[:200])
            continue
        found += [f"{c.describe()} on {pod}" for c in parse_clientstats(res.stdout) if c.ip not in own]
    return found


@task(cache_policy=NO_CACHE)
def decommission_dc(spec: RingSpec, dc: str, viewer_dc: str, waits: KubeWaits | None = None) -> list[str]:
    """Take every node of `dc` out of the ring, highest first: `nodetool decommission` in each pod when its
    cluster answers, else `nodetool removenode <host id>` from `viewer_dc` for each of its nodes (the DC
    is gone: its replicas' data is gone too, the other DCs' replicas stream to the new owners).

    Run once no keyspace replicates to `dc` any more: each decommission then streams nothing.

    Returns:
        What was done per node.
    """
    w = waits or KubeWaits()
    d, v = spec.dc(dc), spec.dc(viewer_dc)
    vapi = api_for(spec, v)
    viewer = (vapi, v, n.pods(v)[0])
    log, done = get_run_logger(), []
    try:
        api = api_for(spec, d)
        ring_rows(api, d, n.pods(d)[0])  # its cluster and its nodes answer
        reachable = True
    except Exception as exc:  # a probe: a cluster, kubeconfig or node that is gone means removenode
        log.warning("%s cannot be reached (%s): its nodes are removed with removenode", dc, str(exc)[:200])
        reachable = False
    if reachable:
        for pod in reversed(n.pods(d)):
            if leave_ring(api, d, pod, viewer, w):
                done.append(f"{pod} decommissioned")
                log.info("%s: %s decommissioned", dc, pod)
        return done
    for row in (r for r in ring_rows(*viewer) if r.dc == dc):
        _nodetool(vapi, v, viewer[2], ["nodetool", "removenode", row.host_id], w)
        done.append(f"{row.address} removed ({row.host_id})")
        log.info("%s: %s removed from %s", dc, row.address, viewer_dc)
    return done


@task(cache_policy=NO_CACHE)
def drop_dns_forward(rest: RingSpec, kept: str, namespace: str) -> bool:
    """Remove the forward of a removed DC's namespace zone from a remaining DC's CoreDNS, then restart it.

    `coredns-custom` loses the `multidc-<ns>.server` key (a merge patch with null); a `corefile` cluster
    loses that zone's server block from multidc's section. Returns whether anything changed.
    """
    d = rest.dc(kept)
    api = api_for(rest, d)
    changed = False
    if d.kubeconfig is not None and d.kubeconfig.dns_mode is CorednsMode.COREFILE:
        path = f"/api/v1/namespaces/{n.KUBE_SYSTEM}/configmaps/coredns"
        live = get_or_none(api, path) or {}
        text = (live.get("data") or {}).get("Corefile", "")
        new = without_zone(text, n.namespace_zone(namespace))
        if new != text:
            call("ConfigMap coredns", request, api, "PATCH", path, {"data": {"Corefile": new}}, MERGE_PATCH)
            changed = True
    else:
        path = f"/api/v1/namespaces/{n.KUBE_SYSTEM}/configmaps/{n.COREDNS_CUSTOM}"
        key = n.coredns_custom_key(namespace)
        if key in ((get_or_none(api, path) or {}).get("data") or {}):
            call(f"ConfigMap {n.COREDNS_CUSTOM}", request, api, "PATCH", path, {"data": {key: None}}, MERGE_PATCH)
            changed = True
    if changed:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        deploy = f"/apis/apps/v1/namespaces/{n.KUBE_SYSTEM}/deployments/{n.COREDNS_DEPLOYMENT}"
        call(f"Deployment {n.COREDNS_DEPLOYMENT}", request, api, "PATCH", deploy,
             manifests.coredns_restart_patch(now), MERGE_PATCH)
        get_run_logger().info("%s: no longer forwards %s; CoreDNS restarted", kept, n.namespace_zone(namespace))
    return changed


@task(cache_policy=NO_CACHE)
def forget_dc_kubeconfig(spec: RingSpec, dc: str) -> Deletion:
    """Delete the removed DC's kubeconfig block (Azure DCs; an existing cluster's file is the user's)."""
    name = kubeconfig_block_name(spec.name, dc)
    forget_kubeconfig(name)
    try:
        DatacenterKubeconfig.delete(name)
    except Exception:  # ObjectNotFound, or ValueError from Prefect for an unknown block
        return Deletion(system="prefect", kind="kubeconfig block", name=name, action="absent")
    return Deletion(system="prefect", kind="kubeconfig block", name=name, action="deleted")
