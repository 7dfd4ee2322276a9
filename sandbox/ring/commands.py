"""What `exec` in a simulated Cassandra container can run: sh -c, nodetool, cqlsh, getent, grep, echo."""

from __future__ import annotations

import ipaddress
import posixpath
from typing import TYPE_CHECKING

from sandbox.ring import cqlsh, nodetool
from sandbox.ring.grep import grep
from sandbox.ring.node import Node
from sandbox.ring.shell import ShellError, split

if TYPE_CHECKING:
    from sandbox.ring.cluster import ExecResult, RingSim


def _getent(sim: RingSim, node: Node, args: list[str]) -> ExecResult:
    from sandbox.ring.cluster import ExecResult

    if len(args) != 2 or args[0] != "hosts":
        return ExecResult(1, "", "getent: the sandbox supports only 'getent hosts <name>'\n")
    name = args[1]
    try:
        ip: str | None = str(ipaddress.ip_address(name))
    except ValueError:
        ip = sim.network.resolve(node.ip, name)
    if ip is None:
        return ExecResult(2, "", "")
    return ExecResult(0, f"{ip}  {name}\n", "")


def _single(
    sim: RingSim, node: Node, argv: list[str], env: dict[str, str], in_shell: bool, stdin: str = ""
) -> ExecResult:
    from sandbox.ring.cluster import ExecResult

    while argv and argv[0] == "exec":
        argv = argv[1:]
    if not argv:
        return ExecResult(0, "", "")
    prog, args = posixpath.basename(argv[0]), argv[1:]
    if prog in ("sh", "bash") and args[:1] == ["-c"] and len(args) >= 2:
        return _shell(sim, node, args[1], env)
    if prog == "nodetool":
        return nodetool.run(sim, node, args)
    if prog in ("cqlsh", "cqlsh.py"):
        return cqlsh.run(sim, node, args)
    if prog == "getent":
        return _getent(sim, node, args)
    if prog == "grep":
        return ExecResult(*grep(args, stdin))
    if prog == "echo":
        return ExecResult(0, " ".join(args) + "\n", "")
    if prog == "true":
        return ExecResult(0, "", "")
    if in_shell:
        return ExecResult(127, "", f"sh: 1: {argv[0]}: not found\n")
    return ExecResult(
        126,
        "",
        f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{argv[0]}": '
        "executable file not found in $PATH: unknown\n",
    )


def _shell(sim: RingSim, node: Node, script: str, env: dict[str, str]) -> ExecResult:
    from sandbox.ring.cluster import ExecResult

    try:
        commands = split(script, env)
    except ShellError as e:
        return ExecResult(2, "", f"{e}\n")
    out, err, rc, piped, skip, seconds = "", "", 0, "", False, 0.0
    for i, (connector, argv) in enumerate(commands):
        if connector != "|":  # a list item starts: `&&` skips the whole pipeline after a failure
            skip = connector == "&&" and rc != 0
        if skip:
            continue
        res = _single(sim, node, argv, env, True, piped if connector == "|" else "")
        if i + 1 < len(commands) and commands[i + 1][0] == "|":
            piped = res.stdout
        else:
            out += res.stdout
        # a pipeline's status is its last command's
        err, rc, seconds = err + res.stderr, res.returncode, seconds + res.seconds
    return ExecResult(rc, out, err, seconds)


def run_command(sim: RingSim, node: Node, argv: list[str], env: dict[str, str]) -> ExecResult:
    return _single(sim, node, list(argv), env, in_shell=False)
