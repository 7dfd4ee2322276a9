"""What Prefect records of a multidc/full run on the sandbox: its task graph is the plan's, each
gateway's and cluster's wait left a progress artifact at 100, and the plan artifact is a picture."""

from __future__ import annotations

import base64
import re
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import TaskRunResult

from flows.spec_ref import SpecRef
from multidc_core import naming
from multidc_core.plan import NOT_TASKS, build_plan
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld
from tasks.progress import progress_key
from tests.test_full_flow import SPEC, run_full, sandbox  # noqa: F401  (the sandbox fixture)

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def built(sandbox: ThreadedWorld) -> tuple[RingSpec, UUID]:  # noqa: F811
    state = run_full(SPEC)
    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    return SpecRef(path=str(SPEC)).load(), flow_run_id


def _task_graph(flow_run_id: UUID) -> tuple[list[str], set[tuple[str, str]]]:
    """The names of the run's task runs, and (upstream, task run) by name, as Prefect recorded them."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200
        )
    name = {r.id: r.name for r in runs}
    edges = {
        (name[i.id], r.name)
        for r in runs
        for inputs in r.task_inputs.values()
        for i in inputs
        if isinstance(i, TaskRunResult)
    }
    return [r.name for r in runs], edges


def test_the_task_graph_of_a_run_is_the_plans(built: tuple[RingSpec, UUID]) -> None:
    spec, flow_run_id = built
    plan = build_plan(spec)
    names, edges = _task_graph(flow_run_id)
    tasks = {s.id for s in plan.steps if s.kind not in NOT_TASKS}
    ran = [n for n in names if n in plan.ids()]
    assert sorted(ran) == sorted(tasks), "one task run per step of the plan, named by its id"
    assert {(u, d) for u, d in edges if d in tasks} == plan.edges()
    # The plan has what the flows wait for: the DNS checks, the first DC's seeds, the join slot.
    first, second = (d.name for d in spec.datacenters)
    assert ("seeds/" + first, "dns_check/" + second) in edges
    assert ("dns_check/" + second, "cassandra/" + second) in edges
    assert all(naming.has_joiners(d) for d in spec.datacenters)
    assert ("ready/" + first, "ready/" + second) in edges


def _artifacts(flow_run_id: UUID, key: str) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[key])
            ),
            limit=50,
        )


def test_each_gateway_and_cluster_wait_shows_its_progress(built: tuple[RingSpec, UUID]) -> None:
    spec, flow_run_id = built
    for dc in (d.name for d in spec.azure_dcs):
        for label in (
            f"VPN gateway {naming.gateway_name(spec.name, dc)}",
            f"AKS cluster {naming.cluster_name(spec.name, dc)}",
        ):
            found = _artifacts(flow_run_id, progress_key(label))
            assert len(found) == 1, label
            assert found[0].type == "progress" and found[0].data == 100, (label, found[0].data)
            assert re.search(
                r"Succeeded after \dm\d\ds \(Azure typically takes (45|10) min\)", found[0].description
            )


def test_the_plan_artifact_draws_the_step_graph(built: tuple[RingSpec, UUID]) -> None:
    spec, flow_run_id = built
    [plan] = _artifacts(flow_run_id, f"plan-{spec.name}")
    assert "```mermaid" not in plan.data
    found = re.search(r"!\[[^\]]*\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", plan.data)
    assert found is not None, "a markdown image the UI renders"
    svg = base64.b64decode(found.group(1)).decode()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for s in build_plan(spec).steps:
        assert f"<title>{s.id}</title>" in svg
