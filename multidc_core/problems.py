"""What is wrong with a ring spec: one Problem per mistake, all raised together in a SpecError."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in a spec: where it is, what is wrong, and how to fix it."""

    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        fix = self.fix if self.fix.endswith((".", "?", "!")) else self.fix + "."
        return f"{self.path}: {self.message.rstrip('.')}. Fix: {fix}"


class SpecError(Exception):
    """A spec that cannot be used; `problems` lists every mistake found, in document order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def show(value: object, limit: int = 60) -> str:
    """repr() of a user value, shortened: never echo raw input (newlines, escapes, shell text)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
