"""`mlgitops set` and `mlgitops promote` edit specs in place, validated first, then regenerate."""

from __future__ import annotations

import difflib

from conftest import run_cli


def _diff(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_promote_takes_the_version_uri_and_image_and_drops_redundant_overrides(generated, capsys):
    spec = generated / "models/fraud-detector.yaml"
    before = spec.read_text()
    result = run_cli(capsys, "promote", "fraud-detector", "--from", "staging", "--to", "prod", "--repo", str(generated))
    assert result.code == 0, result.err
    removed = _diff(before, spec.read_text())
    assert len(removed) == 2
    assert removed[0] == '-      model: {version: "3.1.4"}'
    assert removed[1].startswith("-        image: registry.example.com/risk/fraud-detector@sha256:")
    assert "fraud-detector:3.2.0" in (generated / "overlays/prod/fraud-detector/kustomization.yaml").read_text() or \
        "images:" not in (generated / "overlays/prod/fraud-detector/kustomization.yaml").read_text()
    assert run_cli(capsys, "generate", "--check", "--repo", str(generated)).code == 0
    again = run_cli(capsys, "promote", "fraud-detector", "--from", "staging", "--to", "prod", "--repo", str(generated))
    assert again.code == 0 and "already runs" in again.err


def test_promote_writes_an_override_when_the_base_differs(generated, capsys):
    spec = generated / "models/fraud-detector.yaml"
    before = spec.read_text()
    assert run_cli(capsys, "promote", "fraud-detector", "--from", "prod", "--to", "dev", "--repo", str(generated)).code == 0
    added = _diff(before, spec.read_text())
    assert any('version: "3.1.4"' in line for line in added) and any("@sha256:" in line for line in added)
    assert all(line.startswith("+") for line in added)


def test_set_edits_one_line_and_keeps_versions_strings(generated, capsys):
    spec = generated / "models/house-prices.yaml"
    before = spec.read_text()
    assert run_cli(capsys, "set", "house-prices", "serving.replicas=3", "--repo", str(generated)).code == 0
    assert [line.split(":")[0] for line in _diff(before, spec.read_text())] == ["-    replicas", "+    replicas"]
    assert run_cli(capsys, "set", "house-prices", "model.version=1.10", "--repo", str(generated)).code == 0
    assert 'version: "1.10"' in spec.read_text()
    same = run_cli(capsys, "set", "house-prices", "model.version=1.10", "--repo", str(generated))
    assert same.code == 0 and "nothing changed" in same.err


def test_a_bad_key_or_value_leaves_the_file_untouched(generated, capsys):
    spec = generated / "models/house-prices.yaml"
    before = spec.read_bytes()
    bad = run_cli(capsys, "set", "house-prices", "serving.replcas=3", "--env", "prod", "--repo", str(generated))
    assert bad.code == 1 and "did you mean 'replicas'" in bad.err and "unchanged" in bad.err
    wrong = run_cli(capsys, "set", "house-prices", "serving.replicas=-4", "--repo", str(generated))
    assert wrong.code == 1
    assert spec.read_bytes() == before
    unknown_env = run_cli(capsys, "set", "house-prices", "serving.replicas=3", "--env", "qa", "--repo", str(generated))
    assert unknown_env.code == 2 and "no environment 'qa'" in unknown_env.err


def test_a_new_override_keeps_versions_quoted_and_the_model_section_first(generated, capsys):
    spec = generated / "models/fraud-detector.yaml"  # its uri has {version}: a staging version is enough
    before = spec.read_text()
    assert "    staging:" not in before
    result = run_cli(capsys, "set", "fraud-detector", "model.version=3.3.0", "--env", "staging", "--repo",
                     str(generated))
    assert result.code == 0, result.err
    assert _diff(before, spec.read_text()) == ["+    staging:", "+      model:", '+        version: "3.3.0"']
    assert run_cli(capsys, "set", "fraud-detector", "serving.replicas=3", "--env", "staging", "--repo",
                   str(generated)).code == 0
    staging = spec.read_text().split("    staging:\n", 1)[1].splitlines()[:4]
    assert staging == ["      model:", '        version: "3.3.0"', "      serving:", "        replicas: 3"]


def test_set_warns_when_an_hpa_governs_the_replicas_even_when_nothing_changed(generated, capsys):
    result = run_cli(capsys, "set", "house-prices", "serving.replicas=2", "--env", "prod", "--repo", str(generated))
    assert result.code == 0, result.err
    assert "warning: serving.replicas: has no effect in prod: serving.autoscaling governs the pod count" in result.err


def test_set_of_a_base_field_warns_where_an_override_shadows_it(generated, capsys):
    result = run_cli(capsys, "set", "fraud-detector", "serving.replicas=3", "--repo", str(generated))
    assert result.code == 0, result.err
    assert "has no effect in dev: its override sets serving.replicas" in result.err
    assert "has no effect in prod: its override sets serving.replicas" in result.err
    assert "in staging" not in result.err


def test_each_governor_names_what_governs_the_field():
    from mlgitops.commands.set import _governs_canary, _governs_replicas

    hpa = {"serving": {"autoscaling": {"minReplicas": 2, "maxReplicas": 10}, "canary": None}}
    assert "an HPA of 2–10 replicas" in _governs_replicas(hpa, ("serving", "replicas"))  # noqa: RUF001
    assert _governs_replicas({"serving": {}}, ("serving", "replicas")) is None
    assert "there is no canary there" in _governs_canary(hpa, ("serving", "canary", "weight"))
    assert _governs_canary({"serving": {"canary": {"weight": 5}}}, ("serving", "canary", "weight")) is None


def test_a_dot_inside_a_key_is_written_with_a_backslash():
    # a label key such as example.com/tier could not be set: every dot split the path
    from mlgitops.commands.set import parse_assignment

    assert parse_assignment("labels.example\\.com/tier=gold") == (("labels", "example.com/tier"), "gold")
    assert parse_assignment("spec.serving.replicas=3") == (("serving", "replicas"), 3)
