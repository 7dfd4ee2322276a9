"""The teardown flow: the ring's Kubernetes objects first, then its Azure resources, then its secrets."""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture, wait
from prefect.logging import get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field, computed_field

from blocks.azure import AzureCloud
from flows.ring_lock import ring_lock
from flows.spec_ref import SpecRef
from multidc_core.spec import RingSpec
from tasks.teardown_azure import (
    delete_cluster,
    delete_dc_base,
    delete_gateway,
    delete_links,
    delete_resource_group,
    delete_secret_blocks,
)
from tasks.teardown_kube import Deletion, teardown_dc_kubernetes

# Cluster and gateway deletes of every DC run at once; each holds a thread while it waits.
MAX_WORKERS = 32


class ConfirmationError(ValueError):
    """The run was not confirmed with the ring's name; nothing was deleted."""


class TeardownResult(BaseModel):
    """What teardown did: every object it considered, and how many of each kind it deleted."""

    ring: str = Field(description="Ring that was torn down.")
    items: list[Deletion] = Field(description="Every object considered, with what was done.")

    @property
    def deleted(self) -> list[Deletion]:
        return [d for d in self.items if d.action == "deleted"]

    @property
    def kept(self) -> list[Deletion]:
        return [d for d in self.items if d.action == "kept"]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Deleted objects per kind; empty when there was nothing left to delete."""
        return dict(Counter(d.kind for d in self.deleted))


def _results(futures: list[PrefectFuture[Any]]) -> list[Deletion]:
    """Let every future of a phase finish (so one failure does not hide the others' progress), then collect."""
    wait(futures)
    out: list[Deletion] = []
    for f in futures:
        value = f.result()
        out += value if isinstance(value, list) else [value]
    return out


@flow(name="teardown", task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS))  # type: ignore[arg-type]
def teardown(spec: SpecRef, cloud_block: str, confirm: str = "") -> TeardownResult:
    """Delete the ring: only what carries its ownership tags and labels, in dependency order.

    Kubernetes first in every DC at once (ring namespace, `multidc-dns`, this ring's CoreDNS
    forward zones), then Azure (links; clusters beside gateways; public IPs, grants,
    identities, VNets; resource groups only when nothing else is left in them), then the
    ring's secret blocks. A re-run after a partial teardown finishes it; with nothing left
    it deletes nothing.

    Args:
        spec: The ring spec: a YAML path or the name of a block holding it.
        cloud_block: Name of the saved AzureCloud block (unused when no DC is on Azure).
        confirm: The ring's name, to confirm; anything else stops the run before any change.

    Returns:
        Every object considered, with what was done, and counts of what was deleted.
    """
    ring = spec.load()
    if confirm != ring.name:
        raise ConfirmationError(
            f"teardown deletes ring {ring.name!r} for good: pass the ring name as confirm "
            f"(confirm={ring.name!r}) to go ahead; got {confirm!r}, so nothing was deleted"
        )
    with ring_lock(ring.name):
        log = get_run_logger()
        items = _results([teardown_dc_kubernetes.submit(ring, d.name) for d in ring.datacenters])
        if ring.azure_dcs:
            cloud = AzureCloud.load(cloud_block)
            assert isinstance(cloud, AzureCloud)
            items += _azure(cloud, ring)
        items += _results([delete_secret_blocks.submit(ring)])
        result = TeardownResult(ring=ring.name, items=items)
        log.info(
            "teardown of %s: deleted %s; kept %d", ring.name, result.counts or "nothing", len(result.kept)
        )
        return result


def _azure(cloud: AzureCloud, spec: RingSpec) -> list[Deletion]:
    """Azure in dependency order; each phase finishes everywhere before the next starts."""
    dcs = [d.name for d in spec.azure_dcs]
    items = _results([delete_links.submit(cloud, spec, dc) for dc in dcs])
    items += _results(
        [delete_cluster.submit(cloud, spec, dc) for dc in dcs]
        + [delete_gateway.submit(cloud, spec, dc) for dc in dcs]
    )
    items += _results([delete_dc_base.submit(cloud, spec, dc) for dc in dcs])
    groups = sorted({(d.azure.subscription_id, d.azure.resource_group) for d in spec.azure_dcs if d.azure})
    items += _results([delete_resource_group.submit(cloud, spec, sub, rg) for sub, rg in groups])
    return items
