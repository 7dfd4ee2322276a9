"""remove-dc: take one datacenter out of a live ring without losing a row, then delete what it ran on."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from pydantic import BaseModel, Field

from blocks.azure import AzureCloud
from flows.full import RingChangeRefused, ring_lock
from flows.spec_ref import SpecRef
from flows.teardown import ConfirmationError
from multidc_core.ring_changes import removal_refusal, without_dc
from multidc_core.spec import Provider, RingSpec
from tasks.cassandra import apply_cassandra, wait_for_dc
from tasks.cassandra_cql import configure_auth, ensure_keyspaces
from tasks.decommission import live_replication
from tasks.kube_objects import KubeWaits
from tasks.remove_dc import (
    connected_clients,
    decommission_dc,
    drop_dns_forward,
    drop_from_other_keyspaces,
    forget_dc_kubeconfig,
)
from tasks.teardown_azure import (
    delete_cluster,
    delete_dc_base,
    delete_gateway,
    delete_links,
    delete_resource_group,
)
from tasks.teardown_kube import Deletion, teardown_dc_kubernetes


class RemoveResult(BaseModel):
    """What one remove-dc run did."""

    dc: str = Field(description="The datacenter removed.")
    altered: list[str] = Field(description="Keyspaces outside the spec altered to drop it.")
    nodes: list[str] = Field(description="Its nodes, decommissioned (or removed when its cluster was gone).")
    rolled: list[str] = Field(description="The other DCs, rolled one pod at a time onto seeds without it.")
    deleted: list[Deletion] = Field(description="Kubernetes objects, DNS forwards and Azure resources deleted.")


@flow(name="remove-dc")
def remove_dc(
    spec: SpecRef, dc: str, confirm: str = "", cloud_block: str = "multidc-sandbox", waits: KubeWaits | None = None
) -> RemoveResult:
    """Remove datacenter `dc` from the live ring; the spec still lists it (drop it from the spec after).

    Refused before any change while a keyspace replicates only to `dc`, while applications are connected to
    its nodes (`nodetool clientstats`), or when `confirm` is not `dc`.
    Then: ALTER every keyspace (the spec's, system_auth/distributed/traces, and any other) to drop it;
    decommission its nodes (`removenode` from another DC when its cluster is gone); roll every other
    DC onto seeds without it, one pod at a time, each back UN; drop its DNS forwards; delete its ring
    objects (kubeconfig DCs) or its links, cluster, gateway and network (Azure DCs, tag-scoped as
    teardown does).

    Args:
        spec: The ring spec that still lists `dc`.
        dc: The datacenter to remove.
        confirm: Must equal `dc`: its nodes, data and (Azure) resources are deleted for good.
        cloud_block: AzureCloud block (for an Azure DC or Azure links).
        waits: Deadlines of the waits; `repair_s` bounds each decommission.

    Returns:
        What was altered, decommissioned, rolled and deleted.
    """
    ring = spec.load()
    if dc not in {d.name for d in ring.datacenters}:
        raise RingChangeRefused(f"ring {ring.name}: the spec has no datacenter {dc}: give the spec that still "
                                "lists it; nothing was changed")
    rest = without_dc(ring, dc)
    with ring_lock(ring.name):
        live = live_replication(rest, waits) if rest.datacenters else {}
        clients = connected_clients(ring, dc, rest.datacenters[0].name) if rest.datacenters else []
        refusal = removal_refusal(ring, dc, live, clients)
        if refusal:
            raise RingChangeRefused(f"ring {ring.name}: {refusal}")
        if confirm != dc:
            raise ConfirmationError(f"removing {dc} deletes its nodes, data and cluster objects: set confirm to "
                                    f"{dc!r} (the datacenter's name); nothing was changed")
        return _remove(ring, rest, dc, live, cloud_block, waits)


def _remove(ring: RingSpec, rest: RingSpec, dc: str, live: dict[str, dict[str, str]], cloud_block: str,
            waits: KubeWaits | None) -> RemoveResult:
    log = get_run_logger()
    configure_auth(rest, waits)  # system_auth, system_distributed, system_traces without dc
    ensure_keyspaces(rest, waits)
    altered = drop_from_other_keyspaces(rest, dc, live, waits)
    nodes = decommission_dc(ring, dc, rest.datacenters[0].name, waits)
    rolled = []
    for d in rest.datacenters:  # one DC after another: one pod of the ring restarts at a time
        apply_cassandra(rest, d.name, waits)
        wait_for_dc(rest, d.name, waits)
        rolled.append(d.name)
    gone = ring.dc(dc)
    for d in rest.datacenters:
        drop_dns_forward(rest, d.name, gone.namespace)
    deleted = teardown_dc_kubernetes(ring, dc)
    if gone.provider is Provider.AZURE or any(d.provider is Provider.AZURE for d in rest.datacenters):
        deleted += _azure(ring, dc, cloud_block)
    log.info("%s removed from ring %s: drop it from the spec now", dc, ring.name)
    return RemoveResult(dc=dc, altered=altered, nodes=nodes, rolled=rolled, deleted=deleted)


def _azure(ring: RingSpec, dc: str, cloud_block: str) -> list[Deletion]:
    """The links to and from `dc`, then its cluster beside its gateway, then its IP, grants, identity, VNet."""
    cloud = AzureCloud.load(cloud_block)
    assert isinstance(cloud, AzureCloud)
    azure = [d.name for d in ring.azure_dcs]
    out: list[Deletion] = []
    if dc not in azure:
        return out
    links: list[PrefectFuture[Any]] = [delete_links.submit(cloud, ring, dc)]
    links += [delete_links.submit(cloud, ring, o, to=dc) for o in azure if o != dc]
    for f in links:
        out += f.result()
    out += [delete_cluster(cloud, ring, dc), delete_gateway(cloud, ring, dc)]
    out += delete_dc_base(cloud, ring, dc)
    a = ring.dc(dc).azure
    assert a is not None
    shared = any(d.azure and (d.azure.subscription_id, d.azure.resource_group) == (a.subscription_id, a.resource_group)
                 for d in ring.azure_dcs if d.name != dc)
    if not shared:
        out.append(delete_resource_group(cloud, ring, a.subscription_id, a.resource_group))
    out.append(forget_dc_kubeconfig(ring, dc))
    return out
