"""`cqlsh` inside a simulated pod: options, connection, login, `-e` statements, real messages and codes."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from sandbox.ring.auth import AuthFailed, authenticate
from sandbox.ring.cql_errors import CqlError
from sandbox.ring.cql_exec import Session
from sandbox.ring.cql_parse import CqlSyntaxError, parse_statement, split_statements
from sandbox.ring.node import Node

if TYPE_CHECKING:
    from sandbox.ring.cluster import ExecResult, RingSim

USAGE = "Usage: cqlsh.py [options] [host [port]]\n\ncqlsh.py: error: "
CLI_WARNING = (
    "Warning: Using a password on the command line interface can be insecure.\n"
    "Recommendation: use the credentials file to securely provide the password.\n"
)
_WITH_VALUE = {
    "-u": "user", "--username": "user", "-p": "password", "--password": "password",
    "-k": "keyspace", "--keyspace": "keyspace", "-e": "execute", "--execute": "execute",
    "--request-timeout": None, "--connect-timeout": None, "--cqlversion": None, "--protocol-version": None,
    "--encoding": None, "-f": "file", "--file": "file",
}  # fmt: skip


# cqlsh (pylib/cqlshlib) after a schema change the driver could not see agreed by every peer it does
# not know to be down: printed on stderr, and the run exits 2 although the change was made.
SCHEMA_MISMATCH = (
    "Warning: schema version mismatch detected; check the schema versions of your nodes "
    "in system.local and system.peers."
)


def _schema(session: Session) -> str:
    return json.dumps({k: asdict(v) for k, v in session.ring.keyspaces.items()}, sort_keys=True)


def _agreed(session: Session) -> bool:
    """Every node of the ring is up and reachable from the coordinator, so it has pulled the change."""
    live = session.sim.live_from(session.node)
    return all(m is session.node or live(m) for m in session.sim.members(session.node.ring_id))


def parse_args(args: list[str]) -> tuple[dict[str, str], list[str]]:
    opts: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        name, eq, inline = a.partition("=")
        if name in _WITH_VALUE and name.startswith("--") and eq:
            key = _WITH_VALUE[name]
            if key:
                opts[key] = inline
        elif a in _WITH_VALUE:
            if i + 1 >= len(args):
                raise ValueError(f"{a} option requires 1 argument")
            key = _WITH_VALUE[a]
            if key:
                opts[key] = args[i + 1]
            i += 1
        elif a.startswith("-") and len(a) > 1:
            pass  # flags such as --no-color, -C, --ssl do not change what the sandbox does
        else:
            positional.append(a)
        i += 1
    return opts, positional


def _conn_error(target: str, err: str) -> str:
    return f"Connection error: ('Unable to connect to any servers', {{'{target}': {err}}})\n"


def run(sim: RingSim, caller: Node, args: list[str]) -> ExecResult:
    from sandbox.ring.cluster import ExecResult

    try:
        opts, positional = parse_args(args)
    except ValueError as e:
        return ExecResult(2, "", USAGE + f"{e}\n")
    if "file" in opts or "execute" not in opts:
        # No stdin over this exec: interactive or -f use has nothing to read.
        return ExecResult(2, "", USAGE + "the sandbox's cqlsh runs only -e/--execute statements\n")
    host = positional[0] if positional else "127.0.0.1"
    port = positional[1] if len(positional) > 1 else "9042"
    err = CLI_WARNING if "password" in opts else ""
    if host in ("127.0.0.1", "localhost", "::1"):
        ip: str | None = caller.ip
    else:
        try:
            ip = str(ipaddress.ip_address(host))
        except ValueError:
            ip = sim.network.resolve(caller.ip, host)
    target = f"{host}:{port}"
    if ip is None:
        return ExecResult(1, "", err + _conn_error(target, "gaierror(-2, 'Name or service not known')"))
    shown = "127.0.0.1" if ip == caller.ip and host in ("127.0.0.1", "localhost") else ip
    target = f"{shown}:{port}"
    node = sim.node_at(ip)
    if ip != caller.ip and not sim.network.reachable(caller.ip, ip):
        last = f"\"Tried connecting to [('{shown}', {port})]. Last error: timed out\""
        return ExecResult(1, "", err + _conn_error(target, f"OSError(None, {last})"))
    if node is None or node.ring_id not in sim.rings or port != "9042":
        last = f"\"Tried connecting to [('{shown}', {port})]. Last error: Connection refused\""
        return ExecResult(1, "", err + _conn_error(target, f"ConnectionRefusedError(111, {last})"))
    user: str | None = None
    superuser = True  # AllowAllAuthenticator: the anonymous user may do everything
    if node.config.auth:
        try:
            superuser = authenticate(sim, node, opts.get("user"), opts.get("password"))
        except AuthFailed as e:
            text = str(e)
            if text != "Remote end requires authentication":
                text = f"Failed to authenticate to {shown}:{port}: Error from server: code=0100 [Bad credentials] message=\"{text}\""
            return ExecResult(1, "", err + _conn_error(target, f"AuthenticationFailed({text!r})"))
        user = opts.get("user")
    session = Session(sim, node, user, superuser, keyspace=opts.get("keyspace"))
    return _execute(session, opts["execute"], err)


def _execute(session: Session, text: str, err: str) -> ExecResult:
    from sandbox.ring.cluster import ExecResult

    if session.keyspace is not None and session.keyspace not in session.ring.keyspaces:
        return ExecResult(2, "", err + f"Keyspace '{session.keyspace}' does not exist\n")
    out: list[str] = []
    errors: list[str] = []
    try:
        statements = split_statements(text)
    except CqlSyntaxError as e:
        return ExecResult(2, "", err + f"<stdin>:1:SyntaxException: {e}\n")
    for toks in statements:
        # Like cqlsh in batch mode: report the failing statement and go on with the next one.
        try:
            before = _schema(session)
            out.append(session.execute(parse_statement(toks)))
            if _schema(session) != before and not _agreed(session):
                errors.append(SCHEMA_MISMATCH)
        except CqlSyntaxError as e:
            snippet = " ".join(t.text for t in toks)[:60]
            errors.append(f"<stdin>:1:SyntaxException: {e} ({snippet}...)")
        except CqlError as e:
            errors.append(f"<stdin>:1:{e.name}: {e.text}" if e.text else f"{e.name}.")
    stderr = err + "".join(f"{line}\n" for line in errors)
    return ExecResult(2 if errors else 0, "".join(out), stderr)
