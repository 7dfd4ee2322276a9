"""deploy-ring on two sandbox AKS clusters: one ring, auth taken over, zero-write re-run, no lonely DC."""

from __future__ import annotations

import pytest
from prefect import flow, task
from prefect.blocks.system import Secret
from prefect.task_runners import ThreadPoolTaskRunner

from flows.ring import MAX_WORKERS, RingResult, deploy_ring, submit_ring
from multidc_core.naming import admin_block_name
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld
from tasks.cassandra_admin import admin_credentials
from tasks.dns import DnsCheckError
from tasks.kube_objects import wait_until
from tests import ring_fixtures as rf
from tests.prefect_logs import flow_run_logs
from tests.ring_fixtures import assert_auth_taken_over, assert_one_ring

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]


def run(spec: RingSpec, **kw: object) -> RingResult:
    result = deploy_ring(spec, waits=rf.FAST, **kw)
    assert isinstance(result, RingResult)
    return result


def run_logged(spec: RingSpec) -> tuple[RingResult, list[str]]:
    state = deploy_ring(spec, waits=rf.FAST, return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert isinstance(result, RingResult)
    return result, flow_run_logs(state.state_details.flow_run_id)


def test_two_azure_dcs_one_ring_auth_keyspaces_and_a_rerun_that_writes_nothing(
    sandbox: ThreadedWorld,
) -> None:
    spec = rf.sandbox_spec()
    rf.azure_clusters(sandbox, spec)
    first, logs = run_logged(spec)
    assert first.auth == "cassandra" and first.keyspaces == ["customers_ks"]
    assert all(r.ready == "3/3 ready" for r in first.datacenters.values())
    assert_one_ring(spec)
    assert_auth_taken_over(spec)
    creds = admin_credentials(spec)
    repl = rf.replication_of(spec, "dc2", creds.username, creds.password, "customers_ks")
    assert {k: v for k, v in repl.items() if k != "class"} == {"dc1": "3", "dc2": "3"}
    # The credentials live in the Prefect Secret block and the Kubernetes Secret, never in the result.
    assert creds.password not in first.model_dump_json()
    assert any("dc1: 3/3 ready" in m for m in logs) and any("dc2: 3/3 ready" in m for m in logs)
    assert not [m for m in logs if creds.password in m]
    assert Secret.load(admin_block_name(spec.name)).get()["username"] == creds.username

    before = rf.versions(spec)
    second = run(spec)
    assert rf.versions(spec) == before
    assert second.auth == "admin"
    assert {a.action for r in second.datacenters.values() for a in r.applied} == {"unchanged"}
    assert all(r.dns_changed is False for r in second.datacenters.values())
    assert_one_ring(spec)


def test_without_dns_forwarding_the_run_fails_naming_dc_and_seed_and_dc2_never_starts(
    sandbox: ThreadedWorld,
) -> None:
    spec = rf.sandbox_spec()
    rf.azure_clusters(sandbox, spec)
    with pytest.raises(DnsCheckError) as caught:
        run(spec, forward_dns=False)
    message = str(caught.value)
    assert "datacenter dc2 cannot resolve seed cassandra-rack1-0.cassandra.dc1.svc.cluster.local" in message
    assert "no forwarding for dc1.svc.cluster.local" in message
    assert rf.cassandra_pods(spec, "dc2") == []
    assert {x.dc for x in rf.nodetool_status(spec, "dc1")} == {"dc1"}


@task
def interconnect_gate(spec: RingSpec) -> int:
    """Stands in for the VPN: done only once dc1 is fully up, then says how many dc2 pods exist."""

    def dc1_ready() -> bool | None:
        return True if "3/3" in rf.ready_summary(spec, "dc1") else None

    wait_until("dc1 ready before the interconnect", dc1_ready, 30, 0.05)
    return len(rf.cassandra_pods(spec, "dc2"))


@flow(task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS))  # type: ignore[arg-type]
def composed(spec: RingSpec) -> tuple[int, RingResult]:
    gate = interconnect_gate.submit(spec)
    ring = submit_ring(spec, waits=rf.FAST, interconnect=[gate])
    return gate.result(), ring.result()


def test_composed_dc1_overlaps_the_interconnect_and_dc2_waits_for_it(sandbox: ThreadedWorld) -> None:
    spec = rf.sandbox_spec()
    rf.azure_clusters(sandbox, spec)
    dc2_pods_when_connected, result = composed(spec)
    assert dc2_pods_when_connected == 0
    assert result.datacenters["dc2"].ready == "3/3 ready"
    assert_one_ring(spec)
