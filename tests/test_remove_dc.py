"""Day two on the sandbox: remove-dc takes a DC out of a live ring while a writer writes at LOCAL_QUORUM in the
other; refused while a keyspace replicates only there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes.client import CoreV1Api

from multidc_core import naming
from multidc_core.load import load_spec
from sandbox.harness import ThreadedWorld, world_in_thread
from sandbox.ring import clients
from tasks.kube_access import exec_in_pod
from tests import day_two_ops as ops
from tests import ring_fixtures as rf
from tests.kube_helpers import wait_for

pytestmark = pytest.mark.usefixtures("prefect_harness")
DCS = ["aws-1", "azure-1"]


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[tuple[ThreadedWorld, Path]]:
    """aws-1 and azure-1 (3 nodes each, customers_ks at 3 in both), holding rows, built and grown by multidc/full."""
    tmp = tmp_path_factory.mktemp("remove-dc")
    with world_in_thread(tmp / "state", time_scale=0.001) as tw:
        kubeconfig = tw.add_existing("seed-blog")
        ops.one_dc_ring(tmp, kubeconfig)
        added = ops.add_dc(tmp, kubeconfig)
        assert added.state.is_completed(), added.state.message
        yield tw, tmp


def test_removing_a_dc_that_holds_a_keyspaces_only_replicas_is_refused_before_any_change(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    tw, tmp = ring
    spec = load_spec(ops.spec_file(tmp, tw.state_dir / "existing.kubeconfig", DCS).read_text())
    create = ("CREATE KEYSPACE IF NOT EXISTS azure_only WITH replication = {'class': 'NetworkTopologyStrategy', "
              "'azure-1': 3}")
    rc, _, err = ops.cql(spec, "azure-1", "cassandra-rack1-0", create)
    assert rc == 0, err
    before = rf.versions(spec)
    out = ops.remove(tmp, tw.state_dir / "existing.kubeconfig", DCS, "azure-1", confirm="azure-1")
    assert out.state.is_failed()
    assert "azure_only (not in the spec) replicate only to datacenter azure-1" in str(out.state.message)
    assert rf.versions(spec) == before
    assert ops.cql(spec, "azure-1", "cassandra-rack1-0", "DROP KEYSPACE azure_only")[0] == 0


def test_removing_a_dc_that_applications_still_read_from_is_refused_naming_them(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    tw, tmp = ring
    spec = load_spec(ops.spec_file(tmp, tw.state_dir / "existing.kubeconfig", DCS).read_text())
    node = next(k for k in tw.world.ring.nodes if k.endswith("/azure-1/cassandra-rack1-2"))
    tw.call(lambda: clients.connect(tw.world.ring, node, "10.250.0.40", 52344, user="cassandra",
                                    keyspace="customers_ks", driver="DataStax Java driver for Apache Cassandra(R)",
                                    driver_version="4.17.0", requests=12))
    # API priority and fairness refuses the first reads of a pod: the check retries them, it does not skip the DC.
    tw.world.clusters["azure-1"].kube.throttle(2, path_contains="/namespaces/azure-1/pods/cassandra-rack1-0",
                                                  methods=["GET"])
    try:
        res = exec_in_pod(rf.api(spec, "azure-1"), "azure-1", "cassandra-rack1-2", ["nodetool", "clientstats", "--all"])
        assert res.returncode == 0 and "Total connected clients: 1" in res.stdout
        before = rf.versions(spec)
        out = ops.remove(tmp, tw.state_dir / "existing.kubeconfig", DCS, "azure-1", confirm="azure-1")
        assert out.state.is_failed()
        message = str(out.state.message)
        assert "datacenter azure-1 still serves 1 client connection(s): 10.250.0.40 (user cassandra" in message
        assert "on cassandra-rack1-2" in message and "nothing was changed" in message
        assert rf.versions(spec) == before
    finally:
        tw.call(clients.disconnect, tw.world.ring, node)


def test_a_dc_whose_nodes_serve_but_whose_cluster_refuses_us_is_not_removed(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    """Its clients cannot be listed: the removal stops before any change (it used to skip the check, ALTER every
    keyspace off the DC, then fail on removenode of nodes that are alive)."""
    tw, tmp = ring
    good = tw.state_dir / "existing.kubeconfig"
    spec = load_spec(ops.spec_file(tmp, good, DCS).read_text())
    config = yaml.safe_load(good.read_text())
    user = next(c["context"]["user"] for c in config["contexts"] if c["name"] == "kube-azure")
    next(u for u in config["users"] if u["name"] == user)["user"]["token"] = "revoked"
    revoked = tmp / "revoked.kubeconfig"
    revoked.write_text(yaml.safe_dump(config))
    before = rf.versions(spec)
    out = ops.remove(tmp, revoked, DCS, "azure-1", confirm="azure-1")
    assert out.state.is_failed()
    message = str(out.state.message)
    assert "datacenter azure-1: its cluster does not answer" in message and "Unauthorized" in message
    assert "are up in aws-1's nodetool status" in message and "nothing was changed" in message
    assert rf.versions(spec) == before


def test_removing_a_dc_decommissions_it_drops_it_everywhere_and_loses_no_acknowledged_row(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    tw, tmp = ring
    kubeconfig = tw.state_dir / "existing.kubeconfig"
    spec = load_spec(ops.spec_file(tmp, kubeconfig, DCS).read_text())
    unconfirmed = ops.remove(tmp, kubeconfig, DCS, "azure-1")
    assert unconfirmed.state.is_failed() and "set confirm to 'azure-1'" in str(unconfirmed.state.message)
    out = ops.remove(tmp, kubeconfig, DCS, "azure-1", confirm="azure-1")
    assert out.state.is_completed(), out.state.message
    print(f"remove azure-1: {out.acked} acknowledged rows ({out.acked_during} during), lost in aws-1: "
          f"{len(out.lost['aws-1'])}; {out.seconds:.1f} s")
    assert out.lost == {"aws-1": set()}
    result = out.state.result()
    assert len(result.nodes) == 3 and result.rolled == ["aws-1"]
    # The ring is aws-1 alone, every node UN; no keyspace names azure-1 any more.
    status = rf.nodetool_status(spec, "aws-1")
    assert {r.dc for r in status} == {"aws-1"} and [r.status + r.state for r in status] == ["UN"] * 3
    rc, schema, err = ops.cql(spec, "aws-1", "cassandra-rack1-0",
                              "SELECT keyspace_name, replication FROM system_schema.keyspaces")
    assert rc == 0, err
    assert "azure-1" not in schema and "customers_ks" in schema
    # aws-1's nodes were rolled onto seeds without azure-1's; its CoreDNS forwards nothing there.
    core = CoreV1Api(rf.api(spec, "aws-1"))
    conf = core.read_namespaced_config_map(naming.CONFIGMAP_NAME, "aws-1").data[naming.CONFIGMAP_KEY]
    assert "azure-1.svc" not in conf and "aws-1.svc" in conf
    assert "azure-1.svc.cluster.local" not in core.read_namespaced_config_map("coredns", "kube-system").data["Corefile"]
    # azure-1's ring objects are gone from its cluster.
    azure = CoreV1Api(rf.api(spec, "azure-1"))
    assert "azure-1" not in {ns.metadata.name for ns in azure.list_namespace().items}


def test_a_dc_whose_nodes_are_gone_is_removed_with_removenode_from_another_dc(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    tw, tmp = ring
    kubeconfig = tw.state_dir / "existing.kubeconfig"
    spec = load_spec(ops.spec_file(tmp, kubeconfig, DCS).read_text())
    if "azure-1" in {r.dc for r in rf.nodetool_status(spec, "aws-1")}:
        pytest.skip("needs azure-1 removed by the test before")
    again = ops.add_dc(tmp, kubeconfig)
    assert again.state.is_completed(), again.state.message
    # The DC is lost: its namespace (pods, volumes) deleted without any decommission; its nodes show DN.
    azure = CoreV1Api(rf.api(spec, "azure-1"))
    azure.delete_namespace("azure-1")
    wait_for(lambda: "azure-1" not in {ns.metadata.name for ns in azure.list_namespace().items}, 30)
    assert {r.status for r in rf.nodetool_status(spec, "aws-1") if r.dc == "azure-1"} == {"D"}
    out = ops.remove(tmp, kubeconfig, DCS, "azure-1", confirm="azure-1")
    assert out.state.is_completed(), out.state.message
    assert out.lost == {"aws-1": set()}
    removed = out.state.result().nodes
    assert len(removed) == 3 and all(" removed (" in x for x in removed)
    status = rf.nodetool_status(spec, "aws-1")
    assert {r.dc for r in status} == {"aws-1"} and [r.status + r.state for r in status] == ["UN"] * 3
