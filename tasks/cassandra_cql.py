"""CQL through exec in a pod (the password stays in the pod's environment): auth, repair, keyspaces."""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes.client import ApiClient
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from multidc_core import cql
from multidc_core import naming as n
from multidc_core.spec import Datacenter, RingSpec
from tasks.cassandra_admin import AdminCredentials, admin_credentials
from tasks.kube_access import api_for, exec_in_pod
from tasks.kube_objects import KubeError, KubeWaits, wait_until

DEFAULT_LOGIN = "-u cassandra -p cassandra"  # the image's well-known default, disabled by configure_auth
ADMIN_LOGIN = '-u "$CASSANDRA_ADMIN_USER" -p "$CASSANDRA_ADMIN_PASSWORD"'
# cqlsh failures that a retry can fix: a replica restarting, a coordinator not yet up, a timeout, or
# a schema change that some DC has not acknowledged yet (cqlsh's warning, exit 2: the change is made,
# and repeating the idempotent DDL succeeds once every DC agrees).
TRANSIENT_CQL = ("Unavailable", "Cannot achieve consistency level", "timed out", "OperationTimedOut",
                 "Connection refused", "NoHostAvailable", "SchemaDisagreement",
                 "schema version mismatch detected")  # fmt: skip


class CqlFailed(RuntimeError):
    """A cqlsh step failed for good; names the DC and pod it ran in (never a password)."""


@dataclass
class _Cqlsh:
    spec: RingSpec
    dc: Datacenter
    api: ApiClient
    pod: str
    creds: AdminCredentials
    waits: KubeWaits

    def run(self, login: str | None, statements: list[str], admin_vars: bool = False) -> tuple[int, str, str]:
        """cqlsh -e in the pod; returns (rc, stdout, stderr) after retrying transient failures."""
        text = cql.shell_double_quoted(cql.script(statements))
        if admin_vars:
            # Placeholders become variables only after quoting, so the shell expands them in the pod.
            text = text.replace("@ADMIN_USER@", "${CASSANDRA_ADMIN_USER}")
            text = text.replace("@ADMIN_PASSWORD@", "${CASSANDRA_ADMIN_PASSWORD}")
        argv = ["sh", "-c", f'cqlsh "$POD_IP" {login or ""} -e {text}']
        last: list[tuple[int, str, str]] = []

        def once() -> tuple[int, str, str] | None:
            res = exec_in_pod(self.api, self.dc.namespace, self.pod, argv)
            last[:] = [(res.returncode, res.stdout, self.redact(res.stderr))]
            if res.returncode != 0 and any(t in res.stderr for t in TRANSIENT_CQL):
                return None
            return last[0]

        try:
            return wait_until(
                f"{self.dc.name}: cqlsh in {self.pod}", once, self.waits.cql_s, self.waits.poll_s
            )
        except KubeError:
            return last[0] if last else (-1, "", "cqlsh never ran")

    def must(self, login: str | None, statements: list[str], what: str, admin_vars: bool = False) -> str:
        rc, out, err = self.run(login, statements, admin_vars=admin_vars)
        if rc != 0:
            raise CqlFailed(
                f"datacenter {self.dc.name}, pod {self.pod}: {what} failed (exit {rc}): {err.strip()}"
            )
        return out

    def alter_if_needed(
        self, login: str | None, wanted: dict[str, dict[str, int]], create: bool
    ) -> list[str]:
        """CREATE (when asked) and ALTER only the keyspaces whose replication differs; returns those."""
        have = cql.parse_replication_rows(
            self.must(login, ["SELECT keyspace_name, replication FROM system_schema.keyspaces"], "schema")
        )
        todo = [ks for ks, rf in wanted.items() if not cql.replication_matches(have.get(ks), rf)]
        statements = [
            s
            for ks in todo
            for s in ([cql.create_keyspace(ks, wanted[ks])] if create else [])
            + [cql.alter_keyspace(ks, wanted[ks])]
        ]
        if statements:
            self.must(login, statements, "replication of " + ", ".join(todo))
        return todo

    def redact(self, text: str) -> str:
        return text.replace(self.creds.password, "***") if self.creds.password else text


def _cqlsh(spec: RingSpec, waits: KubeWaits | None) -> _Cqlsh:
    d = spec.datacenters[0]
    creds = admin_credentials(spec) if spec.cassandra.auth else AdminCredentials("", "")
    return _Cqlsh(spec, d, api_for(spec, d), n.pods(d)[0], creds, waits or KubeWaits())


def system_replication(spec: RingSpec) -> dict[str, int]:
    """Replicas per DC for the system keyspaces: the spec's system_rf, else min(3, nodes)."""
    rf = spec.cassandra.system_rf
    return {d.name: rf or min(3, d.cassandra.nodes) for d in spec.datacenters}


@task(cache_policy=NO_CACHE)
def configure_auth(spec: RingSpec, waits: KubeWaits | None = None) -> str:
    """Once every DC is up: system keyspaces to NetworkTopologyStrategy, the new superuser, no default.

    In the order Cassandra needs: ALTER system_auth, system_distributed and system_traces (rf per
    DC); a full `nodetool repair -full system_auth` on nodes whose ranges cover the ring
    (`repair_nodes`), each waited for as long as it runs (`waits.repair_s`);
    CREATE ROLE the ring's admin; then, as the
    admin, ALTER ROLE cassandra WITH SUPERUSER = false AND LOGIN = false. Safe to re-run: when
    cassandra can no longer log in, the admin does the steps.

    Args:
        spec: The ring spec.
        waits: `cql_s` bounds each CQL step's retries, `repair_s` each repair.

    Returns:
        Which login did the work (`cassandra` on a first run, `admin` on a re-run, `none` without auth).
    """
    log = get_run_logger()
    sh = _cqlsh(spec, waits)
    system = {ks: system_replication(spec) for ks in cql.SYSTEM_KEYSPACES}
    if not spec.cassandra.auth:
        sh.alter_if_needed(None, system, create=False)
        _repair_system_auth(spec, sh.waits)
        return "none"
    login, who = _first_login(sh)
    if who == "admin":
        log.info("cassandra/cassandra cannot log in (already disabled): continuing as the ring's admin")
    altered = sh.alter_if_needed(login, system, create=False)
    log.info("system keyspaces altered: %s", ", ".join(altered) or "none (already as the spec says)")
    # Repaired even when nothing was altered: a run stopped after the ALTER needs it just the same.
    _repair_system_auth(spec, sh.waits)
    create = (
        "CREATE ROLE IF NOT EXISTS \"@ADMIN_USER@\" WITH PASSWORD = '@ADMIN_PASSWORD@' "
        "AND SUPERUSER = true AND LOGIN = true"
    )
    sh.must(login, [create], "CREATE ROLE for the admin", admin_vars=True)
    sh.must(
        ADMIN_LOGIN, ["ALTER ROLE cassandra WITH SUPERUSER = false AND LOGIN = false"], "disabling cassandra"
    )
    log.info(
        "auth configured: system keyspaces %s; superuser %s", system_replication(spec), sh.creds.username
    )
    return who


def _first_login(sh: _Cqlsh) -> tuple[str, str]:
    """cassandra/cassandra on a first run, the admin on a re-run. Neither yet is a ring whose default
    superuser does not exist yet (CassandraRoleManager creates it about 10 s after a node starts):
    both are tried again until `cql_s`."""
    last: list[str] = []

    def once() -> tuple[str, str] | None:
        for login, who in ((DEFAULT_LOGIN, "cassandra"), (ADMIN_LOGIN, "admin")):
            rc, _, err = sh.run(login, ["CONSISTENCY"])
            if rc == 0:
                return login, who
            if "AuthenticationFailed" not in err:
                raise CqlFailed(f"datacenter {sh.dc.name}, pod {sh.pod}: cqlsh cannot connect (exit {rc}): "
                                f"{err.strip()}")
            last[:] = [err.strip()]
        return None

    try:
        return wait_until(f"{sh.dc.name}: a login as cassandra or the admin", once, sh.waits.cql_s, sh.waits.poll_s)
    except KubeError as exc:
        raise CqlFailed(f"datacenter {sh.dc.name}, pod {sh.pod}: neither cassandra/cassandra nor the ring's admin "
                        f"can log in after {sh.waits.cql_s:g}s: {last[0] if last else ''}") from exc


# A full repair: incremental (nodetool's default since 2.2) skips data an earlier incremental repair
# marked repaired, even for replicas a replication change has just added.
REPAIR = ["nodetool", "repair", "-full", "system_auth"]


def _repair(api: ApiClient, d: Datacenter, pod: str, waits: KubeWaits) -> None:
    """One full repair of system_auth from the pod, waited for as long as it runs, never started twice.

    A failure is retried (a peer restarting, or a repair of system_auth still running from an
    earlier attempt: Cassandra refuses a second one over the same data); an exec that gives no exit
    status within `repair_s` is not, since the repair may still be running in the pod.
    """
    last: list[str] = []

    def once() -> bool | None:
        res = exec_in_pod(api, d.namespace, pod, REPAIR, timeout_s=waits.repair_s)
        if res.returncode == -1:
            raise CqlFailed(
                f"datacenter {d.name}, pod {pod}: {' '.join(REPAIR)} gave no answer in {waits.repair_s:g}s "
                "and may still be running there (see `nodetool repair_admin list` or `nodetool netstats`); "
                "not started again"
            )
        last[:] = [res.stderr.strip()]
        return True if res.returncode == 0 else None

    try:
        wait_until(f"{d.name}: repair in {pod}", once, waits.repair_s, waits.poll_s)
    except KubeError:
        detail = last[0] if last else "?"
        raise CqlFailed(f"datacenter {d.name}, pod {pod}: {' '.join(REPAIR)}: {detail}") from None


def repair_nodes(spec: RingSpec) -> tuple[Datacenter, list[str]]:
    """The pods whose repairs of system_auth reach every replica in every DC (`cql.repair_cover`)."""
    dc, count = cql.repair_cover({d.name: d.cassandra.nodes for d in spec.datacenters}, system_replication(spec))
    d = spec.dc(dc)
    return d, n.pods(d)[:count]


def _repair_system_auth(spec: RingSpec, waits: KubeWaits) -> None:
    """Stream system_auth to its new replicas in every DC, so that logins work everywhere."""
    d, pods = repair_nodes(spec)
    api = api_for(spec, d)
    for pod in pods:
        _repair(api, d, pod, waits)
    get_run_logger().info(
        "system_auth repaired from %s (%s): their ranges cover every replica in every DC", d.name, ", ".join(pods)
    )


@task(cache_policy=NO_CACHE)
def ensure_keyspaces(spec: RingSpec, waits: KubeWaits | None = None) -> list[str]:
    """Create the spec's keyspaces, or bring their replication to the spec (idempotent).

    Args:
        spec: The ring spec; each keyspace has a replica count per DC.
        waits: `cql_s` bounds the CQL step's retries.

    Returns:
        The keyspace names ensured.
    """
    if not spec.keyspaces:
        return []
    sh = _cqlsh(spec, waits)
    wanted = {ks.name: dict(ks.replication) for ks in spec.keyspaces}
    changed = sh.alter_if_needed(ADMIN_LOGIN if spec.cassandra.auth else None, wanted, create=True)
    get_run_logger().info("keyspaces created or altered: %s", ", ".join(changed) or "none")
    return list(wanted)
