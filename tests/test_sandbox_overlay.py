"""Azure CNI overlay NATs pod traffic behind the nodes: pod IPs of one cluster are unreachable from another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from multidc_core import azure_bodies as bodies
from multidc_core.load import load_spec
from sandbox.harness import ThreadedWorld, world_in_thread
from tests.arm_fixtures import EXAMPLES

VNET = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v"


@pytest.fixture(scope="module")
def tw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path_factory.mktemp("overlay") / "state") as tw:
        yield tw


def cluster(tw: ThreadedWorld, name: str, subnet: str, prefix: str, overlay: bool) -> None:
    """A cluster as ARM reports it once provisioned, on a subnet of the one VNet (so the clusters route)."""
    assert tw.world.arm is not None
    sid = f"{VNET}/subnets/{subnet}"
    tw.world.arm.store.put({"id": sid, "name": subnet, "type": "Microsoft.Network/virtualNetworks/subnets",
                            "properties": {"addressPrefix": prefix}}, {})
    network: dict[str, Any] = {"networkPlugin": "azure", "serviceCidr": "10.100.0.0/16", "dnsServiceIP": "10.100.0.10"}
    if overlay:
        network.update(networkPluginMode="overlay", podCidr="10.244.0.0/16")
    mc = {"name": name, "location": "eastus", "properties": {
        "agentPoolProfiles": [{"name": "system", "count": 1, "vnetSubnetID": sid}], "networkProfile": network}}
    tw.call(tw.world.on_cluster_provisioned, mc)


def test_overlay_pod_ips_are_not_reachable_from_another_cluster(tw: ThreadedWorld) -> None:
    cluster(tw, "flat-aks", "flat", "10.1.0.0/17", overlay=False)
    cluster(tw, "overlay-aks", "overlay", "10.1.128.0/17", overlay=True)
    assert tw.world.clusters["overlay-aks"].kube.pod_cidr == "10.244.0.0/16"
    flat_pod, overlay_pod, overlay_pod_2, overlay_lb = "10.1.0.40", "10.244.0.5", "10.244.0.6", "10.1.128.250"
    reach = tw.world.reachable
    # A Cassandra node gossips on its pod IP: a seed in the overlay cluster cannot be reached from the
    # other cluster, so the other DC never joins it and the ring does not form.
    assert not reach(flat_pod, overlay_pod)
    assert reach(overlay_pod, flat_pod)  # leaving the overlay, the pod is NATed to its node: it gets out
    assert reach(overlay_pod, overlay_pod_2)  # inside its cluster a pod IP works
    assert reach(flat_pod, overlay_lb)  # the cluster's internal load balancers are in the VNet


def test_the_product_keeps_flat_azure_cni() -> None:
    spec = load_spec((EXAMPLES / "two-dc-vpn.yaml").read_text())
    for dc in spec.azure_dcs:
        network = bodies.managed_cluster(spec, dc.name)["properties"]["networkProfile"]
        assert network["networkPlugin"] == "azure" and "networkPluginMode" not in network
