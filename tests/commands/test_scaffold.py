"""`mlgitops init` and `mlgitops new`: starter files that validate as written."""

from __future__ import annotations

import pytest
from conftest import run_cli
from mlgitops.check import pipeline as check


def test_init_then_new_then_generate_then_check(tmp_path, capsys):
    repo = tmp_path / "ml"
    assert run_cli(capsys, "init", str(repo)).code == 0
    assert (repo / "mlgitops.yaml").exists() and (repo / "schemas/model.schema.json").exists()
    result = run_cli(capsys, "new", "sentiment", "--image", "r.example.com/nlp/sentiment:0.3.0", "--repo", str(repo))
    assert result.code == 0, result.err
    text = (repo / "models/sentiment.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/model.schema.json\n")
    assert 'version: "0.3.0"' in text
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert (repo / "overlays/prod/sentiment/kustomization.yaml").exists()
    result = check.run(check.Options(repo, use_cache=False))
    assert [f.text() for f in result.findings] == []


def test_new_gpu_model_requests_a_gpu(repo, capsys):
    assert run_cli(capsys, "new", "detector", "--image", "r.example.com/d:1.0.0", "--gpu", "2",
                   "--repo", str(repo)).code == 0
    assert "gpu: 2" in (repo / "models/detector.yaml").read_text()
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert "nvidia.com/gpu: \"2\"" in (repo / "base/detector/deployment.yaml").read_text()


def test_new_refuses_a_bad_name_or_an_existing_spec(repo, capsys):
    bad = run_cli(capsys, "new", "Bad_Name", "--image", "x:1", "--repo", str(repo))
    assert bad.code == 2 and "not a valid model name" in bad.err
    digit = run_cli(capsys, "new", "3d-trainer", "--image", "x:1", "--repo", str(repo))  # its Service would be refused
    assert digit.code == 2 and "DNS-1035 label" in digit.err and not (repo / "models/3d-trainer.yaml").exists()
    again = run_cli(capsys, "new", "house-prices", "--image", "x:1", "--repo", str(repo))
    assert again.code == 2 and "already exists" in again.err


def test_init_keeps_existing_files(tmp_path, capsys):
    (tmp_path / "mlgitops.yaml").write_text("mine\n")
    assert run_cli(capsys, "init", str(tmp_path)).code == 0
    assert (tmp_path / "mlgitops.yaml").read_text() == "mine\n"


def test_init_ignores_the_cache_and_lock_and_keeps_a_persons_gitignore(tmp_path, capsys):
    (tmp_path / ".gitignore").write_text("*.pyc\n")
    assert run_cli(capsys, "init", str(tmp_path)).code == 0
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n.mlgitops-cache/\n.mlgitops.lock\n"
    assert run_cli(capsys, "init", str(tmp_path)).code == 0
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n.mlgitops-cache/\n.mlgitops.lock\n"


def test_init_starts_a_whole_repository_that_checks_at_once(tmp_path, capsys):
    repo = tmp_path / "team"
    result = run_cli(capsys, "init", str(repo), "--engine", "both", "--repo-url", "https://git.example.com/ml/m.git")
    assert result.code == 0, result.err
    for rel in (".github/workflows/mlgitops.yml", ".pre-commit-config.yaml", "README.md", ".gitignore",
                "models/example.yaml", "base/example/deployment.yaml", "overlays/prod/example/kustomization.yaml",
                "clusters/prod/flux/prod/example.yaml", "clusters/prod/argocd/applicationset-prod.yaml"):
        assert (repo / rel).is_file(), rel
    config = (repo / "mlgitops.yaml").read_text()
    assert 'url: "https://git.example.com/ml/m.git"' in config and "engine: both" in config
    assert run_cli(capsys, "generate", "--check", "--repo", str(repo)).code == 0
    checked = check.run(check.Options(repo, use_cache=False))
    assert [f.text() for f in checked.findings] == []


def test_init_for_argocd_needs_the_repository_url_and_writes_nothing(tmp_path, capsys):
    result = run_cli(capsys, "init", str(tmp_path / "x"), "--engine", "argocd")
    assert result.code == 2 and "--repo-url" in result.err
    assert not (tmp_path / "x").exists()  # refused before anything was created


def test_init_refuses_a_url_flux_cannot_clone_and_says_how_to_write_it(tmp_path, capsys):
    result = run_cli(capsys, "init", str(tmp_path / "x"), "--repo-url", "git@github.com:acme/x.git")
    assert result.code == 2 and "write it as ssh://git@github.com/acme/x.git" in result.err
    assert not (tmp_path / "x").exists()


def test_init_flux_without_url_uses_the_bootstrap_source(tmp_path, capsys):
    assert run_cli(capsys, "init", str(tmp_path)).code == 0
    assert "# url:" in (tmp_path / "mlgitops.yaml").read_text()
    assert not (tmp_path / "clusters/prod/flux/gitrepository.yaml").exists()
    assert "name: flux-system" in (tmp_path / "clusters/prod/flux/prod/example.yaml").read_text()


@pytest.mark.parametrize("url", ["https://git.example.com/ml/m.git\n  branch: evil", "https://x\x1b[31m",
                                 "https://x # y", ""], ids=["newline", "escape", "space", "empty"])
def test_init_refuses_a_repository_url_that_is_not_one_and_writes_nothing(tmp_path, capsys, url):
    # it was written unquoted into mlgitops.yaml: a newline injected keys, an escape left a config init
    # could not read back, with half a repository written
    result = run_cli(capsys, "init", str(tmp_path / "x"), "--engine", "argocd", "--repo-url", url)
    assert result.code == 2, result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) <= 2
    assert not (tmp_path / "x").exists()


def test_init_quotes_the_url_so_yaml_reads_it_back_as_written(tmp_path, capsys):
    url = "ssh://git@git.example.com:2222/ml/m.git#main"
    assert run_cli(capsys, "init", str(tmp_path), "--engine", "argocd", "--repo-url", url).code == 0
    import yaml

    assert yaml.safe_load((tmp_path / "mlgitops.yaml").read_text())["git"]["url"] == url


@pytest.mark.parametrize("name,team,image", [("x", "ml", "r.example.com/x:1.0.0"),
                                             ("sentiment-analysis-en", "nlp-research", "r.example.com/s:10.20.30")],
                         ids=["short", "long"])
def test_the_starter_specs_comments_line_up_whatever_the_name(name, team, image):
    # they were written after the name, team, version and gpu at whatever column the value ended
    from mlgitops.commands import scaffold
    from mlgitops.spec.config import parse_config

    config, _ = parse_config("mlgitops.yaml", b"apiVersion: mlgitops.io/v1alpha1\nkind: Config\n"
                             b"environments: [{name: dev, namespace: d}, {name: prod, namespace: p}]\n")
    text = scaffold.model_text(name, image, 0, team, config)
    valued = [line for line in text.splitlines() if not line.lstrip().startswith("#") and " # " in line]
    assert len(valued) > 8
    assert {line.index(" # ") for line in valued if "{" not in line} == {32}, text
    assert "DNS-1035 label" in text
