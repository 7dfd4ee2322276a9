"""The ring's VPN shared key: one Prefect Secret block per ring, generated once, kept a while per process."""

from __future__ import annotations

import contextlib
import secrets
import threading

from prefect import task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import ObjectAlreadyExists
from pydantic import SecretStr
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from blocks.kept import Kept
from multidc_core import naming
from multidc_core.spec import RingSpec

# 32 bytes of randomness: the key is only ever compared by the two gateways.
SHARED_KEY_BYTES = 32


def _load_secret(name: str) -> str | None:
    try:
        block = Secret.load(name)
    except ValueError:  # Prefect's "Unable to find block document"
        return None
    assert isinstance(block, Secret)
    return str(block.get())


class _KeyNotReadyError(RuntimeError):
    """The shared key's block is being created by a concurrent task."""


# Both directions' tasks (a full mesh: every pair) want the key at once: they read it side by side,
# but one thread per process creates it. Concurrent first saves made the Prefect server answer
# 503, and the client backed off 2 s.
_KEY_LOCK = threading.Lock()
# Every connection of the mesh (N*(N-1) tasks) needs the key as the gateways finish: a process
# keeps the key it read for KEY_CACHE_S; teardown forgets it when it deletes the block.
KEY_CACHE_S = 30.0
_keys: Kept[str] = Kept(KEY_CACHE_S)


def shared_key(ring: str) -> str:
    """The ring's VPN shared key: generated once, then always read back from its Secret block."""

    def load() -> str:
        key = _load_secret(naming.shared_key_block_name(ring))
        if key is not None:
            return key
        with _KEY_LOCK:
            return _load_or_create_key(ring)

    return _keys.get(ring, load)


def forget_shared_key(ring: str) -> None:
    """Drop the key this process read, so that the next use reads the block again."""
    _keys.forget(ring)


def _load_or_create_key(ring: str) -> str:
    name = naming.shared_key_block_name(ring)
    # Both directions' tasks may get here at once: one save wins (the other is refused and
    # uses the winner's key); a few short retries cover the window between save and load.
    for attempt in Retrying(
        retry=retry_if_exception_type(_KeyNotReadyError),
        stop=stop_after_attempt(10),
        wait=wait_fixed(0.2),
        reraise=True,
    ):
        with attempt:
            key = _load_secret(name)
            if key is None:
                with contextlib.suppress(ValueError, ObjectAlreadyExists):
                    Secret(value=SecretStr(secrets.token_urlsafe(SHARED_KEY_BYTES))).save(
                        name, overwrite=False
                    )
                key = _load_secret(name)
            if key is None:
                raise _KeyNotReadyError(f"Secret block {name} is not readable yet")
    assert key is not None
    return key


@task(cache_policy=NO_CACHE)
def ensure_vpn_key(spec: RingSpec) -> str:
    """Read the ring's VPN shared key from its Secret block, or generate and save it; returns the block's name.

    Runs at the start of the build, beside the gateways: the connections, which all start when the
    gateways end, then only read the block (or find the key in this process), never write it then.
    The key itself is never logged, returned or taken as a parameter.
    """
    shared_key(spec.name)
    return naming.shared_key_block_name(spec.name)
