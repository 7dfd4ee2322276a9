"""verify-ring on a sandbox ring through the real clients: whole, one node down, a partition, a split ring."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.spec_ref import SpecRef
from flows.verify import verify_ring
from multidc_core.verify_model import RingReport
from sandbox.harness import world_in_thread
from tasks.verify import (
    CqlLogin,
    choose_login,
    cqlsh_argv,
    ensure_verify_keyspace,
    observe_ring,
    read_sentinels,
    write_sentinel,
)
from tests.verify_fixtures import PASSWORD, BuiltRing, build_ring

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
DEADLINE_S = 2.0  # the partition test waits this long for reads that cannot succeed


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[BuiltRing]:
    tmp = tmp_path_factory.mktemp("verify-ring")
    with world_in_thread(tmp / "state", time_scale=0.001) as tw:
        yield build_ring(tw, "vfy", tmp)


def run(path: Path) -> tuple[Any, UUID]:
    state = verify_ring(spec=SpecRef(path=str(path)), read_deadline_seconds=DEADLINE_S, return_state=True)
    return state, state.state_details.flow_run_id


def artifacts(flow_run_id: UUID) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.type: a.data for a in found}


def test_whole_ring_reports_whole_with_summary_picture_and_six_un_nodes(ring: BuiltRing) -> None:
    state, run_id = run(ring.spec_path)
    assert state.is_completed(), state.message
    report: RingReport = state.result()
    assert report.verdict == "whole", report.diagnosis()
    assert {(r.writer, r.reader, r.ok) for r in report.datapath.reads} == {
        ("dc1", "dc2", True),
        ("dc2", "dc1", True),
    }
    found = artifacts(run_id)
    assert "WHOLE" in found["markdown"] and "data:image/svg+xml;base64," in found["markdown"]
    table = json.loads(found["table"]) if isinstance(found["table"], str) else found["table"]
    assert len(table) == 6
    assert all(row["seen from dc1"] == row["seen from dc2"] == "UN" for row in table)
    assert PASSWORD not in found["markdown"] + json.dumps(table) + report.model_dump_json()


def test_one_node_down_is_degraded_names_it_and_still_reads(ring: BuiltRing) -> None:
    pod, ns = "cassandra-rack2-0", ring.spec.dc("dc1").namespace
    ip = ring.pod_ip("dc1", pod)
    kube = ring.tw.world.clusters[ring.cluster("dc1")].kube
    ring.tw.call(kube.stop_container, ns, pod)
    try:
        ring.wait_ready("dc1", 2)
        state, run_id = run(ring.spec_path)
        assert state.is_completed(), state.message
        report: RingReport = state.result()
        assert report.verdict == "degraded", report.diagnosis()
        assert f"{ip} (dc1, rack2) is DN (down) as seen from dc1 and dc2" in report.diagnosis()
        assert all(r.ok for r in report.datapath.reads) and len(report.datapath.reads) == 2
        summary = artifacts(run_id)["markdown"]
        assert "DEGRADED" in summary and f"{ip} (dc1, rack2) is DN" in summary
    finally:
        ring.tw.call(kube.start_container, ns, pod)
        ring.wait_ready("dc1", 3)


def test_partition_fails_the_run_naming_both_dcs(ring: BuiltRing) -> None:
    a, b = ring.cluster("dc1"), ring.cluster("dc2")
    ring.tw.call(ring.tw.world.partition, a, b)
    try:
        state, run_id = run(ring.spec_path)
    finally:
        ring.tw.call(ring.tw.world.heal, a, b)
    assert state.is_failed()
    message = str(state.message) + str(state.result(raise_on_failure=False))
    assert "dc1 and dc2 cannot reach each other" in message
    assert "dc2 cannot read dc1's writes" in message and "dc1 cannot read dc2's writes" in message
    assert "BROKEN" in artifacts(run_id)["markdown"]


def test_split_ring_is_broken_two_separate_rings(tmp_path: Path) -> None:
    with world_in_thread(tmp_path / "state", time_scale=0.001) as tw:
        split = build_ring(tw, "vsplit", tmp_path, dns=False)
        state, _ = run(split.spec_path)
    assert state.is_failed()
    message = str(state.result(raise_on_failure=False))
    assert "dc1 and dc2 do not see each other at all: two separate rings" in message


def test_pod_env_login_keeps_the_password_off_the_api(ring: BuiltRing) -> None:
    """With the admin role in place (the fixture's), cqlsh logs in from the pod's env: no password in argv."""
    assert choose_login(ring.spec) is CqlLogin.POD_ENV
    assert PASSWORD not in " ".join(cqlsh_argv(CqlLogin.POD_ENV, "SELECT * FROM x;"))
    assert ensure_verify_keyspace.fn(ring.spec, CqlLogin.POD_ENV) is None
    written = write_sentinel.fn(ring.spec, "dc1", "podenv", CqlLogin.POD_ENV)
    assert written.consistency == "EACH_QUORUM", written.error
    [read] = read_sentinels.fn(ring.spec, "dc2", {"dc1": written.key}, CqlLogin.POD_ENV, DEADLINE_S)
    assert (read.writer, read.reader, read.ok) == ("dc1", "dc2", True), read.error
    assert observe_ring.fn(ring.spec, "dc2").error is None


def test_one_read_task_tells_each_writer_apart_even_when_keys_share_a_prefix(ring: BuiltRing) -> None:
    """A DC's row of the matrix is one cqlsh call: a row that is there and one that is not get their own cells."""
    written = write_sentinel.fn(ring.spec, "dc1", "prefix", CqlLogin.POD_ENV)
    assert written.consistency == "EACH_QUORUM", written.error
    missing = written.key[:-1]  # "prefix-dc": a prefix of the written id, which must not count as read
    found, absent = read_sentinels.fn(
        ring.spec, "dc2", {"dc1": written.key, "ghost": missing}, CqlLogin.POD_ENV, 2.0
    )
    assert (found.writer, found.ok, found.error) == ("dc1", True, None)
    # seen inside the deadline the ghost's cell ran out (2 s: one cqlsh call took ~1 s on a loaded machine)
    assert found.seconds is not None and found.seconds < 2.0
    assert (absent.writer, absent.ok, absent.seconds) == ("ghost", False, None)
    assert absent.error == "the row is not there at LOCAL_QUORUM after 2 s"
