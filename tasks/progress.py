"""A long Azure wait's progress as a Prefect progress artifact: the time waited against the time such
an operation typically takes, updated as the poller polls, instead of a log line per poll."""

from __future__ import annotations

import re
import time
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import TaskRunContext

# Typical durations in Azure seconds (../shared/FIELD-NOTES.md: a VPN gateway takes 45 minutes or
# more; an AKS cluster typically 5-15 minutes), by the label's resource kind (ArmOps.kind).
TYPICAL_S = {"VPN gateway": 45 * 60.0, "AKS cluster": 10 * 60.0}
# Below 100 until the operation has ended: a slow one stays at 99, never past the end.
RUNNING_MAX = 99.0


def _minutes(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}m{s % 60:02d}s"


def progress_key(label: str) -> str:
    """The artifact key of a wait (keys allow lowercase letters, digits and dashes only)."""
    return "wait-" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


class WaitProgress:
    """One wait's progress artifact; `start` gives None where no artifact is kept (a resource that
    is quick, or a call outside a task run)."""

    def __init__(self, label: str, typical_s: float) -> None:
        self.label, self.typical_s = label, typical_s
        self.started = time.monotonic()
        made = create_progress_artifact(0.0, key=progress_key(label), description=self._says("started"))
        assert isinstance(made, UUID)  # sync inside a task run
        self.id = made

    @classmethod
    def start(cls, label: str) -> WaitProgress | None:
        typical = next((s for kind, s in TYPICAL_S.items() if label.startswith(kind + " ")), None)
        if typical is None or TaskRunContext.get() is None:
            return None
        return cls(label, typical)

    def _says(self, status: str) -> str:
        waited = time.monotonic() - self.started
        return f"{self.label}: {status} after {_minutes(waited)} (Azure typically takes {self.typical_s / 60:.0f} min)"

    def update(self, status: str) -> None:
        waited = time.monotonic() - self.started
        done = min(RUNNING_MAX, 100.0 * waited / self.typical_s)
        update_progress_artifact(self.id, done, description=self._says(status))

    def finish(self, status: str) -> None:
        update_progress_artifact(self.id, 100.0, description=self._says(status))
