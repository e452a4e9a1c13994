"""Edits keep templates (issue 17): `set`, `promote`, `promote --canary` and canary start/stop never write a
literal a `{version}` template produced, so the weights a pod loads are the weights its version names."""

from __future__ import annotations

import yaml
from conftest import run_cli
from mlgitops.kube.kustomize import build


def _env(built: str, name: str) -> dict[str, str]:
    """Every value of the env variable name in the built Deployments, by Deployment name."""
    found = {}
    for obj in yaml.safe_load_all(built):
        if obj and obj["kind"] == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                for var in container.get("env", []):
                    if var["name"] == name:
                        found[obj["metadata"]["name"]] = var["value"]
    return found


def test_the_issue_17_sequence_serves_the_weights_its_version_names(generated, capsys):
    repo = str(generated)
    steps = [
        ("set", "fraud-detector", 'model.version="3.3.0"', "serving.image=registry.example.com/risk/fraud-detector:3.3.0",
         "--env", "staging"),
        ("promote", "fraud-detector", "--from", "staging", "--to", "prod"),
        ("set", "fraud-detector", ('serving.canary={version: "3.4.0", image: "registry.example.com/risk/fraud-detector:3.4.0",'
         " weight: 10}"), "--env", "prod"),
    ]
    for step in steps:
        result = run_cli(capsys, *step, "--repo", repo)
        assert result.code == 0, result.err
    canary = build(generated / "overlays/prod/fraud-detector")
    assert _env(canary, "MODEL_URI") == {"fraud-detector": "s3://models/fraud-detector/3.3.0/model.json",
                                         "fraud-detector-canary": "s3://models/fraud-detector/3.4.0/model.json"}
    result = run_cli(capsys, "promote", "fraud-detector", "--canary", "--env", "prod", "--repo", repo)
    assert result.code == 0, result.err
    assert "weights s3://models/fraud-detector/3.3.0/model.json → s3://models/fraud-detector/3.4.0/model.json" in result.err
    built = build(generated / "overlays/prod/fraud-detector")
    assert _env(built, "MODEL_VERSION") == {"fraud-detector": "3.4.0"}
    assert _env(built, "MODEL_URI") == {"fraud-detector": "s3://models/fraud-detector/3.4.0/model.json"}
    spec = (generated / "models/fraud-detector.yaml").read_text()
    assert "{version}" in spec and "fraud-detector/3.3.0/model.json" not in spec and "3.4.0/model.json" not in spec


def test_promote_says_what_moved_and_writes_the_template_not_its_expansion(generated, capsys):
    repo = str(generated)
    assert run_cli(capsys, "set", "fraud-detector", 'model.version="3.3.0"', "--env", "staging", "--repo", repo).code == 0
    result = run_cli(capsys, "promote", "fraud-detector", "--from", "staging", "--to", "prod", "--repo", repo)
    assert result.code == 0, result.err
    assert "version 3.1.4 → 3.3.0" in result.err and "(from s3://models/fraud-detector/{version}/model.json)" in result.err
    spec = (generated / "models/fraud-detector.yaml").read_text()
    assert "fraud-detector/3.3.0/model.json" not in spec  # prod inherits the template


def test_a_canary_started_and_stopped_leaves_the_stable_weights_templated(generated, capsys):
    repo = str(generated)
    spec = generated / "models/fraud-detector.yaml"
    before = spec.read_text()
    start = ("serving.canary={version: '3.4.0', image: registry.example.com/risk/fraud-detector:3.4.0, weight: 5}")
    assert run_cli(capsys, "set", "fraud-detector", start, "--env", "prod", "--repo", repo).code == 0
    assert run_cli(capsys, "set", "fraud-detector", "serving.canary=null", "--env", "prod", "--repo", repo).code == 0
    after = spec.read_text()
    assert "/model.json" not in after.replace("s3://models/fraud-detector/{version}/model.json", "")
    assert [line for line in after.splitlines() if line not in before.splitlines()] in ([], ["        canary: null"])
