"""Errors as data: a Finding says what is wrong, where, and what to do about it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

# Characters that must never reach an output raw: they would break a line (and so forge a finding),
# move the cursor, recolour a terminal, reorder text (bidi controls), or make XML ill-formed.
# C0, DEL and C1 controls (Unicode category Cc), the line and paragraph separators, lone surrogates, the
# bidi controls, and the two non-characters XML refuses.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069\ufffe\uffff]")
_UNSAFE_INLINE = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x09\x0b\x0c\x0e-\x1f"))
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


QUOTED_AT_MOST = 80  # characters of a value a message quotes whole; a longer one keeps its two ends


def clip(text: str, limit: int = QUOTED_AT_MOST) -> str:
    """A value as a message shows it: whole up to limit characters, else its first and last characters around
    how many there are ('99999999…(5,000 characters)…99999999'): a 5,000-digit number is no message."""
    if len(text) <= limit:
        return text
    keep = max(1, (limit - 24) // 2)
    return f"{text[:keep]}…({len(text):,} characters)…{text[-keep:]}"


def quoted(text: str) -> str:
    """User text in a message: quoted, escaped when it holds anything unprintable, clipped when long (clip)."""
    text = clip(text)
    return f"'{text}'" if text.isprintable() else repr(text)


def printable(text: str, keep_breaks: bool = False) -> str:
    """text with every control, line-separator and bidi character written as a visible escape (\\n,
    \\x1b, \\u2028): a message, hint or name then stays on its own line, whatever the input held.
    keep_breaks leaves LF and CR to a format that escapes them its own way (GitHub's %0A)."""
    return (_UNSAFE_INLINE if keep_breaks else _UNSAFE).sub(_escaped, text)


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column in a file (column 0 means "the whole line")."""

    line: int = 0
    col: int = 0

    @classmethod
    def from_mark(cls, mark: Any) -> Position:
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
    environments: tuple[str, ...] = ()  # the environments it concerns; the message then starts "dev, prod: "

    @classmethod
    def in_environments(cls, environments: tuple[str, ...] | list[str], rule: str, detail: str, file: str = "",
                        position: Position | None = None, hint: str = "", severity: Severity = Severity.ERROR,
                        object: str = "") -> Finding:
        """A finding about some environments: they are data, and the message names them first."""
        envs = tuple(environments)
        return cls(rule, f"{', '.join(envs)}: {detail}", file, position or Position(), hint, severity, object, envs)

    @property
    def detail(self) -> str:
        """The message without the environments it names first."""
        return self.message.removeprefix(f"{', '.join(self.environments)}: ") if self.environments else self.message

    @property
    def line(self) -> int:
        return self.position.line

    @property
    def col(self) -> int:
        return self.position.col

    def sort_key(self) -> tuple[Any, ...]:
        """Every field: findings that tie on where and what (one line, several objects, hints or environments)
        must not keep their arrival order, which parallel builds change, nor a set's, which changes per run."""
        return (self.file, self.position.line, self.position.col, self.rule, self.message, self.object, self.hint,
                self.severity.value, self.environments)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity.value, "file": self.file, "line": self.line,
                "col": self.col, "message": self.message, "hint": self.hint, "object": self.object}

    def as_record(self) -> dict[str, Any]:
        """as_dict and the environments (for a cache: the output formats print as_dict)."""
        return {**self.as_dict(), "environments": list(self.environments)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(d["rule"], d["message"], d["file"], Position(d["line"], d["col"]), d["hint"],
                   Severity(d["severity"]), d["object"], tuple(d.get("environments", ())))

    def printable(self, keep_breaks: bool = False) -> Finding:
        """This finding with its user-supplied text made safe to print (see printable())."""
        def safe(text: str) -> str:
            return printable(text, keep_breaks)
        return replace(self, message=safe(self.message), hint=safe(self.hint), object=safe(self.object),
                       file=safe(self.file))

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


def has_errors(findings: Any) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def sorted_findings(findings: Any) -> list[Finding]:
    return sorted(set(findings), key=Finding.sort_key)


def shown(findings: Any, keep_breaks: bool = False) -> list[Finding]:
    """Findings as every format prints them: sorted, each made printable (the one place this happens)."""
    return [f.printable(keep_breaks) for f in sorted_findings(findings)]


class FatalError(Exception):
    """The run cannot continue (missing tool, unreadable repository): exit code 2, no traceback."""

    def __init__(self, message: str, hint: str = "", details: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details  # further lines, each printed (escaped) on its own

    def __str__(self) -> str:
        lines = [printable(self.message), *(printable(d) for d in self.details)]
        return "\n".join(lines) + (f"\n    hint: {printable(self.hint)}" if self.hint else "")
