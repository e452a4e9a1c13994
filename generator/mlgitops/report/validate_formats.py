"""Validation results to text: one pure function per `mlgitops validate --format`, from a registry.

text and github print the non-valid resources as Findings (report.py's machinery) plus a summary;
json lists every resource with its verdict; junit makes each resource a test case (a suite per file).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from mlgitops.report import formats as report
from mlgitops.report.findings import shown
from mlgitops.report.verdicts import Result, Verdict, to_findings


def summary(results: list[Result], files: int) -> dict[str, int]:
    counts = Counter(r.verdict for r in results)
    return {"resources": len(results), "files": files, **{v.value: counts[v] for v in Verdict}}


def summary_line(results: list[Result], files: int) -> str:
    s = summary(results, files)

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'s' * (n != 1)}"

    return (f"Summary: {plural(s['resources'], 'resource')} in {plural(files, 'file')}: {s['valid']} valid, "
            f"{s['invalid']} invalid, {plural(s['error'], 'error')}, {s['skipped']} skipped")


def format_text(results: list[Result], files: int) -> str:
    lines = [f.text() for f in shown(to_findings(results))]
    return "".join(line + "\n" for line in lines) + summary_line(results, files) + "\n"


def _resource(r: Result) -> dict[str, Any]:
    return {"file": r.source, "document": r.document, "item": r.item, "line": r.line,
            "apiVersion": r.api_version, "kind": r.kind, "name": r.name, "namespace": r.namespace,
            "verdict": r.verdict.value, "rule": r.rule,
            "messages": [{"path": p.path, "line": p.line, "col": p.col, "message": p.message} for p in r.problems]}


def format_json(results: list[Result], files: int) -> str:
    data = {"resources": [_resource(r) for r in results], "summary": summary(results, files)}
    return report.dump_json(data)


def format_github(results: list[Result], files: int) -> str:
    return report.format_github(to_findings(results))


def format_sarif(results: list[Result], files: int) -> str:
    return report.format_sarif(to_findings(results))


def _case(r: Result) -> report.JUnitCase:
    name = f"{r.object or '(unknown kind)'} (document {r.document}" + \
        (f", item {r.item})" if r.item is not None else ")")
    problems = [f"{p.path}: {p.message}" if p.path else p.message for p in r.problems]
    failed = r.verdict in (Verdict.INVALID, Verdict.ERROR)
    failure = (f"{r.verdict.value}: {problems[0]}" if problems else r.verdict.value) if failed else ""
    return report.JUnitCase(r.source, name, failure, r.rule, "\n".join(problems),
                            skipped=r.verdict is Verdict.SKIPPED)


def format_junit(results: list[Result], files: int) -> str:
    return report.junit_xml((_case(r) for r in results), name="mlgitops validate")


FORMATS: dict[str, Callable[[list[Result], int], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
    "junit": format_junit,
    "sarif": format_sarif,
}
