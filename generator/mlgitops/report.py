"""Findings to text: one pure function per output format, chosen from a registry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from mlgitops.findings import Finding, Severity, sorted_findings


def summary(findings: list[Finding]) -> str:
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def format_text(findings: Iterable[Finding]) -> str:
    items = sorted_findings(findings)
    if not items:
        return ""
    lines = [f.text() for f in items]
    return "\n".join(lines) + f"\n{summary(items)}\n"


def format_json(findings: Iterable[Finding]) -> str:
    items = [
        {"rule": f.rule, "severity": f.severity.value, "file": f.file, "line": f.line, "col": f.col,
         "message": f.message, "hint": f.hint, "object": f.object}
        for f in sorted_findings(findings)
    ]
    return json.dumps({"findings": items}, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Iterable[Finding]) -> str:
    """GitHub Actions workflow commands, so findings show inline in the pull request."""
    lines = []
    for f in sorted_findings(findings):
        props = []
        if f.file:
            props.append(f"file={_escape_property(f.file)}")
            if f.line:
                props += [f"line={f.line}", f"col={f.col}"]
        props.append(f"title={_escape_property(f.rule)}")
        message = f.message + (f" [{f.object}]" if f.object else "") + (f"\n{f.hint}" if f.hint else "")
        lines.append(f"::{f.severity.value} {','.join(props)}::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


FORMATS: dict[str, Callable[[Iterable[Finding]], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
}
