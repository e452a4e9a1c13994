"""check validates clusters/ strictly and catches sync objects that point at nothing."""

from __future__ import annotations

import pytest
from conftest import run_cli


def _both(repo) -> None:
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("prometheusOperator: true\n", "prometheusOperator: true\nsync: {engine: both}\n"))


def test_both_engines_pass_check_against_the_upstream_crds(repo, capsys):
    _both(repo)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache")
    assert result.code == 0, result.out + result.err


def test_a_folder_nobody_generated_would_become_an_application(repo, capsys):
    _both(repo)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    stray = repo / "overlays/prod/experiment"
    stray.mkdir()
    (stray / "deployment.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\n")
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache", "--format", "github")
    assert result.code == 1
    assert "ApplicationSet mlgitops-prod would make an Application for overlays/prod/experiment" in result.out


def test_a_hand_broken_sync_object_is_a_schema_error_and_drift(generated, capsys):
    path = generated / "clusters/prod/flux/prod/house-prices.yaml"
    path.write_text(path.read_text().replace("prune: true", "prune: yes-please"))
    result = run_cli(capsys, "check", "--repo", str(generated), "--no-cache", "--format", "github")
    assert result.code == 1
    assert "clusters/prod/flux/prod/house-prices.yaml" in result.out


def test_a_name_too_long_for_a_label_value_is_reported_at_the_spec(repo, capsys):
    model = repo / "models/house-prices.yaml"
    long = "house-prices-" + "x" * 27  # 40 characters, the longest model name
    model.rename(repo / f"models/{long}.yaml")
    spec = repo / f"models/{long}.yaml"
    spec.write_text(spec.read_text().replace("name: house-prices", f"name: {long}"))
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("- name: staging\n", "- name: staging-and-integration-tests\n"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache", "--format", "github")
    assert result.code == 1
    assert f"file=models/{long}.yaml,line=" in result.out and "label values hold at most 63" in result.out


def test_the_cached_sync_check_sees_a_new_stray_folder(repo, capsys):
    _both(repo)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert run_cli(capsys, "check", "--repo", str(repo)).code == 0  # fills the cache
    stray = repo / "overlays/dev/experiment"
    stray.mkdir()
    (stray / "kustomization.yaml").write_text("resources: []\n")
    result = run_cli(capsys, "check", "--repo", str(repo), "--format", "github")
    assert result.code == 1 and "would make an Application for overlays/dev/experiment" in result.out


BOOTSTRAP = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 10m
  path: {path}
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""


@pytest.mark.slow  # the fast loop keeps the other sync checks
def test_a_bootstrap_that_applies_both_engines_folders_of_a_cluster_is_a_finding(repo, capsys):
    """`flux bootstrap --path=clusters/prod` (instead of clusters/prod/flux) would make Flux apply the Argo CD
    ApplicationSets too: both engines would manage ml-prod's models and undo each other."""
    _both(repo)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    gotk = repo / "clusters/prod/flux-system/gotk-sync.yaml"
    gotk.parent.mkdir()
    gotk.write_text(BOOTSTRAP.replace("{path}", "./clusters/prod"))
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache", "--format", "github")
    assert result.code == 1
    line = next(x for x in result.out.splitlines() if "title=sync-object" in x)
    assert "file=clusters/prod/flux-system/gotk-sync.yaml" in line
    assert ("Kustomization flux-system applies clusters/prod, which holds both clusters/prod/argocd and "
            "clusters/prod/flux: both engines (argocd, flux) would manage") in line
    gotk.write_text(BOOTSTRAP.replace("{path}", "./clusters/prod/flux"))  # one engine's folder: fine
    assert run_cli(capsys, "check", "--repo", str(repo), "--no-cache").code == 0
