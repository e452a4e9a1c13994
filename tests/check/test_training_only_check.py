"""A training-only model through `check` and `diff`: its training folders built and checked strictly (a raw patch
on a training object included), what its namespace needs named, and removing `serving` shown as deletions."""

from __future__ import annotations

from pathlib import Path

import gitrepo
from conftest import make_repo, run_cli

SPEC = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: m, team: t}
spec:
  model: {version: "1.0.0"}
  training:                  # no serving, so no slo: check must not look for one
    environments: [dev, prod]
    image: r.example.com/m-train:1.0.0
    command: [python, train.py]
    serviceAccount: {name: m-trainer}
    podAnnotations: {cluster-autoscaler.kubernetes.io/safe-to-evict: "false"}
    schedule: "0 3 * * *"
  patches:
  - target: {kind: CronJob}
    jsonPatch: [{op: add, path: /spec/jobTemplate/spec/template/spec/priorityClassName, value: batch-low}]
"""

SERVES = SPEC.replace("  training:", "  serving: {image: r.example.com/m:1.0.0, replicas: 2, "
                      "health: {readiness: /ready, liveness: /healthz}}\n  training:", 1)


def repo_with(tmp_path: Path, spec: str) -> Path:
    repo = make_repo(tmp_path / "repo", models=[])
    (repo / "models/m.yaml").write_text(spec)
    return repo


def test_a_training_only_model_passes_a_strict_check_with_its_patch(tmp_path, capsys):
    repo = repo_with(tmp_path, SPEC)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo))
    assert result.code == 0, result.out
    assert result.out.endswith("1 model, 2 overlays, 4 resources: 0 errors, 0 warnings\n")  # no fidelity finding
    assert "ml-prod needs ServiceAccount m-trainer (not created here: its pods are refused without it)" in result.out


def test_an_apparmor_annotation_on_training_pods_is_refused_by_pod_security(tmp_path, capsys):
    spec = SPEC.replace("cluster-autoscaler.kubernetes.io/safe-to-evict: \"false\"",
                        "container.apparmor.security.beta.kubernetes.io/training: unconfined")
    repo = repo_with(tmp_path, spec)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo))
    assert result.code == 1
    assert "(pod-security)" in result.out and "AppArmor" in result.out


def test_removing_serving_is_shown_as_the_deletion_of_every_serving_object(tmp_path, capsys):
    repo = repo_with(tmp_path, SERVES)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    gitrepo.init(repo)
    gitrepo.commit(repo, "serving")
    (repo / "models/m.yaml").write_text(SPEC)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "diff", "--repo", str(repo), "--base", "HEAD")
    plan = [line for line in result.out.splitlines() if line.startswith("#") and " staging " in line]
    assert any("Deployment ml-staging/m" in line and line.endswith("deleted") for line in plan), result.out
    assert any("Kustomization flux-system/m-staging " in line and line.endswith("deleted") for line in plan)
    assert "overlays/staging/m disappears from cluster staging: Flux deletes its Kustomization" in result.err


def test_a_patch_that_breaks_the_training_build_is_found_at_the_patch(tmp_path, capsys):
    spec = SPEC.replace("/spec/jobTemplate/spec/template/spec/priorityClassName", "/spec/nothing/here")
    spec = spec.replace("op: add", "op: replace")
    repo = repo_with(tmp_path, spec)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo))
    assert result.code == 1
    assert "14:5  error    dev: a raw patch breaks the build of overlays/dev/m/training" in result.out


def test_with_argo_cd_the_excluded_folder_is_no_stray_application(tmp_path, capsys):
    repo = repo_with(tmp_path, SPEC)
    with (repo / "mlgitops.yaml").open("a") as config:
        config.write("sync:\n  engine: argocd\n")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo))
    assert result.code == 0, result.out
    assert "sync-object" not in result.out
