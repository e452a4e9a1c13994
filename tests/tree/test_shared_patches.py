"""spec.patches: written once, applied in every environment's overlay before the environment's own patches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import make_repo, run_cli

SPEC = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: m, team: t}
spec:
  model: {version: "1.0.0"}
  serving:
    image: r.example.com/m:1.0.0
    replicas: 2
    health: {readiness: /ready, liveness: /healthz}
  patches:
  - target: {kind: Service}
    merge: {spec: {sessionAffinity: ClientIP}}
  environments:
    prod:
      patches:
      - target: {kind: Service}
        merge: {spec: {sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}}}
"""


def generate(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str) -> tuple[Path, int, str]:
    repo = make_repo(tmp_path / "repo", models=[])
    (repo / "models/m.yaml").write_text(spec)
    result = run_cli(capsys, "generate", "--repo", str(repo))
    return repo, result.code, result.out + result.err


def kustomization(repo: Path, env: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((repo / f"overlays/{env}/m/kustomization.yaml").read_text())
    return data


def test_a_patch_for_every_environment_reaches_each_overlay_first(tmp_path, capsys):
    repo, code, out = generate(tmp_path, capsys, SPEC)
    assert code == 0, out
    for env in ("dev", "staging", "prod"):
        patches = [p for p in kustomization(repo, env)["patches"] if p["path"].startswith("user-patch-")]
        assert patches[0] == {"path": "user-patch-1.yaml", "target": {"kind": "Service", "name": "m"}}
        body = yaml.safe_load((repo / f"overlays/{env}/m/user-patch-1.yaml").read_text())
        assert body["spec"] == {"sessionAffinity": "ClientIP"}
    prod = [p["path"] for p in kustomization(repo, "prod")["patches"] if p["path"].startswith("user-patch-")]
    assert prod == ["user-patch-1.yaml", "user-patch-2.yaml"]
    assert "sessionAffinity" not in (repo / "base/m/service.yaml").read_text()


def test_a_patch_for_every_environment_with_a_wrong_target_is_found_where_it_is_written(tmp_path, capsys):
    spec = SPEC.replace("  - target: {kind: Service}\n    merge", "  - target: {kind: Servce}\n    merge")
    _, code, out = generate(tmp_path, capsys, spec)
    assert code == 1
    assert "models/m.yaml:11:13: patch targets Servce/m, which this environment does not generate" in out
