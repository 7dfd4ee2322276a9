"""The ring's Cassandra superuser: generated once, kept in a Prefect Secret block, written to each DC."""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import ObjectAlreadyExists
from prefect.runtime import flow_run
from pydantic import SecretStr

from multidc_core import manifests
from multidc_core import naming as n
from multidc_core.spec import RingSpec
from tasks.kube_access import api_for
from tasks.kube_objects import Applied, apply_object

# Generated credentials use only these characters, so that they can sit inside a CQL identifier,
# a CQL string literal and a shell double-quoted word without any escaping.
SAFE_USER = re.compile(r"^[a-z][a-z0-9_]{2,47}$")
SAFE_PASSWORD = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_block_lock = threading.Lock()  # DCs ensure their Secret in parallel threads; one generates
_run_cache: dict[tuple[str, str], AdminCredentials] = {}  # (flow run id, block name) -> the block's credentials


@dataclass(frozen=True)
class AdminCredentials:
    """The ring's Cassandra superuser; its repr hides the password."""

    username: str
    password: str

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return f"AdminCredentials(username={self.username!r}, password=***)"


def _load_creds(name: str) -> AdminCredentials | None:
    try:
        block = Secret.load(name)
        assert isinstance(block, Secret)
    except ValueError:  # Prefect: "Unable to find block document named ..."
        return None
    value: Any = block.get()
    creds = AdminCredentials(str(value["username"]), str(value["password"]))
    if not SAFE_USER.match(creds.username) or not SAFE_PASSWORD.match(creds.password):
        raise ValueError(
            f"Secret block {name}: username or password has characters multidc does not generate"
        )
    return creds


def admin_credentials(spec: RingSpec) -> AdminCredentials:
    """The ring's superuser from its Secret block, generated and saved on first use.

    Inside a flow run the block is read once per run and ring (every DC's Secret step then reads no
    API); a later run reads it again.
    """
    name = n.admin_block_name(spec.name)
    key = (flow_run.get_id() or "", name)
    with _block_lock:
        if key[0] and key in _run_cache:
            return _run_cache[key]
        creds = _load_or_create(name)
        if key[0]:
            for stale in [k for k in _run_cache if k[0] != key[0]]:  # only the running flow's stay in memory
                del _run_cache[stale]
            _run_cache[key] = creds
        return creds


def _load_or_create(name: str) -> AdminCredentials:
    creds = _load_creds(name)
    if creds is not None:
        return creds
    creds = AdminCredentials(f"admin_{secrets.token_hex(4)}", secrets.token_urlsafe(24))
    try:
        payload = json.dumps({"username": creds.username, "password": creds.password})
        Secret(value=SecretStr(payload)).save(name)
    except (ObjectAlreadyExists, ValueError):
        loaded = _load_creds(name)  # another process saved first: theirs is the ring's
        if loaded is None:
            raise
        return loaded
    return creds


@task(cache_policy=NO_CACHE)
def ensure_admin_credentials(spec: RingSpec) -> str:
    """Read the ring's superuser from its Secret block, or generate and save it; returns the block's name.

    Runs at the start of multidc/full, beside Azure's provisioning, while the Prefect API is quiet: each
    DC's `admin_secret` later finds the credentials in this run's cache instead of reading (or, on a first
    run, saving) the block when every cluster's steps start at once.
    """
    admin_credentials(spec)
    return n.admin_block_name(spec.name)


@task(cache_policy=NO_CACHE)
def ensure_admin_secret(spec: RingSpec, dc: str) -> Applied:
    """Guarantee the DC's `cassandra-admin` Secret holds the ring's superuser credentials.

    The credentials are generated once per ring and kept in the Prefect Secret block
    `multidc-<ring>-cassandra-admin` (JSON username/password), so every DC and the verify flow
    share one superuser. Nothing secret is logged, returned or taken as a parameter.

    Args:
        spec: The ring spec.
        dc: The datacenter whose namespace gets the Secret.

    Returns:
        What was done to the Secret (kind, name, action).
    """
    d = spec.dc(dc)
    creds = admin_credentials(spec)
    api = api_for(spec, d)
    apply_object(api, manifests.namespace(spec, d))
    secret = manifests.admin_secret(d.namespace, creds.username, creds.password, n.labels(spec.name, d.name))
    return apply_object(api, secret)
