"""The built-in Kubernetes validator as `check` uses it: strict, offline, on kustomize's output."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube import validator
from mlgitops.report import verdicts


@dataclass(frozen=True)
class Problem:
    kind: str
    name: str
    pointer: str
    rule: str
    message: str


def libraries() -> str:
    """The validator's libraries and their versions: with the CRD schemas, the Kubernetes version and the kinds
    skipped (mlgitops.yaml's), what decides its verdicts."""
    return f"kubernetes-validate {metadata.version('kubernetes-validate')} yaml-rs {metadata.version('yaml-rs')}"


class KubeCheck:
    def __init__(self, kubernetes_version: str, skip_kinds: tuple[str, ...] = ()):
        self.options = validator.Options(kubernetes_version, strict=True, skip=frozenset(skip_kinds))
        self.schemas = kubeschemas.schema_set(kubernetes_version, True)

    def identity(self) -> str:
        """Everything about the schema set that can change a verdict, for cache keys."""
        return (f"{libraries()} {self.options.kubernetes_version} strict skip={sorted(self.options.skip)} "
                f"{kubeschemas.crd_fingerprint()}")

    def check_many(self, batches: list[list[dict]]) -> list[list[Problem]]:
        return [self.check(objects) for objects in batches]

    def check(self, objects: list[dict]) -> list[Problem]:
        out = []
        for result in validator.validate_objects(objects, self.options, schemas=self.schemas):
            if result.verdict in (verdicts.Verdict.VALID, verdicts.Verdict.SKIPPED):
                continue
            for p in result.problems or (verdicts.Problem("invalid"),):
                out.append(Problem(result.kind, result.name, p.path, result.rule, p.message))
        return out
