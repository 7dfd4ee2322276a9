"""Pytest fixtures for the Kubernetes emulator tests (load with `pytest_plugins = ["tests.kube_fixtures"]`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.kube.cluster import KubeCluster
from sandbox.kube.harness import running_cluster
from tests.kube_helpers import FakeRuntime, api_client, cluster_kwargs


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[KubeCluster]:
    with running_cluster(**cluster_kwargs(tmp_path)) as cluster:
        yield cluster


@pytest.fixture
def core(kube: KubeCluster) -> client.CoreV1Api:
    return client.CoreV1Api(api_client(kube))


@pytest.fixture
def apps(kube: KubeCluster) -> client.AppsV1Api:
    return client.AppsV1Api(api_client(kube))


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def kube_rt(tmp_path: Path, runtime: FakeRuntime) -> Iterator[KubeCluster]:
    with running_cluster(**cluster_kwargs(tmp_path, runtime=runtime)) as cluster:
        yield cluster
