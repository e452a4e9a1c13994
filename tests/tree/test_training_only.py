"""A model that only trains: no serving objects anywhere, only its training folders and their sync objects; raw
patches routed to the kustomization that generates their target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import make_repo, run_cli

TRAINS = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: m, team: t}
spec:
  model: {version: "1.0.0"}
  training:
    environments: [dev, prod]
    image: r.example.com/m-train:1.0.0
    command: [python, train.py]
"""


def generate(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str,
             config: str = "") -> tuple[Path, int, str]:
    repo = make_repo(tmp_path / "repo", models=[])
    if config:
        with (repo / "mlgitops.yaml").open("a") as out:
            out.write(config)
    (repo / "models/m.yaml").write_text(spec)
    result = run_cli(capsys, "generate", "--repo", str(repo))
    return repo, result.code, result.out + result.err


def files(repo: Path) -> list[str]:
    return sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file() and "/m" in str(p.relative_to(repo))
                  and not str(p.relative_to(repo)).startswith("models/"))


def load(repo: Path, path: str) -> Any:
    return yaml.safe_load((repo / path).read_text())


def test_a_training_only_model_generates_its_training_folders_and_nothing_that_serves(tmp_path, capsys):
    repo, code, out = generate(tmp_path, capsys, TRAINS)
    assert code == 0, out
    assert files(repo) == [
        "clusters/dev/flux/dev/training/m.yaml",
        "clusters/prod/flux/prod/training/m.yaml",
        "overlays/dev/m/training/job.yaml",
        "overlays/dev/m/training/kustomization.yaml",
        "overlays/dev/m/training/networkpolicy.yaml",
        "overlays/prod/m/training/job.yaml",
        "overlays/prod/m/training/kustomization.yaml",
        "overlays/prod/m/training/networkpolicy.yaml",
    ]
    assert not (repo / "base/m").exists() and not (repo / "overlays/staging/m").exists()


def test_the_serving_defaults_of_mlgitops_yaml_do_not_make_a_training_only_model_serve(tmp_path, capsys):
    repo, code, out = generate(tmp_path, capsys, TRAINS, "defaults:\n  serving: {replicas: 2}\n")
    assert code == 0, out
    assert not (repo / "base/m").exists()


def test_argo_cd_excludes_a_training_only_folder_from_the_serving_application_set(tmp_path, capsys):
    repo, code, out = generate(tmp_path, capsys, TRAINS, "sync:\n  engine: argocd\n")
    assert code == 0, out
    directories = load(repo, "clusters/prod/argocd/applicationset-prod.yaml")["spec"]["generators"][0]["git"]["directories"]
    assert directories == [{"path": "overlays/prod/*"}, {"path": "overlays/prod/m", "exclude": True}]
    staging = load(repo, "clusters/staging/argocd/applicationset-staging.yaml")["spec"]["generators"][0]["git"]
    assert staging["directories"] == [{"path": "overlays/staging/*"}]  # nothing of m there to exclude


PATCHED = TRAINS + """\
  environments:
    prod:
      patches:
      - target: {kind: Job}
        merge: {spec: {template: {spec: {priorityClassName: batch-low}}}}
"""


def test_a_patch_of_a_training_object_lands_in_the_training_folder_by_kind(tmp_path, capsys):
    repo, code, out = generate(tmp_path, capsys, PATCHED)
    assert code == 0, out
    kustomization = load(repo, "overlays/prod/m/training/kustomization.yaml")
    assert kustomization["patches"] == [{"path": "user-patch-1.yaml", "target": {"kind": "Job"}}]
    body = load(repo, "overlays/prod/m/training/user-patch-1.yaml")
    assert body["spec"] == {"template": {"spec": {"priorityClassName": "batch-low"}}}
    assert "patches" not in load(repo, "overlays/dev/m/training/kustomization.yaml")


def test_a_training_patch_is_part_of_the_run_so_changing_it_names_a_new_run(tmp_path, capsys):
    def run_name(spec: str, where: Path) -> str:
        repo, code, out = generate(where, capsys, spec)
        assert code == 0, out
        return str(load(repo, "overlays/prod/m/training/job.yaml")["metadata"]["name"])

    plain = run_name(TRAINS, tmp_path / "a")
    patched = run_name(PATCHED, tmp_path / "b")
    other = run_name(PATCHED.replace("batch-low", "batch-high"), tmp_path / "c")
    assert len({plain, patched, other}) == 3


def test_a_patch_for_every_environment_on_a_training_object_applies_where_the_model_trains(tmp_path, capsys):
    spec = TRAINS + """\
  patches:
  - target: {kind: Job}
    merge: {spec: {template: {spec: {priorityClassName: batch-low}}}}
"""
    repo, code, out = generate(tmp_path, capsys, spec)
    assert code == 0, out  # staging does not train: the patch has nothing to do there, and that is no error
    for env in ("dev", "prod"):
        assert load(repo, f"overlays/{env}/m/training/kustomization.yaml")["patches"][0]["target"] == {"kind": "Job"}


def test_a_patch_whose_target_no_unit_generates_is_found_at_its_target(tmp_path, capsys):
    spec = PATCHED.replace("{kind: Job}", "{kind: CronJob}")
    _, code, out = generate(tmp_path, capsys, spec)
    assert code == 1
    assert "models/m.yaml:13:17: patch targets CronJob/m, which this environment does not generate" in out
    assert "objects in prod: Job/m-train-" in out


def test_a_serving_model_routes_each_patch_to_the_unit_that_generates_its_target(tmp_path, capsys):
    spec = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: m, team: t}
spec:
  model: {version: "1.0.0"}
  serving:
    image: r.example.com/m:1.0.0
    health: {readiness: /ready, liveness: /healthz}
  training:
    image: r.example.com/m-train:1.0.0
    command: [python, train.py]
    schedule: "0 3 * * *"
  environments:
    dev:
      patches:
      - target: {kind: Deployment}
        merge: {spec: {template: {spec: {priorityClassName: serving}}}}
      - target: {kind: CronJob, name: m-train}
        merge: {spec: {suspend: true}}
"""
    repo, code, out = generate(tmp_path, capsys, spec)
    assert code == 0, out
    serving = [p for p in load(repo, "overlays/dev/m/kustomization.yaml")["patches"] if "user-patch" in p["path"]]
    assert serving == [{"path": "user-patch-1.yaml", "target": {"kind": "Deployment", "name": "m"}}]
    training = load(repo, "overlays/dev/m/training/kustomization.yaml")["patches"]
    assert training == [{"path": "user-patch-2.yaml", "target": {"kind": "CronJob", "name": "m-train"}}]


def test_removing_serving_deletes_the_base_the_serving_overlays_and_their_sync_objects(tmp_path, capsys):
    serving = TRAINS.replace("  training:\n", "  serving: {image: r.example.com/m:1.0.0}\n  training:\n")
    repo, code, out = generate(tmp_path, capsys, serving)
    assert code == 0, out
    assert (repo / "base/m/deployment.yaml").exists() and (repo / "clusters/staging/flux/staging/m.yaml").exists()
    (repo / "models/m.yaml").write_text(TRAINS)
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 0, result.err
    assert files(repo) == [
        "clusters/dev/flux/dev/training/m.yaml",
        "clusters/prod/flux/prod/training/m.yaml",
        "overlays/dev/m/training/job.yaml",
        "overlays/dev/m/training/kustomization.yaml",
        "overlays/dev/m/training/networkpolicy.yaml",
        "overlays/prod/m/training/job.yaml",
        "overlays/prod/m/training/kustomization.yaml",
        "overlays/prod/m/training/networkpolicy.yaml",
    ]


def test_status_shows_a_training_only_model_in_the_environments_that_train(tmp_path, capsys):
    repo, code, out = generate(tmp_path, capsys, TRAINS)
    assert code == 0, out
    result = run_cli(capsys, "status", "--repo", str(repo), "--format", "json")
    assert result.code == 0, result.err
    rows = [(r["environment"], r["image"], r["pods"]) for r in json.loads(result.out)["models"]]
    assert rows == [("dev", "r.example.com/m-train:1.0.0", "-"), ("prod", "r.example.com/m-train:1.0.0", "-")]
