"""Verdicts on Kubernetes resources, in kubeconform's vocabulary, and the findings they make.

Plain data shared by the validator (kube/) that produces them and the formats (report/) that print them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from mlgitops.report.findings import Finding, Position, Severity


class Verdict(str, Enum):
    VALID = "valid"
    INVALID = "invalid"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a resource; path is a JSON pointer into it ("" for the whole resource)."""

    message: str
    path: str = ""
    line: int = 0  # 1-based position in the source, 0 when unknown
    col: int = 0


@dataclass(frozen=True)
class Result:
    source: str
    document: int  # 0-based index of the YAML document in its stream
    line: int  # 1-based line where the document starts (0 when unknown)
    verdict: Verdict
    kind: str = ""
    api_version: str = ""
    name: str = ""
    namespace: str = ""
    rule: str = ""  # rule id of a non-valid verdict, e.g. "k8s-schema"
    problems: tuple[Problem, ...] = ()
    item: int | None = None  # index in the `items` of a List

    @property
    def object(self) -> str:
        return f"{self.kind}/{self.name}" if self.kind else ""

    @classmethod
    def valid(cls, source: str, document: int, line: int, kind: str, api_version: str, name: str, namespace: str,
              item: int | None = None) -> Result:
        """Result(source, document, line, Verdict.VALID, kind, api_version, name, namespace, item=item), made
        with one dict rather than a frozen dataclass's eleven guarded setattr calls (half the cost): one is
        made for every valid resource, the common case (tests/kube/test_validator.py holds the two equal)."""
        result = object.__new__(cls)
        object.__setattr__(result, "__dict__", {
            "source": source, "document": document, "line": line, "verdict": Verdict.VALID, "kind": kind,
            "api_version": api_version, "name": name, "namespace": namespace, "rule": "", "problems": (),
            "item": item})
        return result


HINTS = {
    "k8s-no-schema": "skip the kind (--skip KIND), pass --ignore-missing-schemas, or give its schema: "
                     "--schema-location, or in the repository schemas/crds/<group>/<kind>_<version>.json",
    "k8s-duplicate-key": "remove one of them: YAML parsers disagree on which one wins",
    "build": "fix the kustomization; a remote base is never fetched: build it where it can be and validate the "
             "output (kubectl kustomize DIR | mlgitops validate -)",
    "k8s-missing-kind": "every Kubernetes object needs 'apiVersion' and 'kind'",
    "k8s-missing-apiversion": "every Kubernetes object needs 'apiVersion' and 'kind'",
    "schema-file": "copy the schema into schemas/crds/ as a regular file, or remove this entry",
}


def to_findings(results: Iterable[Result]) -> list[Finding]:
    """One Finding per problem of every invalid or error result (valid ones say nothing; a skipped one
    only when it says why, as a warning: a FIFO found in a folder)."""
    findings = []
    for r in results:
        if r.verdict is Verdict.VALID or (r.verdict is Verdict.SKIPPED and not r.problems):
            continue
        severity = Severity.WARNING if r.verdict is Verdict.SKIPPED else Severity.ERROR
        for p in r.problems:
            message = f"{p.path}: {p.message}" if p.path else p.message
            where = Position(p.line, p.col) if p.line else Position(r.line, 1 if r.line else 0)
            findings.append(Finding(r.rule, message, r.source, where, HINTS.get(r.rule, ""), severity,
                                    object=r.object))
    return findings
