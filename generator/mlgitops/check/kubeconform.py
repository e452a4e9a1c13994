"""`check --validator kubeconform`: the kubeconform binary instead of the built-in validator.

For teams that already trust kubeconform: the same offline schemas (`mlgitops schemas export`
layout), run with -strict on every built overlay in one kubeconform process. When kubeconform is not
on PATH, that is an environment error: there is no silent fall-back to the built-in validator.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from mlgitops.check.kubecheck import Problem
from mlgitops.kube import schemaexport
from mlgitops.report.findings import FatalError
from mlgitops.tree.cache import file_identity
from mlgitops.tree.yamlemit import dumps_all

TEMPLATE = "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
RULES = {"invalid": "k8s-schema", "error": "k8s-no-schema"}


def _status(text: str) -> str:
    text = text.lower().removeprefix("status")
    return text if text in ("valid", "invalid", "error", "skipped", "empty") else "error"


class KubeconformCheck:
    def __init__(self, kubernetes_version: str, skip_kinds: tuple[str, ...] = (), binary: str | None = None):
        found = binary or shutil.which("kubeconform")
        if not found:
            raise FatalError("kubeconform is not on PATH",
                             "install kubeconform (github.com/yannh/kubeconform), or drop --validator kubeconform "
                             "to use the built-in validator")
        self.binary: str = found
        self.version = kubernetes_version
        self.skip = skip_kinds

    def identity(self) -> str:
        return f"kubeconform {file_identity(self.binary)} {self.version} skip={sorted(self.skip)}"

    def check_many(self, batches: list[list[dict]]) -> list[list[Problem]]:
        results: list[list[Problem]] = [[] for _ in batches]
        with tempfile.TemporaryDirectory(prefix="mlgitops-kubeconform-") as folder:
            schemas = Path(folder, "schemas")
            schemaexport.export(str(schemas), self.version, True)
            files = Path(folder, "manifests")
            files.mkdir()
            for i, objects in enumerate(batches):
                if objects:
                    (files / f"{i}.yaml").write_text(dumps_all(objects), encoding="utf-8")
            argv = [self.binary, "-strict", "-output", "json", "-kubernetes-version", self.version,
                    "-schema-location", f"{schemas}/{TEMPLATE}"]
            if self.skip:
                argv += ["-skip", ",".join(self.skip)]
            report = _run(argv, files)
        for resource in report.get("resources") or []:
            status = _status(str(resource.get("status", "")))
            if status not in ("invalid", "error"):
                continue
            index = int(Path(resource.get("filename", "0.yaml")).stem)
            errors = resource.get("validationErrors") or [{"path": "", "msg": resource.get("msg", status)}]
            for e in errors:
                results[index].append(Problem(resource.get("kind", ""), resource.get("name", ""),
                                              e.get("path", ""), RULES[status], e.get("msg", "")))
        return results


def _run(argv: list[str], files: Path) -> dict:
    """kubeconform's JSON report on the manifests in files."""
    proc = subprocess.run([*argv, str(files)], check=False, capture_output=True, text=True)
    try:
        return json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        raise FatalError(f"kubeconform printed no JSON (exit {proc.returncode}): "
                         f"{(proc.stderr or proc.stdout).strip()[:300]}") from None
