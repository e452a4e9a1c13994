"""`mlgitops status`: every model x environment, from the repository alone."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import run_cli


def _status(capsys, repo, fmt="json"):
    result = run_cli(capsys, "status", "--repo", str(repo), "--format", fmt)
    assert result.code == 0, result.err
    return result.out


def test_json_has_a_row_per_model_and_environment(generated, capsys):
    data = json.loads(_status(capsys, generated))
    rows = {(r["model"], r["environment"]): r for r in data["models"]}
    assert len(rows) == 9
    prod = rows[("image-classifier", "prod")]
    assert (prod["version"], prod["pods"], prod["max_pods"], prod["gpus"], prod["drift"]) == ("2.1.0", "3-16", 16, 16,
                                                                                                False)
    assert rows[("fraud-detector", "prod")]["image_short"] == "fraud-detector@4f2a7c1e9b8d"
    assert rows[("fraud-detector", "prod")]["image"].startswith("registry.example.com/risk/fraud-detector@sha256:4f2a")
    assert data["gpus"] == {"dev": 4, "staging": 8, "prod": 16}  # dev: 1 serving + 2 sweep trials at once + the nightly run


def test_drift_shows_for_the_environments_whose_files_differ(generated, capsys):
    patch = generated / "overlays/dev/house-prices/deployment-patch.yaml"
    patch.write_text(patch.read_text().replace("replicas: 1", "replicas: 5"))
    rows = json.loads(_status(capsys, generated))["models"]
    assert {(r["model"], r["environment"]) for r in rows if r["drift"]} == {("house-prices", "dev")}
    spec = generated / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("replicas: 2", "replicas: 3", 1))  # the base: every environment
    rows = json.loads(_status(capsys, generated))["models"]
    assert {r["environment"] for r in rows if r["drift"] and r["model"] == "house-prices"} == {"dev", "staging",
                                                                                               "prod"}
    assert "differs from specs" in _status(capsys, generated, "table")


def _git(repo, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.mark.slow
def test_a_version_the_previous_environment_never_ran_is_flagged_using_history(generated, capsys):
    spec = generated / "models/house-prices.yaml"
    text = spec.read_text()
    assert "prod:" in text and 'version: "1.4.0"' in text
    _git(generated, "init", "-q")
    _git(generated, "add", "-A")
    _git(generated, "commit", "-qm", "1.4.0 everywhere")
    assert json.loads(_status(capsys, generated))["models"][5]["flags"] == []
    # staging moves on to 1.5.0 while prod stays on 1.4.0, which staging ran before: no flag
    assert run_cli(capsys, "set", "house-prices", "model.version=1.5.0", "--repo", str(generated)).code == 0
    assert run_cli(capsys, "set", "house-prices", "model.version=1.4.0", "--env", "prod", "--repo", str(generated)).code == 0
    _git(generated, "commit", "-qam", "1.5.0")
    rows = {(r["model"], r["environment"]): r for r in json.loads(_status(capsys, generated))["models"]}
    assert rows[("house-prices", "prod")]["flags"] == []
    # prod jumps to a version staging never had
    assert run_cli(capsys, "set", "house-prices", "model.version=1.6.0", "--env", "prod", "--repo", str(generated)).code == 0
    rows = {(r["model"], r["environment"]): r for r in json.loads(_status(capsys, generated))["models"]}
    assert rows[("house-prices", "prod")]["flags"] == ["prod runs 1.6.0, which staging never ran"]
    assert "| house-prices | prod | 1.6.0 |" in _status(capsys, generated, "markdown")


def test_without_specs_status_names_the_folder_instead_of_an_empty_table(generated, capsys):
    import shutil

    shutil.rmtree(generated / "models")
    missing = run_cli(capsys, "status", "--repo", str(generated))
    assert missing.code == 2 and missing.out == ""
    assert "models/ does not exist" in missing.err and str(generated / "models") in missing.err
    (generated / "models").write_text("not a folder")
    assert "models is not a folder" in run_cli(capsys, "status", "--repo", str(generated)).err
    (generated / "models").unlink()
    (generated / "models").mkdir()
    empty = run_cli(capsys, "status", "--repo", str(generated))
    assert empty.code == 2 and "models/ holds no specs" in empty.err


def test_a_prod_canary_of_a_version_staging_never_ran_is_flagged(generated, capsys):
    """A canary is prod running that version for real users: staging should have run it first (its canary counts)."""
    config = generated / "mlgitops.yaml"
    config.write_text(config.read_text().replace("prometheusOperator: true\n",
                                                 "prometheusOperator: true\ngateway: {name: public, namespace: gw}\n"))
    canary = 'serving.canary={version: "3.3.0", image: "registry.example.com/risk/fraud-detector:3.3.0", weight: 10}'
    assert run_cli(capsys, "set", "fraud-detector", canary, "--env", "prod", "--repo", str(generated)).code == 0
    rows = {(r["model"], r["environment"]): r for r in json.loads(_status(capsys, generated))["models"]}
    assert "the prod canary runs 3.3.0, which staging never ran" in rows[("fraud-detector", "prod")]["flags"]
    assert run_cli(capsys, "set", "fraud-detector", canary, "--env", "staging", "--repo", str(generated)).code == 0
    rows = {(r["model"], r["environment"]): r for r in json.loads(_status(capsys, generated))["models"]}
    assert not [f for f in rows[("fraud-detector", "prod")]["flags"] if "canary" in f]


def test_lineage_shows_the_weights_each_environment_and_canary_loads_and_whether_they_are_pinned(generated, capsys):
    """Issue 17: per model x environment (and canary) the version, the resolved weights and their pinning."""
    canary = ('serving.canary={version: "3.3.0", image: "registry.example.com/risk/fraud-detector:3.3.0", '
              "weight: 10}")
    assert run_cli(capsys, "set", "fraud-detector", canary, "--env", "staging", "--repo", str(generated)).code == 0
    spec = generated / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("    immutable: true", "    immutable: false"))
    rows = {(r["model"], r["environment"]): r for r in json.loads(_status(capsys, generated))["models"]}
    staging = rows[("fraud-detector", "staging")]
    assert (staging["version"], staging["weights"], staging["weights_pinned"]) == (
        "3.2.0", "s3://models/fraud-detector/3.2.0/model.json", "immutable")
    assert (staging["canary_version"], staging["canary_weights"], staging["canary_weights_pinned"]) == (
        "3.3.0", "s3://models/fraud-detector/3.3.0/model.json", "immutable")
    assert (rows[("house-prices", "prod")]["weights_pinned"], rows[("house-prices", "prod")]["canary_weights"]) == ("", "")
    table = _status(capsys, generated, "table")
    assert "3.3.0 (10%) …/3.3.0/model.json (immutable)" in table
    assert "…/1.4.0/linear_regression_model.pkl (mutable)" in table


def test_json_status_of_an_invalid_spec_is_json_with_its_findings(generated, capsys):
    # stdout was empty (the findings went to stderr as text): a JSON reader had nothing to parse
    spec = generated / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("replicas: 2", "replcas: 2", 1))
    result = run_cli(capsys, "status", "--format", "json", "--repo", str(generated))
    assert result.code == 1
    findings = json.loads(result.out)["findings"]
    assert [(f["file"], f["rule"], f["message"]) for f in findings] == [
        ("models/house-prices.yaml", "unknown-field", "unknown field 'replcas'")]
