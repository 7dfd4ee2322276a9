"""Just enough of `sh -c` for exec'd commands: words, quotes, $VAR / ${VAR}, `|` pipes and `&&`/`;` lists.

Nothing is ever evaluated: unsupported syntax (`||`, redirections, $(...), backquotes) is an error.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ShellError(Exception):
    """Reported like sh does: on stderr with exit code 2."""


def _var(text: str, i: int, env: dict[str, str]) -> tuple[str, int]:
    """Expand the parameter starting at text[i] == '$'; returns (value, next index)."""
    if text.startswith("${", i):
        end = text.find("}", i)
        name = text[i + 2 : end] if end > 0 else ""
        if not _NAME.fullmatch(name):
            raise ShellError(f"sh: 1: Bad substitution: {text[i:end + 1 if end > 0 else len(text)]}")
        return env.get(name, ""), end + 1
    m = _NAME.match(text, i + 1)
    if m is None:
        if text.startswith("$(", i):
            raise ShellError("sh: command substitution is not supported by the sandbox")
        return "$", i + 1
    return env.get(m.group(0), ""), m.end()


def split(text: str, env: dict[str, str]) -> list[tuple[str, list[str]]]:
    """Parse into [(connector, argv)] where connector is '' for the first, then '&&', ';' or '|'.

    `|` binds tighter than `&&` and `;` as in sh: `a | b && c` runs c when b (the pipeline) succeeded.
    """
    commands: list[tuple[str, list[str]]] = []
    words: list[str] = []
    connector = ""
    cur: str | None = None  # None: no word started (so "" from quotes still makes a word)
    i = 0
    while i < len(text):
        c = text[i]
        if c in " \t\n":
            if cur is not None:
                words.append(cur)
                cur = None
            i += 1
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ShellError("sh: 1: Syntax error: Unterminated quoted string")
            cur = (cur or "") + text[i + 1 : end]
            i = end + 1
        elif c == '"':
            cur = cur or ""
            i += 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\':
                    cur += text[i + 1]
                    i += 2
                elif text[i] == "$":
                    value, i = _var(text, i, env)
                    cur += value
                elif text[i] == "`":
                    raise ShellError("sh: command substitution is not supported by the sandbox")
                else:
                    cur += text[i]
                    i += 1
            if i >= len(text):
                raise ShellError("sh: 1: Syntax error: Unterminated quoted string")
            i += 1
        elif c == "\\" and i + 1 < len(text):
            cur = (cur or "") + text[i + 1]
            i += 2
        elif c == "$":
            # Unquoted expansion is field-split by the shell.
            value, i = _var(text, i, env)
            parts = value.split()
            if parts:
                cur = (cur or "") + parts[0]
                for p in parts[1:]:
                    words.append(cur)
                    cur = p
        elif text.startswith("&&", i) or c == ";" or (c == "|" and not text.startswith("||", i)):
            if cur is not None:
                words.append(cur)
                cur = None
            if not words:
                raise ShellError(f"sh: 1: Syntax error: \"{c}\" unexpected")
            commands.append((connector, words))
            words, connector = [], {"&": "&&", ";": ";", "|": "|"}[c]
            i += 2 if c == "&" else 1
        elif c in "|<>`&(){}":
            raise ShellError(f"sh: '{c}' is not supported by the sandbox shell")
        else:
            cur = (cur or "") + c
            i += 1
    if cur is not None:
        words.append(cur)
    if words:
        commands.append((connector, words))
    elif connector in ("&&", "|"):
        raise ShellError("sh: 1: Syntax error: end of file unexpected")
    return commands
