"""Verification tasks: `nodetool status` in one pod per DC, and sentinel rows across DCs through cqlsh."""

from __future__ import annotations

import time
from enum import StrEnum

from kubernetes.client import ApiClient, CoreV1Api
from prefect import get_run_logger, task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from multidc_core import cql as cql_text
from multidc_core import naming
from multidc_core.nodetool import parse_status
from multidc_core.spec import RingSpec
from multidc_core.verify_model import (
    SENTINEL_TABLE,
    SENTINEL_TTL_S,
    VERIFY_KEYSPACE,
    NodeView,
    Observation,
    ReadResult,
    WriteResult,
    describe_cql_error,
    verify_rf,
)
from tasks.kube_access import ExecResult, api_for, exec_in_pod
from tasks.kube_client import call

# After an EACH_QUORUM write every DC already holds a quorum, so a read answers at once; the deadline
# covers the LOCAL_QUORUM fallback, whose replication to other DCs is asynchronous (hints, slow WAN).
READ_DEADLINE_S = 30.0
# Polling a healthy ring more often than this only adds load; a read is a single-partition lookup.
READ_POLL_S = 1.0
# cqlsh exit codes: 2 = the statement failed on the server (an answer), 1 = no connection or login.
CQLSH_NO_CONNECTION = 1
DEFAULT_ADMIN = ("cassandra", "cassandra")  # the image's well-known superuser, before multidc disables it
TABLE = f"{VERIFY_KEYSPACE}.{SENTINEL_TABLE}"


class CqlLogin(StrEnum):
    """How cqlsh logs in; never a password itself, so it is safe as a task parameter."""

    POD_ENV = "pod-env"  # CASSANDRA_ADMIN_USER/PASSWORD from the pod's env (the Secret multidc wrote)
    DEFAULT = "default"  # cassandra/cassandra: the admin role does not exist yet
    NONE = "none"  # auth off (AllowAllAuthenticator)


def choose_login(spec: RingSpec) -> CqlLogin:
    """POD_ENV when the admin block exists, DEFAULT when it does not (yet), NONE when auth is off."""
    if not spec.cassandra.auth:
        return CqlLogin.NONE
    try:
        Secret.load(naming.admin_block_name(spec.name))
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return CqlLogin.DEFAULT
    return CqlLogin.POD_ENV


def cqlsh_argv(login: CqlLogin, cql: str) -> list[str]:
    """The exec argv running cql in a Cassandra container; with POD_ENV no password crosses the API."""
    if login is CqlLogin.POD_ENV:
        quoted = cql_text.shell_double_quoted(cql)
        script = f'cqlsh -u "$CASSANDRA_ADMIN_USER" -p "$CASSANDRA_ADMIN_PASSWORD" -e {quoted}'
        return ["sh", "-c", script]
    if login is CqlLogin.DEFAULT:
        return ["cqlsh", "-u", DEFAULT_ADMIN[0], "-p", DEFAULT_ADMIN[1], "-e", cql]
    return ["cqlsh", "-e", cql]


def _ready_pods(api: ApiClient, spec: RingSpec, dc: str) -> list[str]:
    """The DC's Ready Cassandra pods, seeds first (node order)."""
    d = spec.dc(dc)
    sel = ",".join(f"{k}={v}" for k, v in naming.selector(spec.name, dc).items())
    ready: set[str] = set()
    for p in call(f"pods of {dc}", CoreV1Api(api).list_namespaced_pod, d.namespace, label_selector=sel).items:
        conditions = (p.status.conditions if p.status else None) or []
        if (
            p.metadata
            and p.metadata.name
            and any(c.type == "Ready" and c.status == "True" for c in conditions)
        ):
            ready.add(p.metadata.name)
    order = naming.pods(d)
    return sorted(ready, key=lambda p: order.index(p) if p in order else len(order))


def run_cql(spec: RingSpec, dc: str, cql: str, login: CqlLogin) -> tuple[ExecResult | None, str | None]:
    """Run cql in the first Ready pod of dc that connects; (result, None) or (None, why none could)."""
    try:
        api = api_for(spec, spec.dc(dc))
        pods = _ready_pods(api, spec, dc)
    except Exception as exc:  # any API failure is a finding about this DC, never a crash of the check
        return None, f"cannot reach the Kubernetes API of {dc}: {type(exc).__name__}: {exc}"
    errors = []
    for pod in pods:
        try:
            res = exec_in_pod(api, spec.dc(dc).namespace, pod, cqlsh_argv(login, cql))
        except Exception as exc:
            errors.append(f"{pod}: exec failed: {type(exc).__name__}: {exc}")
            continue
        if res.returncode == CQLSH_NO_CONNECTION:
            errors.append(f"{pod}: {describe_cql_error(res.stderr)}")
            continue
        return res, None
    return None, "; ".join(
        errors
    ) if errors else f"no Ready Cassandra pod in namespace {spec.dc(dc).namespace}"


@task(name="observe-ring", cache_policy=NO_CACHE)
def observe_ring(spec: RingSpec, dc: str) -> Observation:
    """The ring as one DC sees it: `nodetool status` in a Ready pod, trying the next pod on failure.

    Args:
        spec: The ring spec.
        dc: Datacenter whose pod runs nodetool.

    Returns:
        The parsed rows, or an Observation whose `error` says why no pod answered.
    """
    try:
        api = api_for(spec, spec.dc(dc))
        pods = _ready_pods(api, spec, dc)
    except Exception as exc:
        return Observation(observer=dc, error=f"cannot reach the Kubernetes API: {type(exc).__name__}: {exc}")
    errors = []
    for pod in pods:
        try:
            res = exec_in_pod(api, spec.dc(dc).namespace, pod, ["nodetool", "status"])
            if res.returncode != 0:
                raise RuntimeError(f"exit {res.returncode}: {(res.stderr or res.stdout).strip()[:200]}")
            rows = parse_status(res.stdout)
        except Exception as exc:
            errors.append(f"{pod}: {exc}")
            continue
        return Observation(observer=dc, pod=pod, nodes=[NodeView.of(r) for r in rows])
    why = "; ".join(errors) if errors else f"no Ready Cassandra pod in namespace {spec.dc(dc).namespace}"
    return Observation(observer=dc, error=f"no pod answered nodetool status: {why}")


def _replication(spec: RingSpec) -> str:
    return cql_text.replication({d.name: verify_rf(d.cassandra.nodes) for d in spec.datacenters})


@task(name="ensure-verify-keyspace", cache_policy=NO_CACHE)
def ensure_verify_keyspace(spec: RingSpec, login: CqlLogin | None = None) -> str | None:
    """Create keyspace multidc_verify (NetworkTopologyStrategy over every DC) and its sentinel table.

    Tries each DC in turn; re-applies the replication so a DC added later is covered.

    Args:
        spec: The ring spec.
        login: How cqlsh logs in; chosen from the admin block when None.

    Returns:
        None when the keyspace is ready, else what every DC answered.
    """
    login = login or choose_login(spec)
    replication = _replication(spec)
    cql = (
        f"CREATE KEYSPACE IF NOT EXISTS {VERIFY_KEYSPACE} WITH replication = {replication}; "
        f"ALTER KEYSPACE {VERIFY_KEYSPACE} WITH replication = {replication}; "
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id text PRIMARY KEY, dc text, at timestamp);"
    )
    errors = []
    for d in spec.datacenters:
        res, err = run_cql(spec, d.name, cql, login)
        if res is not None and res.returncode == 0:
            return None
        errors.append(f"{d.name}: {err or describe_cql_error(res.stderr if res else '')}")
    return "; ".join(errors)


@task(name="write-sentinel", cache_policy=NO_CACHE)
def write_sentinel(spec: RingSpec, dc: str, run_id: str, login: CqlLogin | None = None) -> WriteResult:
    """Write a unique sentinel row from dc at EACH_QUORUM (LOCAL_QUORUM if that fails), with a TTL.

    Args:
        spec: The ring spec.
        dc: Datacenter whose pod coordinates the write.
        run_id: Unique per verification run; the row id is `<run_id>-<dc>`.
        login: How cqlsh logs in; chosen from the admin block when None.

    Returns:
        The key, the level the write succeeded at (None if none did) and the EACH_QUORUM error.
    """
    login = login or choose_login(spec)
    key = f"{run_id}-{dc}"
    insert = (
        f"INSERT INTO {TABLE} (id, dc, at) VALUES ({cql_text.quote_literal(key)}, {cql_text.quote_literal(dc)}, toTimestamp(now())) "  # noqa: S608
        f"USING TTL {SENTINEL_TTL_S};"
    )
    res, err = run_cql(spec, dc, f"CONSISTENCY EACH_QUORUM; {insert}", login)
    if res is not None and res.returncode == 0:
        return WriteResult(writer=dc, key=key, consistency="EACH_QUORUM")
    each_error = err or describe_cql_error(res.stderr if res else "")
    # Still write locally, so the reads tell whether replication reaches the other DCs at all.
    res, _ = run_cql(spec, dc, f"CONSISTENCY LOCAL_QUORUM; {insert}", login)
    level = "LOCAL_QUORUM" if res is not None and res.returncode == 0 else None
    return WriteResult(writer=dc, key=key, consistency=level, error=each_error)


def _row_ids(stdout: str) -> set[str]:
    """The first column of every row of cqlsh's tables (header lines included, harmlessly)."""
    return {line.split("|", 1)[0].strip() for line in stdout.splitlines() if "|" in line}


@task(name="read-sentinels", cache_policy=NO_CACHE)
def read_sentinels(
    spec: RingSpec,
    reader_dc: str,
    keys: dict[str, str],
    login: CqlLogin | None = None,
    deadline_s: float = READ_DEADLINE_S,
) -> list[ReadResult]:
    """Read other DCs' sentinels from one DC at LOCAL_QUORUM until each shows up or the deadline passes.

    One cqlsh call per attempt reads every sentinel still missing (one single-partition SELECT each),
    so a DC's row of the matrix costs one exec, not one per writer.

    Args:
        spec: The ring spec.
        reader_dc: Datacenter whose pod reads.
        keys: Sentinel row id per writing datacenter.
        login: How cqlsh logs in; chosen from the admin block when None.
        deadline_s: How long to keep polling, in seconds.

    Returns:
        Per writer: whether its row was read, how long it took, and otherwise the last answer.
    """
    login = login or choose_login(spec)
    started = time.monotonic()
    seen: dict[str, float] = {}
    last: dict[str, str] = {}

    def attempt() -> bool:
        missing = {w: k for w, k in keys.items() if w not in seen}
        selects = " ".join(
            f"SELECT id, dc FROM {TABLE} WHERE id = {cql_text.quote_literal(k)};" for k in missing.values()  # noqa: S608
        )
        res, err = run_cql(spec, reader_dc, f"CONSISTENCY LOCAL_QUORUM; {selects}", login)
        found = _row_ids(res.stdout) if res is not None and res.returncode == 0 else set()
        for writer, key in missing.items():
            if key in found:
                seen[writer] = round(time.monotonic() - started, 2)
            elif res is not None and res.returncode == 0:
                last[writer] = f"the row is not there at LOCAL_QUORUM after {deadline_s:g} s"
            else:
                last[writer] = err or describe_cql_error(res.stderr if res else "")
        return len(seen) == len(keys)

    Retrying(
        retry=retry_if_result(lambda done: not done),
        stop=stop_after_delay(deadline_s),
        wait=wait_fixed(READ_POLL_S),
        retry_error_callback=lambda _: False,  # the deadline passed: findings, not an exception
    )(attempt)
    return [
        ReadResult(
            writer=writer,
            reader=reader_dc,
            ok=writer in seen,
            seconds=seen.get(writer),
            error=None if writer in seen else last.get(writer, "not read"),
        )
        for writer in keys
    ]


@task(name="delete-sentinels", cache_policy=NO_CACHE)
def delete_sentinels(spec: RingSpec, keys: list[str], login: CqlLogin | None = None) -> None:
    """Delete this run's sentinels (best effort: their TTL removes whatever is left).

    Args:
        spec: The ring spec.
        keys: Sentinel row ids to delete.
        login: How cqlsh logs in; chosen from the admin block when None.
    """
    if not keys:
        return
    login = login or choose_login(spec)
    deletes = " ".join(f"DELETE FROM {TABLE} WHERE id = {cql_text.quote_literal(k)};" for k in keys)  # noqa: S608
    for d in spec.datacenters:
        res, _ = run_cql(spec, d.name, f"CONSISTENCY LOCAL_QUORUM; {deletes}", login)
        if res is not None and res.returncode == 0:
            return
    get_run_logger().warning("could not delete sentinels %s; they expire in %d s", keys, SENTINEL_TTL_S)
