"""What a `check` run found, and its closing line: light (no stage below report imported), so a run whose
result is kept whole (check/memo.py) prints it without importing the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlgitops.report import formats as report
from mlgitops.report.findings import Finding, printable


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    models: int = 0
    overlays: int = 0
    resources: int = 0
    cache_hits: int = 0
    exceptions: list[tuple[str, str, str, str]] = field(default_factory=list)  # (spec, env, rule, reason)
    notes: list[str] = field(default_factory=list)  # warnings about the run itself (the cache), not findings
    tool: list[str] = field(default_factory=list)  # with verbose: the kustomize used, its program and version
    uncached: list[str] = field(default_factory=list)  # units whose build may read what no key holds, and what
    prerequisites: list[str] = field(default_factory=list)  # per namespace: Secrets and operators it needs
    needs: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)  # namespace -> (secrets, operators)
    budgets: list[str] = field(default_factory=list)  # the GPU-hour bound of each training run and sweep


def summary_line(result: Result) -> str:
    """The closing line of `check`, after one line per policy exception a spec grants."""
    lines = [f"policy exception: {spec}: {env}: {rule} ({reason})"
             for spec, env, rule, reason in sorted(set(result.exceptions))]
    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'s' * (n != 1)}"

    lines.append(f"{count(result.models, 'model')}, {count(result.overlays, 'overlay')}, "
                 f"{count(result.resources, 'resource')}: {report.summary(result.findings)}")
    return "\n".join(printable(line) for line in lines)
