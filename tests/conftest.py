"""Fixtures shared by the test modules: one Prefect test server for the session (`prefect_harness`),
the ARM emulator and its AzureCloud block (`arm`, `cloud`), a whole sandbox (`sandbox`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# Before Prefect is imported anywhere: a throw-away PREFECT_HOME, no telemetry (it locks SQLite
# at start-up), and a start-up timeout a fresh database can meet on 2 cores (~34 s to migrate).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="multidc-prefect-home-")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"

import pytest  # noqa: E402

if TYPE_CHECKING:  # imported by the fixtures themselves: Prefect must see the environment above first
    from blocks.azure import AzureCloud
    from sandbox.arm import ArmEmulator
    from sandbox.harness import ThreadedWorld


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API (SQLite) for blocks, task runs and flow runs; ~40 s to start."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


# A Prefect test server takes ~40 s to start, a sandbox or an emulator seconds: a test using one is slow.
SLOW_FIXTURES = frozenset(
    {"prefect_harness", "sandbox", "world", "arm", "cloud", "azure", "arm_state_dir", "kube", "kube_rt"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` every e2e test and every test that uses a slow fixture (see pyproject's markers)."""
    for item in items:
        if item.get_closest_marker("e2e") or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)

# --- fixtures several modules share (a module may still define its own of the same name) -------------


@pytest.fixture(scope="session")
def arm_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ARM state dir (and CA) for the session: trustme key generation is the slow part of starting a server."""
    return tmp_path_factory.mktemp("arm-state")


@pytest.fixture(scope="module")
def arm_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ARM state dir (and CA) per module, for the `arm` fixture."""
    return tmp_path_factory.mktemp("arm-state")


@pytest.fixture
def arm(arm_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmEmulator]:
    """The ARM emulator in a thread, at the ARM tests' time scale."""
    from tests.arm_fixtures import running_emulator

    yield from running_emulator(arm_state, monkeypatch)


@pytest.fixture
def cloud(arm: ArmEmulator) -> AzureCloud:
    """The AzureCloud block for `arm`, as `multidc sandbox connect` saves it, with test deadlines."""
    from tests.arm_fixtures import sandbox_cloud

    return sandbox_cloud(arm)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[ThreadedWorld]:
    """A whole sandbox (ARM, clusters, Cassandra) in a thread at time scale 1/1000."""
    from sandbox.harness import world_in_thread

    with world_in_thread(tmp_path, time_scale=0.001) as tw:
        yield tw
