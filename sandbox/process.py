"""Start, find and stop the sandbox's background process (`python -m sandbox serve`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

DEFAULT_STATE_DIR = Path(".multidc/sandbox")
INFO_FILE = "sandbox.json"
LOG_FILE = "sandbox.log"
# A fresh start generates a CA and binds a few ports: seconds. The deadline is for a busy CI box.
START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 20.0


class SandboxError(RuntimeError):
    """The sandbox could not be started, reached or stopped; the message says why."""


class _NotYet(Exception):
    pass


def read_info(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / INFO_FILE
    if not path.exists():
        return None
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return info


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def healthy(info: dict[str, Any]) -> bool:
    """True when the process answers on its admin endpoint."""
    if not _pid_alive(int(info.get("pid", -1))):
        return False
    try:
        with urllib.request.urlopen(info["admin_url"] + "/healthz", timeout=2) as resp:  # noqa: S310 - loopback URL we wrote
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, KeyError):
        return False


def running(state_dir: Path) -> dict[str, Any] | None:
    info = read_info(state_dir)
    return info if info and healthy(info) else None


def up(state_dir: Path, time_scale: float, extra_args: list[str] | None = None) -> dict[str, Any]:
    """Start the sandbox (or find the one already running) and return its info once ready."""
    state_dir = state_dir.resolve()
    found = running(state_dir)
    if found:
        return found
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / INFO_FILE).unlink(missing_ok=True)
    log = (state_dir / LOG_FILE).open("ab")
    cmd = [
        sys.executable,
        "-m",
        "sandbox",
        "serve",
        "--state-dir",
        str(state_dir),
        "--time-scale",
        str(time_scale),
    ]
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
        cmd + (extra_args or []),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()

    def check() -> dict[str, Any]:
        if proc.poll() is not None:
            tail = (state_dir / LOG_FILE).read_text(errors="replace")[-2000:]
            raise SandboxError(f"the sandbox process exited with {proc.returncode}:\n{tail}")
        info = read_info(state_dir)
        if not info or not healthy(info):
            raise _NotYet()
        return info

    try:
        for attempt in Retrying(
            retry=retry_if_exception_type(_NotYet),
            wait=wait_fixed(0.2),
            stop=stop_after_delay(START_DEADLINE_S),
            reraise=True,
        ):
            with attempt:
                return check()
    except _NotYet:
        proc.terminate()
        raise SandboxError(
            f"the sandbox did not become ready within {START_DEADLINE_S:.0f} s; see {state_dir / LOG_FILE}"
        ) from None
    raise AssertionError("unreachable")


def down(state_dir: Path, purge: bool = False) -> bool:
    """Stop the sandbox; True if one was running. With purge, forget its state too."""
    state_dir = state_dir.resolve()
    info = read_info(state_dir)
    was_running = bool(info and _pid_alive(int(info.get("pid", -1))))
    if info and was_running:
        pid = int(info["pid"])
        os.kill(pid, signal.SIGTERM)
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_NotYet),
                wait=wait_fixed(0.1),
                stop=stop_after_delay(STOP_DEADLINE_S),
            ):
                with attempt:
                    if _pid_alive(pid) and not _is_zombie(pid):
                        raise _NotYet()
        except Exception:  # noqa: BLE001 - a process that ignores SIGTERM gets SIGKILL
            os.kill(pid, signal.SIGKILL)
    (state_dir / INFO_FILE).unlink(missing_ok=True)
    if purge and state_dir.exists():
        for name in ("state.json", "sandbox.log"):
            (state_dir / name).unlink(missing_ok=True)
    return was_running


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (OSError, IndexError):
        return False
