"""Day two: the live ring as its nodes see it, the DCs being added to it, and their `nodetool rebuild`."""

from __future__ import annotations

from kubernetes.client import ApiClient
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.variables import Variable

from multidc_core import naming as n
from multidc_core.nodetool import parse_status
from multidc_core.ring_changes import LiveDC, RingChanges, live_dcs, nearest_source, ring_changes
from multidc_core.spec import CassandraDC, Datacenter, RingSpec
from tasks.cassandra_cql import CqlFailed
from tasks.kube_access import api_for, exec_in_pod
from tasks.kube_objects import KubeError, KubeWaits, get_or_none, wait_until

STATUS_TIMEOUT_S = 30.0  # one `nodetool status` answers in seconds; a dead JMX in less


@task(cache_policy=NO_CACHE)
def read_live_ring(spec: RingSpec) -> tuple[str, dict[str, LiveDC]] | None:
    """The ring's DCs and node counts from `nodetool status` in the first DC of the spec that answers.

    Returns (the DC it was read in, DC -> LiveDC), or None when no DC of the spec runs a node yet (a
    first build) or none can be reached.
    """
    log = get_run_logger()
    for d in spec.datacenters:
        try:
            res = exec_in_pod(api_for(spec, d), d.namespace, n.pods(d)[0], ["nodetool", "status"],
                              timeout_s=STATUS_TIMEOUT_S)
        except Exception as exc:  # a probe: a missing kubeconfig block, cluster or pod means "not here"
            log.info("live ring not read in %s: %s", d.name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            continue
        if res.returncode != 0:
            log.info("live ring not read in %s: nodetool status: %s", d.name, res.stderr.strip()[:200])
            continue
        live = live_dcs(parse_status(res.stdout))
        return d.name, {dc: _with_pod_spec(spec, dc, have) for dc, have in live.items()}
    return None


def _with_pod_spec(spec: RingSpec, dc: str, have: LiveDC) -> LiveDC:
    """The live DC with the image of its StatefulSets and its cassandra.yaml, when the spec knows its cluster."""
    d = next((x for x in spec.datacenters if x.name == dc), None)
    if d is None:
        return have
    sts_path = f"/apis/apps/v1/namespaces/{d.namespace}/statefulsets/{n.statefulset_name(d.cassandra.racks[0].name)}"
    try:
        api = api_for(spec, d)
        sts = get_or_none(api, sts_path)
        conf = get_or_none(api, f"/api/v1/namespaces/{d.namespace}/configmaps/{n.CONFIGMAP_NAME}")
    except Exception:  # a probe: a cluster not reachable from here shows its node count only
        return have
    containers = (((sts or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    image = next((c.get("image") for c in containers if c.get("name") == "cassandra"), None)
    config = ((conf or {}).get("data") or {}).get(n.CONFIGMAP_KEY)
    return LiveDC(have.nodes, image, config)


def pending_adds(ring: str) -> list[str]:
    """DCs an earlier run added and did not finish rebuilding (so a re-run resumes them)."""
    value = Variable.get(n.adding_variable(ring), default=None)
    return [str(v) for v in value] if isinstance(value, list) else []


def dcs_to_add(spec: RingSpec, changes: RingChanges | None) -> list[str]:
    """The spec's DCs that join a live ring by rebuild: new ones, and those a stopped run left unfinished.

    Recorded in the ring's Variable before anything changes; `rebuild_dc` takes each off once done.
    """
    pending = pending_adds(spec.name)
    new = set(changes.added if changes else []) | set(pending)
    adding = [d.name for d in spec.datacenters if d.name in new]
    if adding != pending:
        Variable.set(n.adding_variable(spec.name), adding, overwrite=True)
    return adding


def without_bootstrap(spec: RingSpec, adding: list[str]) -> RingSpec:
    """The spec with `auto_bootstrap: false` rendered for the DCs being added."""
    dcs = [
        d.model_copy(update={"cassandra": CassandraDC(**{**d.cassandra.model_dump(), "auto_bootstrap": False})})
        if d.name in adding
        else d
        for d in spec.datacenters
    ]
    return spec.model_copy(update={"datacenters": dcs})


def rebuild_source(spec: RingSpec, dc: str) -> str:
    """The DC a new DC streams from: its `rebuild_from`, else the nearest DC not being added itself."""
    return nearest_source(spec, dc, pending_adds(spec.name))


@task(cache_policy=NO_CACHE)
def rebuild_dc(spec: RingSpec, dc: str, waits: KubeWaits | None = None) -> str:
    """`nodetool rebuild -- <source DC>` on each node of a DC added to the live ring, one at a time.

    Runs once its keyspaces replicate to it: each node streams the ranges it now owns from the
    source DC. Each rebuild is waited for as long as it runs (`waits.repair_s`); failures are
    retried (a source node restarting), an exec that gives no exit status is not (it may still be
    streaming). When every node is done the DC leaves the ring's list of DCs being added.

    Returns:
        `rebuilt N nodes from <source>`.
    """
    w = waits or KubeWaits()
    d, source = spec.dc(dc), rebuild_source(spec, dc)
    api, log = api_for(spec, d), get_run_logger()
    argv = ["nodetool", "rebuild", "--", source]
    for pod in n.pods(d):
        _rebuild_node(api, d, pod, argv, w)
        log.info("%s: %s rebuilt from %s", dc, pod, source)
    left = [x for x in pending_adds(spec.name) if x != dc]
    Variable.set(n.adding_variable(spec.name), left, overwrite=True)
    return f"rebuilt {len(n.pods(d))} nodes from {source}"


def _rebuild_node(api: ApiClient, d: Datacenter, pod: str, argv: list[str], w: KubeWaits) -> None:
    last: list[str] = []

    def once() -> bool | None:
        res = exec_in_pod(api, d.namespace, pod, argv, timeout_s=w.repair_s)
        if res.returncode == -1:
            raise CqlFailed(f"datacenter {d.name}, pod {pod}: {' '.join(argv)} gave no answer in {w.repair_s:g}s "
                            "and may still be streaming (see `nodetool netstats`); not started again")
        last[:] = [res.stderr.strip()]
        return True if res.returncode == 0 else None

    try:
        wait_until(f"{d.name}: rebuild of {pod}", once, w.repair_s, w.poll_s)
    except KubeError:
        raise CqlFailed(f"datacenter {d.name}, pod {pod}: {' '.join(argv)}: {last[0] if last else '?'}") from None


def live_changes(spec: RingSpec) -> tuple[str, RingChanges] | None:
    """(the DC the live ring was read in, the plan of changes), or None when the ring cannot be seen."""
    live = read_live_ring(spec)
    return None if live is None else (live[0], ring_changes(spec, live[1]))
