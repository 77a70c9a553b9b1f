"""Configuration problems: what is wrong, and where, in words an operator understands."""

from __future__ import annotations

from dataclasses import dataclass

PathPart = str | int
"""One step of a field path: a mapping key or a list index."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem found by a checker that knows the field path but not the file position.

    `path` is relative to the root of the YAML document the checked object came from,
    e.g. ("nodes", "main_menu", "options", "3", "goto").
    """

    path: tuple[PathPart, ...]
    message: str


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """A problem located in a file: `config/flows/main.yaml:41:7 nodes.main_menu...: msg`."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    path: tuple[PathPart, ...]
    message: str

    def __str__(self) -> str:
        dotted = "".join(
            f"[{p}]" if isinstance(p, int) else ("." if i else "") + _show_part(p)
            for i, p in enumerate(self.path)
        )
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where} {dotted}: {self.message}" if dotted else f"{where} {self.message}"


def _show_part(part: str) -> str:
    if part.isidentifier():
        return part
    return '"' + part.replace('"', '\\"') + '"'


class ConfigError(Exception):
    """Raised with every problem found in a centre's configuration at once."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))
