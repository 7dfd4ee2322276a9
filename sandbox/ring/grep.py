"""GNU grep on a command's input, for pipes such as a readiness probe's `nodetool status | grep -E ...`."""

from __future__ import annotations

import re

_BRE_SWAP = set("+?|(){}")


def _bre_to_python(pattern: str) -> str:
    """Basic regex: `\\+ \\? \\| \\( \\) \\{ \\}` are operators (GNU), the bare characters are literals."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(nxt if nxt in _BRE_SWAP else c + nxt)
            i += 2
            continue
        out.append("\\" + c if c in _BRE_SWAP else c)
        i += 1
    return "".join(out)


def grep(args: list[str], stdin: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr): 0 when a line matched, 1 when none did, 2 on a usage or pattern error."""
    flags: set[str] = set()
    rest: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            rest += args[i + 1:]
            break
        if arg.startswith("-") and len(arg) > 1 and not rest:
            unknown = set(arg[1:]) - set("EFqvcix")
            if unknown:
                return 2, "", f"grep: invalid option -- '{sorted(unknown)[0]}'\n"
            flags |= set(arg[1:])
        else:
            rest.append(arg)
    if len(rest) != 1:
        return 2, "", "grep: the sandbox reads one pattern from standard input\n"
    pattern = rest[0]
    if "F" in flags:
        pattern = re.escape(pattern)
    elif "E" not in flags:
        pattern = _bre_to_python(pattern)
    if "x" in flags:
        pattern = f"(?:{pattern})$"
    try:
        regex = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
    except re.error as e:
        return 2, "", f"grep: {e}\n"
    lines = [line for line in stdin.splitlines() if bool(regex.search(line)) != ("v" in flags)]
    rc = 0 if lines else 1
    if "q" in flags:
        return rc, "", ""
    if "c" in flags:
        return rc, f"{len(lines)}\n", ""
    return rc, "".join(line + "\n" for line in lines), ""
