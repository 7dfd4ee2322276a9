"""apply_object on the Kubernetes emulator: create, zero-write re-apply, patch of drift only; error classes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from multidc_core import manifests
from sandbox.kube.cluster import KubeCluster
from tasks.kube_objects import KubeError, WaitTimeout, apply_object, is_transient, request, wait_until
from tests import ring_fixtures as rf
from tests.kube_helpers import api_client

pytest_plugins = ["tests.kube_fixtures"]


@pytest.fixture
def api(kube: KubeCluster) -> ApiClient:
    return api_client(kube)


def rv(api: ApiClient, path: str) -> str:
    return str(request(api, "GET", path)["metadata"]["resourceVersion"])


def test_every_cassandra_manifest_is_created_then_left_alone(api: ApiClient) -> None:
    spec = rf.sandbox_spec()
    dc = spec.datacenters[0]
    objs = [*manifests.cassandra_manifests(spec, dc), manifests.dns_service(spec, dc)]
    assert [apply_object(api, o).action for o in objs if o] == ["created"] * len(objs)
    paths = [
        "/api/v1/namespaces/dc1/configmaps/cassandra-config",
        "/apis/apps/v1/namespaces/dc1/statefulsets/cassandra-rack1",
    ]
    before = [rv(api, p) for p in paths]
    assert {apply_object(api, o).action for o in objs if o} == {"unchanged"}
    assert [rv(api, p) for p in paths] == before


def test_drift_in_a_field_we_set_is_patched_and_extra_fields_are_kept(api: ApiClient) -> None:
    spec = rf.sandbox_spec()
    dc = spec.datacenters[0]
    apply_object(api, manifests.namespace(spec, dc))
    cm = manifests.cassandra_config(spec, dc)
    apply_object(api, cm)
    path = "/api/v1/namespaces/dc1/configmaps/cassandra-config"
    request(
        api, "PATCH", path, {"data": {"cassandra.yaml": "x", "extra": "kept"}}, "application/merge-patch+json"
    )
    assert apply_object(api, cm).action == "patched"
    data = request(api, "GET", path)["data"]
    assert data == {"cassandra.yaml": cm["data"]["cassandra.yaml"], "extra": "kept"}


def test_secret_values_compare_through_base64_and_never_reach_the_log(
    api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    spec = rf.sandbox_spec()
    apply_object(api, manifests.namespace(spec, spec.datacenters[0]))
    caplog.set_level(logging.DEBUG)
    secret = manifests.admin_secret("dc1", "admin_x", "pw-VALUE-123")
    assert str(apply_object(api, secret)) == "kind='Secret' name='dc1/cassandra-admin' action='created'"
    assert apply_object(api, secret).action == "unchanged"
    assert apply_object(api, manifests.admin_secret("dc1", "admin_x", "pw-OTHER-456")).action == "patched"
    assert "pw-VALUE" not in caplog.text and "pw-OTHER" not in caplog.text


def test_unknown_kinds_and_missing_namespaces_are_refused(api: ApiClient) -> None:
    with pytest.raises(KubeError, match="does not handle kind 'CronJob'"):
        apply_object(
            api, {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "x", "namespace": "a"}}
        )
    with pytest.raises(KubeError, match="needs a namespace"):
        apply_object(api, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ApiException(status=409), True),
        (ApiException(status=429), True),
        (ApiException(status=503), True),
        (ApiException(status=0), True),
        (ApiException(status=404), False),
        (ApiException(status=422), False),
        (ApiException(status=403), False),
        (urllib3.exceptions.ProtocolError("reset"), True),
        (ConnectionRefusedError(), True),
        (ValueError("bad"), False),
    ],
)
def test_transient_kubernetes_errors(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(WaitTimeout, match=r"^dc9: thing: not done after 0.2s \(last error: HTTP 503"):
        wait_until("dc9: thing", lambda: (_ for _ in ()).throw(ApiException(status=503)), 0.2, 0.05)
    assert wait_until("x", lambda: 7, 1, 0.05) == 7


def test_nodeport_dns_service_keeps_one_node_port_for_udp_and_tcp_across_re_applies(api: ApiClient) -> None:
    spec = rf.existing_spec(Path("unused"), dns_exposure="nodeport", dns_addresses=["10.9.0.4"])
    svc = manifests.dns_service(spec, spec.datacenters[0])
    assert svc is not None
    apply_object(api, svc)
    path = "/api/v1/namespaces/kube-system/services/multidc-dns"
    ports = request(api, "GET", path)["spec"]["ports"]
    assert len({p["nodePort"] for p in ports}) == 1 and 30000 <= ports[0]["nodePort"] <= 32767
    version = rv(api, path)
    assert apply_object(api, svc).action == "unchanged" and rv(api, path) == version


def test_objects_are_applied_server_side_as_multidc_and_a_field_we_stop_setting_goes(api: ApiClient) -> None:
    spec = rf.sandbox_spec()
    dc = spec.datacenters[0]
    apply_object(api, manifests.namespace(spec, dc))
    cm = manifests.cassandra_config(spec, dc)
    path = "/api/v1/namespaces/dc1/configmaps/cassandra-config"
    annotated = {**cm, "metadata": {**cm["metadata"], "annotations": {"multidc.io/note": "x"}}}
    assert apply_object(api, annotated).action == "created"
    # Another manager's field (kubectl's annotation) is theirs: our applies keep it.
    request(api, "PATCH", path, {"metadata": {"annotations": {"owner": "ops"}}}, "application/merge-patch+json")
    assert apply_object(api, cm).action == "patched"
    live = request(api, "GET", path)
    assert live["metadata"]["annotations"] == {"owner": "ops"}
    assert [(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"] if m["manager"] == "multidc"] == [
        ("multidc", "Apply")
    ]
    assert apply_object(api, cm).action == "unchanged"
