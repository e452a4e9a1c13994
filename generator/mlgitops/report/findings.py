"""Errors as data: a Finding says what is wrong, where, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column in a file (column 0 means "the whole line")."""

    line: int = 0
    col: int = 0

    @classmethod
    def from_mark(cls, mark) -> Position:
        """The one place 0-based YAML marks become 1-based positions."""
        return cls(mark.line + 1, mark.column + 1)


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    file: str = ""
    position: Position = field(default_factory=Position)
    hint: str = ""
    severity: Severity = Severity.ERROR
    object: str = ""  # "Kind/name" of the Kubernetes object concerned, when there is one

    @property
    def line(self) -> int:
        return self.position.line

    @property
    def col(self) -> int:
        return self.position.col

    def sort_key(self) -> tuple:
        return (self.file, self.position.line, self.position.col, self.rule, self.message)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity.value, "file": self.file, "line": self.line,
                "col": self.col, "message": self.message, "hint": self.hint, "object": self.object}

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        return cls(d["rule"], d["message"], d["file"], Position(d["line"], d["col"]), d["hint"],
                   Severity(d["severity"]), d["object"])

    def location(self) -> str:
        if not self.file:
            return ""
        if not self.position.line:
            return self.file
        return f"{self.file}:{self.position.line}:{self.position.col}"

    def text(self) -> str:
        where = self.location()
        parts = [f"{where}: " if where else "", self.message]
        if self.object:
            parts.append(f" [{self.object}]")
        parts.append(f" ({self.rule})")
        if self.hint:
            parts.append(f"\n    hint: {self.hint}")
        return "".join(parts)


def has_errors(findings) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def sorted_findings(findings) -> list[Finding]:
    return sorted(set(findings), key=Finding.sort_key)


class FatalError(Exception):
    """The run cannot continue (missing tool, unreadable repository): exit code 2, no traceback."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f"\n    hint: {self.hint}" if self.hint else "")
