"""deploy-ring and verify at Cassandra's edges, on the sandbox: nodetool layouts, racks joining, repair, cqlsh."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from flows.ring import RingResult, deploy_ring
from multidc_core.load import load_spec
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld
from tasks.cassandra_admin import admin_credentials
from tasks.cassandra_cql import ensure_keyspaces
from tasks.verify import observe_ring
from tests import ring_fixtures as rf
from tests.ring_fixtures import assert_one_ring

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]


def existing(
    kubeconfig: Path, nodes: int, racks: int = 1, keyspaces: int = 0, dcs: int = 2, **cassandra: object
) -> RingSpec:
    """The seed blog's existing clusters (the first `dcs`), `nodes` per DC over `racks` racks, keyspace rf."""
    raw = yaml.safe_load((rf.EXAMPLES / "existing-clusters.yaml").read_text())
    raw.setdefault("cassandra", {}).update(cassandra)
    raw["datacenters"] = raw["datacenters"][:dcs]
    for dc in raw["datacenters"]:
        dc["kubeconfig"]["path"] = str(kubeconfig)
        dc["cassandra"].update(nodes=nodes, racks=[{"name": f"rack{i + 1}"} for i in range(racks)])
    replication = {dc["name"]: keyspaces for dc in raw["datacenters"]}
    raw["keyspaces"] = [{"name": "customers_ks", "replication": replication}] * (keyspaces > 0)
    return load_spec(yaml.safe_dump(raw))


def test_verify_reads_the_per_token_layout_of_a_ring_with_no_more_tokens_than_dcs(
    sandbox: ThreadedWorld,
) -> None:
    """One node with num_tokens 1 per DC: nodetool prints a Token column and no Tokens count."""
    spec = existing(sandbox.add_existing("seed-blog"), nodes=1, num_tokens=1)
    assert isinstance(deploy_ring(spec, waits=rf.FAST), RingResult)
    for dc in ("aws-1", "azure-1"):
        seen = observe_ring(spec, dc)
        assert seen.error is None, seen.error
        assert sorted((n.dc, n.state) for n in seen.nodes) == [("aws-1", "UN"), ("azure-1", "UN")]


def test_three_racks_join_one_node_at_a_time_and_no_pod_ever_restarts(sandbox: ThreadedWorld) -> None:
    """Five nodes over three racks: three joiners, one per rack's StatefulSet, never two bootstrapping at once."""
    spec = existing(sandbox.add_existing("seed-blog"), nodes=5, racks=3, dcs=1)
    result = deploy_ring(spec, waits=rf.FAST)
    assert [r.ready for r in result.datacenters.values()] == ["5/5 ready"]
    assert_one_ring(spec)  # every node UN with its rack, and no container restarted on the way


def test_a_dc_added_later_gets_the_roles_because_the_repair_is_full(sandbox: ThreadedWorld) -> None:
    """An incremental repair would skip the roles the first run's repair marked repaired: no login in azure-1."""
    kubeconfig = sandbox.add_existing("seed-blog")
    first = existing(kubeconfig, nodes=2, dcs=1)
    assert deploy_ring(first, waits=rf.FAST).auth == "cassandra"
    # A re-run repairs again: incrementally, that marks the admin's role repaired on aws-1.
    assert deploy_ring(first, waits=rf.FAST).auth == "admin"
    both = existing(kubeconfig, nodes=2, dcs=2)
    assert deploy_ring(both, waits=rf.FAST).auth == "admin"
    creds = admin_credentials(both)
    for dc in ("aws-1", "azure-1"):
        rc, _, err = rf.cqlsh(both, dc, creds.username, creds.password, "CONSISTENCY LOCAL_ONE")
        assert rc == 0, (dc, err)


def test_keyspace_ddl_while_a_dc_is_cut_off_waits_for_schema_agreement_instead_of_failing(
    sandbox: ThreadedWorld,
) -> None:
    """cqlsh exits 2 with its schema-mismatch warning while azure-1 is unreachable; the ALTER is retried."""
    kubeconfig = sandbox.add_existing("seed-blog")
    assert deploy_ring(existing(kubeconfig, nodes=2, keyspaces=1), waits=rf.FAST).keyspaces == ["customers_ks"]
    wider = existing(kubeconfig, nodes=2, keyspaces=2)
    sandbox.call(sandbox.world.partition, "aws-1", "azure-1")
    heal = threading.Timer(1.0, lambda: sandbox.call(sandbox.world.heal, "aws-1", "azure-1"))
    heal.start()
    try:
        assert ensure_keyspaces(wider, waits=rf.FAST) == ["customers_ks"]
    finally:
        heal.join()
    rc, out, err = rf.cqlsh(wider, "azure-1", *login(wider), "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'customers_ks'")
    assert rc == 0 and "'aws-1': '2'" in out and "'azure-1': '2'" in out, err


def login(spec: RingSpec) -> tuple[str, str]:
    creds = admin_credentials(spec)
    return creds.username, creds.password
