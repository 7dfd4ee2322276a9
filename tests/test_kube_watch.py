"""Watch on the sandbox API server (resume, 410 Expired, bookmarks), and the product's waits that watch."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from sandbox.harness import ThreadedWorld, world_in_thread
from sandbox.kube.cluster import KubeCluster
from tasks.dns import ensure_dns_exposed
from tasks.kube_watch import _Watcher, watch_until
from tests import ring_fixtures as rf
from tests.kube_helpers import api_client, wait_for

pytest_plugins = ["tests.kube_fixtures"]


def _cm(name: str, value: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": {"v": value}}


def _raw(kube: KubeCluster, path: str) -> list[dict[str, Any]]:
    assert kube.tls is not None
    ctx = ssl.create_default_context(cadata=kube.tls.ca_pem().decode())
    req = urllib.request.Request(kube.url + path, headers={"Authorization": f"Bearer {kube.token}"})  # noqa: S310
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:  # noqa: S310 - the sandbox's loopback
        return [json.loads(line) for line in resp.read().decode().splitlines() if line]


def _overflow(kube: KubeCluster) -> None:
    """More writes than the server keeps watch events for."""
    count = (kube.server.watch.history.maxlen or 0) + 1
    kube._on_loop(lambda: [
        kube.store.create({"kind": "ConfigMap", "metadata": {"name": f"x{i}", "namespace": "default"}})
        for i in range(count)
    ])


def test_watch_from_a_resource_version_replays_only_later_changes(kube: KubeCluster, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", _cm("a"))
    listed = core.list_namespaced_config_map("default").metadata.resource_version
    core.patch_namespaced_config_map("a", "default", {"data": {"v": "2"}})
    core.delete_namespaced_config_map("a", "default")
    events = _raw(kube, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={listed}&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("MODIFIED", "a"), ("DELETED", "a")]
    # The DELETED event carries the version of the deletion, newer than the last write.
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert int(listed) < versions[0] < versions[1]


def test_a_too_old_resource_version_is_410_expired_and_bookmarks_carry_the_current_one(
    kube: KubeCluster, core: client.CoreV1Api
) -> None:
    first = core.list_namespaced_config_map("default").metadata.resource_version
    _overflow(kube)
    events = _raw(kube, f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={first}")
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["code"], status["reason"]) == (410, "Expired")
    assert status["message"].startswith(f"too old resource version: {first} (")
    with pytest.raises(ApiException) as gone:  # with timeout_seconds the client's watch raises it at once
        list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=first,
                                  timeout_seconds=1))
    assert gone.value.status == 410
    now = core.list_namespaced_config_map("default").metadata.resource_version
    marks = _raw(kube, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={now}&timeoutSeconds=1"
                       "&allowWatchBookmarks=true")
    assert marks == [{"type": "BOOKMARK", "object": {"kind": "ConfigMap", "apiVersion": "v1",
                                                     "metadata": {"resourceVersion": now}}}]


def test_watch_until_sees_the_change_and_relists_after_410(kube: KubeCluster, core: client.CoreV1Api) -> None:
    api = api_client(kube)
    core.create_namespaced_config_map("default", _cm("target"))
    later = threading.Timer(0.3, lambda: core.patch_namespaced_config_map("target", "default", {"data": {"v": "go"}}))
    later.start()
    seen = watch_until(api, "target go", "ConfigMap", "default", "target",
                       lambda o: (o or {}).get("data", {}).get("v") == "go" or None, 10)
    later.join()
    assert seen is True
    def gets() -> list[bool]:
        return [r["watch"] for r in kube.requests() if r["method"] == "GET"
                and r["path"] == "/api/v1/namespaces/default/configmaps"]

    # One list, one watch (logged when it ends: the server notices the client closing it).
    assert wait_for(lambda: len(gets()) == 2, timeout=5)
    assert gets() == [False, True]
    # A watch from a version the server no longer holds (410 Expired) lists again, then watches.
    watcher = _Watcher(api, "ConfigMap", "default", "target", lambda o: (o or {}).get("data", {}).get("v"))
    watcher.version = core.list_namespaced_config_map("default").metadata.resource_version
    _overflow(kube)
    assert watcher.cycle(5) is None and watcher.version is None
    assert watcher.cycle(5) == "go"


@pytest.fixture()
def sandbox(tmp_path: Path) -> Iterator[ThreadedWorld]:
    # 20 Azure seconds for a LoadBalancer address are 0.4 s here: long enough to poll many times.
    with world_in_thread(tmp_path, time_scale=0.02) as tw:
        yield tw


@pytest.mark.usefixtures("prefect_harness")
def test_the_dns_address_wait_watches_the_service_instead_of_polling(sandbox: ThreadedWorld) -> None:
    spec = rf.existing_spec(sandbox.add_existing("seed-blog"))
    ip = ensure_dns_exposed(spec, "azure-1", rf.FAST)
    assert ip.startswith("10.19.")
    kube = sandbox.world.clusters["azure-1"].kube
    svc = "/api/v1/namespaces/kube-system/services"

    def reads() -> list[tuple[str, bool]]:
        return [(r["path"], r["watch"]) for r in kube.requests() if r["method"] == "GET" and r["path"].startswith(svc)]

    wait_for(lambda: len(reads()) >= 3, timeout=5)
    # apply reads the Service once; then one list and one watch, however long the address takes.
    assert reads() == [(f"{svc}/multidc-dns", False), (svc, False), (svc, True)]
