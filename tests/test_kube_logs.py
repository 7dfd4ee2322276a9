"""What the Kubernetes client layer says reaches the flow run's log in the Prefect API (the UI's run page)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import config
from kubernetes.client.exceptions import ApiException
from prefect import flow

from multidc_core import naming as n
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld, world_in_thread
from sandbox.kube.cluster import KubeCluster
from tasks.cassandra_admin import admin_credentials, ensure_admin_secret
from tasks.kube_client import api_client, call, request
from tasks.kube_client import log as kube_log
from tests import ring_fixtures as rf
from tests.prefect_logs import flow_run_logs

pytestmark = pytest.mark.usefixtures("prefect_harness")
pytest_plugins = ["tests.kube_fixtures"]


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


def test_a_throttled_api_server_answers_429_retry_after_1_and_the_client_layer_waits_it_out(
    kube: KubeCluster, caplog: pytest.LogCaptureFixture
) -> None:
    api = api_client(lambda c: config.load_kube_config_from_dict(kube.kubeconfig_dict("sandbox-c1"),
                                                                 client_configuration=c))
    kube.throttle(2, path_contains="/namespaces")
    with pytest.raises(ApiException) as caught:
        request(api, "GET", "/api/v1/namespaces")
    assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "1"
    assert caught.value.body == "Too many requests, please try again later."
    # The second refusal is waited out (Retry-After: 1 s) and the third request answers.
    listed = call("list namespaces", request, api, "GET", "/api/v1/namespaces")
    assert "default" in [ns["metadata"]["name"] for ns in listed["items"]]
    assert [r["status"] for r in kube.requests() if r["path"] == "/api/v1/namespaces"] == [429, 429, 200]
    assert "list namespaces: transient Kubernetes error (HTTP 429 Too Many Requests), retrying in 1.0s" in caplog.text


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.getMessage()))


@flow(name="says-one-kube-line")
def says_one_kube_line(text: str) -> None:
    kube_log.info("%s", text)


def test_a_kube_line_inside_a_run_is_the_run_logs_alone_and_outside_a_run_reaches_the_console() -> None:
    """Inside a run the line reaches the API once and not the root logger's console handler (it used to be
    printed twice, the second time whatever PREFECT_LOGGING_LEVEL said); outside a run the console has it."""
    kept = _Kept()
    logging.getLogger().addHandler(kept)
    try:
        state = says_one_kube_line("ConfigMap dc1/probe-line created", return_state=True)
        kube_log.info("outside any run: Secret dc1/x unchanged")
    finally:
        logging.getLogger().removeHandler(kept)
    assert state.is_completed(), state.message
    assert flow_run_logs(state.state_details.flow_run_id).count("ConfigMap dc1/probe-line created") == 1
    # The root logger's handlers (the console) get the line once, from the run's logger, not from multidc.kube too.
    inside = [name for name, message in kept.records if message == "ConfigMap dc1/probe-line created"]
    assert inside == ["prefect.flow_runs"]
    assert kept.records.count(("multidc.kube", "outside any run: Secret dc1/x unchanged")) == 1
