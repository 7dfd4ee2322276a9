"""One Prefect test server for the whole session, shared by every test that asks for `prefect_harness`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

# Before Prefect is imported anywhere: a throw-away PREFECT_HOME, no telemetry (it locks SQLite
# at start-up), and a start-up timeout a fresh database can meet on 2 cores (~34 s to migrate).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="multidc-prefect-home-")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API (SQLite) for blocks, task runs and flow runs; ~40 s to start."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
