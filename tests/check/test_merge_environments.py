"""A problem every listed environment shares is one finding; the environments are data, never parsed."""

from __future__ import annotations

from mlgitops.check.pipeline import merge_environments
from mlgitops.report.findings import Finding, Position

ENVS = ["dev", "staging", "prod"]


def _in(env: str, detail: str = "replicas below 2") -> Finding:
    return Finding.in_environments([env], "prod-min-replicas", detail, "models/m.yaml", Position(3, 5))


def test_the_same_problem_in_several_environments_is_one_finding_naming_them_in_config_order():
    merged = merge_environments([_in("prod"), _in("dev")], ENVS)
    assert [(f.message, f.environments) for f in merged] == [("dev, prod: replicas below 2", ("dev", "prod"))]


def test_different_problems_stay_apart():
    merged = merge_environments([_in("prod"), _in("dev", "no PodDisruptionBudget")], ENVS)
    assert sorted(f.message for f in merged) == ["dev: no PodDisruptionBudget", "prod: replicas below 2"]


def test_a_message_that_only_looks_like_an_environments_is_left_alone():
    plain = [Finding("schema", "dev: is not a known field", "models/m.yaml", Position(3, 5)),
             Finding("schema", "prod: is not a known field", "models/m.yaml", Position(3, 5))]
    assert merge_environments(plain, ENVS) == plain


def test_the_environments_survive_the_cache_record():
    finding = _in("staging")
    assert Finding.from_dict(finding.as_record()) == finding
    assert "environments" not in finding.as_dict()  # what the json format prints is unchanged
