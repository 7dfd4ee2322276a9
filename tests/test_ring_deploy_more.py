"""deploy-ring on three sandbox AKS DCs and on two existing clusters (the seed blog's AWS + Azure)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.ring import RingResult, deploy_ring
from sandbox.harness import ThreadedWorld, world_in_thread
from tasks.dns import DnsCheckError
from tests import ring_fixtures as rf
from tests.test_ring_deploy import assert_auth_taken_over, assert_one_ring

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture()
def sandbox(tmp_path: Path) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path, time_scale=0.001) as tw:
        yield tw


def test_three_azure_dcs_join_one_at_a_time_into_one_ring(sandbox: ThreadedWorld) -> None:
    spec = rf.three_dc_spec()
    rf.azure_clusters(sandbox, spec)
    result = deploy_ring(spec, waits=rf.FAST)
    assert isinstance(result, RingResult)
    assert [r.ready for r in result.datacenters.values()] == ["2/2 ready"] * 3
    # dc3 checked dc1's and dc2's seeds from inside before it started.
    assert len(result.datacenters["dc3"].resolved) == 4
    assert_one_ring(spec)
    assert_auth_taken_over(spec)


def test_existing_clusters_loadbalancer_dns_corefile_and_coredns_custom(sandbox: ThreadedWorld) -> None:
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    result = deploy_ring(spec, waits=rf.FAST)
    assert isinstance(result, RingResult)
    assert_one_ring(spec)
    assert_auth_taken_over(spec)
    # aws-1 (EKS-like) forwards in its Corefile, azure-1 (AKS-like) through coredns-custom.
    corefile = rf.request(rf.api(spec, "aws-1"), "GET", "/api/v1/namespaces/kube-system/configmaps/coredns")
    assert "azure-1.svc.cluster.local:53" in corefile["data"]["Corefile"]
    custom = rf.request(rf.api(spec, "azure-1"), "GET", "/api/v1/namespaces/kube-system/configmaps/coredns-custom")
    assert list(custom["data"]) == ["multidc-aws-1.server"]
    before = rf.versions(spec)
    deploy_ring(spec, waits=rf.FAST)
    assert rf.versions(spec) == before


def test_existing_cluster_dns_at_a_wrong_address_fails_before_the_second_dc_starts(
    sandbox: ThreadedWorld,
) -> None:
    spec = rf.existing_spec(
        sandbox.add_existing("seed-blog"), dns_exposure="address", dns_addresses=["10.9.200.200"]
    )
    with pytest.raises(DnsCheckError) as caught:
        deploy_ring(spec, waits=rf.FAST)
    assert str(caught.value) == (
        "datacenter azure-1 cannot resolve seed cassandra-rack1-0.cassandra.aws-1.svc.cluster.local of "
        "datacenter aws-1: its CoreDNS forwards aws-1.svc.cluster.local to 10.9.200.200"
    )
    assert rf.cassandra_pods(spec, "azure-1") == []
    assert {x.dc for x in rf.nodetool_status(spec, "aws-1")} == {"aws-1"}
