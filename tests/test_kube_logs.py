"""What the Kubernetes client layer says reaches the flow run's log in the Prefect API (the UI's run page)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow

from multidc_core import naming as n
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld, world_in_thread
from tasks.cassandra import admin_credentials, ensure_admin_secret
from tests import ring_fixtures as rf
from tests.prefect_logs import flow_run_logs

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture()
def sandbox(tmp_path: Path) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path, time_scale=0.001) as tw:
        yield tw


@flow(name="admin-secret-twice")
def admin_secret_twice(spec: RingSpec, dc: str) -> list[str]:
    return [ensure_admin_secret(spec, dc).action, ensure_admin_secret(spec, dc).action]


def test_created_unchanged_and_throttling_retries_reach_the_flow_runs_log(sandbox: ThreadedWorld) -> None:
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    d = spec.dc("azure-1")
    kube = sandbox.world.clusters["azure-1"].kube
    # API priority and fairness refuses the first two reads of Secrets: 429, Retry-After 1.
    kube.throttle(2, path_contains="/secrets/", methods=["GET"])

    state = admin_secret_twice(spec, d.name, return_state=True)

    assert state.is_completed(), state.message
    assert state.result() == ["created", "unchanged"]
    refused = [r for r in kube.requests() if r["status"] == 429]
    assert len(refused) == 2 and all("/secrets/" in r["path"] for r in refused)
    secret = kube.get("Secret", d.namespace, n.SECRET_NAME)
    assert secret is not None and (secret["metadata"].get("labels") or {}).get(n.LABEL_RING) == spec.name
    logs = flow_run_logs(state.state_details.flow_run_id)
    assert f"Namespace {d.namespace} created" in logs
    assert f"Secret {d.namespace}/{n.SECRET_NAME} created" in logs
    assert f"Secret {d.namespace}/{n.SECRET_NAME} unchanged" in logs
    retries = [m for m in logs if "transient Kubernetes error (HTTP 429" in m]
    assert len(retries) == 2 and all(m.startswith(f"Secret {d.namespace}/{n.SECRET_NAME}: ") for m in retries)
    assert not [m for m in logs if admin_credentials(spec).password in m]
