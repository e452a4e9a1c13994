"""Findings to text: one pure function per output format, chosen from a registry."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mlgitops.report.findings import Finding, Severity, printable, shown, sorted_findings
from mlgitops.report.terminal import SEVERITY_COLOURS, paint


def errors_only(findings: Iterable[Finding]) -> list[Finding]:
    """What --quiet prints: the errors, no warnings."""
    return [f for f in findings if f.severity is Severity.ERROR]


def summary(findings: list[Finding]) -> str:
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def _coloured(f: Finding) -> str:
    """Finding.text() with the location bold, the message in its severity's colour, the rule and hint dim."""
    where = f.location()
    parts = [paint(f"{where}:", True, bold=True) + " " if where else "",
             paint(f.message, True, fg=SEVERITY_COLOURS[f.severity.value]),
             f" [{f.object}]" if f.object else "", paint(f" ({f.rule})", True, dim=True)]
    if f.hint:
        parts.append("\n" + paint(f"    hint: {f.hint}", True, fg="cyan"))
    return "".join(parts)


def format_text(findings: Iterable[Finding], colour: bool = False) -> str:
    items = shown(findings)
    if not items:
        return ""
    lines = [_coloured(f) if colour else f.text() for f in items]
    return "\n".join(lines) + f"\n{summary(items)}\n"


def dump_json(data: Any) -> str:
    """JSON keeps the data as it is, but never a character a reader could take for a line break
    (json.dumps escapes C0 controls itself; U+0085, U+2028 and U+2029 it leaves raw)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def format_json(findings: Iterable[Finding], prerequisites: list[str] | None = None) -> str:
    """{"findings": [...]}, and `check`'s prerequisite lines when given."""
    items = [f.as_dict() for f in sorted_findings(findings)]
    out: dict[str, Any] = {"findings": items}
    if prerequisites is not None:
        out["prerequisites"] = list(prerequisites)
    return dump_json(out)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Iterable[Finding]) -> str:
    """GitHub Actions workflow commands, so findings show inline in the pull request."""
    lines = []
    for f in shown(findings, keep_breaks=True):  # LF and CR become %0A and %0D below
        props = []
        if f.file:
            props.append(f"file={_escape_property(f.file)}")
            if f.line:
                props += [f"line={f.line}", f"col={f.col}"]
        props.append(f"title={_escape_property(f.rule)}")
        message = f.message + (f" [{f.object}]" if f.object else "") + (f"\n{f.hint}" if f.hint else "")
        lines.append(f"::{f.severity.value} {','.join(props)}::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


def format_grouped(findings: Iterable[Finding], colour: bool = False) -> str:
    """Text for people: findings grouped under their file, then a summary line."""
    items = shown(findings)
    lines: list[str] = []
    current = None
    for f in items:
        if f.file != current:
            current = f.file
            lines.append(paint(f"{f.file or '(repository)'}", colour, bold=True, underline=True))
        where = f"{f.line}:{f.col}" if f.line else "-"
        obj = f" [{f.object}]" if f.object else ""
        severity = paint(f"{f.severity.value:<7}", colour, fg=SEVERITY_COLOURS[f.severity.value])
        lines.append(f"  {where:>7}  {severity}  {f.message}{obj}{paint(f' ({f.rule})', colour, dim=True)}")
        if f.hint:
            lines.append(f"{'':20}" + paint(f"hint: {f.hint}", colour, fg="cyan"))
    return "".join(line + "\n" for line in lines)


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def format_sarif(findings: Iterable[Finding]) -> str:
    """SARIF 2.1.0 for GitHub code scanning: a driver with its rules, results with physical locations."""
    from mlgitops import __version__
    from mlgitops.report.rules import describe

    items = shown(findings)
    rule_ids = sorted({f.rule for f in items})
    index = {r: i for i, r in enumerate(rule_ids)}
    rules = [{"id": r, "name": r, "shortDescription": {"text": describe(r)}} for r in rule_ids]
    results = []
    for f in items:
        text = f.message + (f" [{f.object}]" if f.object else "") + (f" Hint: {f.hint}" if f.hint else "")
        region = {"startLine": max(f.line, 1), "startColumn": max(f.col, 1)}
        results.append({
            "ruleId": f.rule, "ruleIndex": index[f.rule],
            "level": "error" if f.severity is Severity.ERROR else "warning",
            "message": {"text": text},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.file or "mlgitops.yaml"},
                                                "region": region}}],
        })
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "mlgitops", "version": __version__, "rules": rules}},
        "results": results}]}
    return dump_json(log)


FORMATS: dict[str, Callable[[Iterable[Finding]], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
    "sarif": format_sarif,
}


# --- JUnit XML (added for `mlgitops validate`; `check` can use format_junit as it is) ---------------


@dataclass(frozen=True)
class JUnitCase:
    """One <testcase>: passed, failed (failure set) or skipped, inside the <testsuite> named suite."""

    suite: str
    name: str
    failure: str = ""  # the failure message; empty when the case passed or was skipped
    failure_type: str = ""  # e.g. the rule id
    detail: str = ""  # the <failure> body
    skipped: bool = False


def _xml(text: str) -> str:
    """Attribute and element text XML 1.0 can hold: control characters written as visible escapes."""
    return printable(text)


def _xml_body(text: str) -> str:
    """Like _xml, but the line breaks of a multi-line body (a finding and its hint) are kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


def junit_xml(cases: Iterable[JUnitCase], name: str = "mlgitops") -> str:
    """A JUnit XML report: one <testsuite> per suite (sorted), cases in the order given."""
    # imported here: xml.sax.saxutils imports urllib.request, http and ssl (~0.05 s for every command)
    from xml.sax.saxutils import escape as xml_escape
    from xml.sax.saxutils import quoteattr

    suites: dict[str, list[JUnitCase]] = {}
    for case in cases:
        suites.setdefault(case.suite, []).append(case)
    every = [c for s in suites.values() for c in s]
    failures, skipped = sum(bool(c.failure) for c in every), sum(c.skipped for c in every)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             (f'<testsuites name={quoteattr(name)} tests="{len(every)}" failures="{failures}" errors="0" '
              f'skipped="{skipped}">')]
    for suite in sorted(suites):
        members = suites[suite]
        lines.append(f'  <testsuite name={quoteattr(_xml(suite))} tests="{len(members)}" '
                     f'failures="{sum(bool(c.failure) for c in members)}" errors="0" '
                     f'skipped="{sum(c.skipped for c in members)}">')
        for c in members:
            head = f'    <testcase name={quoteattr(_xml(c.name))} classname={quoteattr(_xml(suite))}'
            if c.failure:
                failure = (f"      <failure message={quoteattr(_xml(c.failure))} "
                           f"type={quoteattr(_xml(c.failure_type))}>{xml_escape(_xml_body(c.detail))}</failure>")
                lines += [head + ">", failure, "    </testcase>"]
            elif c.skipped:
                lines += [head + ">", "      <skipped/>", "    </testcase>"]
            else:
                lines.append(head + "/>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def format_junit(findings: Iterable[Finding]) -> str:
    """Findings as JUnit: a suite per file, a failed case per finding (for CI systems other than GitHub)."""
    return junit_xml(JUnitCase(f.file or "(no file)", f"{f.rule} {f.location() or f.object}".strip(),
                               f.message + (f" [{f.object}]" if f.object else ""), f.rule, f.text())
                     for f in shown(findings))


FORMATS["junit"] = format_junit
