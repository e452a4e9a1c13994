"""check's SLO rule validation, and the proof: promtool checks every generated rule file and runs the
unit tests generated beside it (a 14.4x burn pages, a 1x burn does not, a worse canary alerts, idle GPUs
ticket)."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import EXHAUSTIVE, ROOT, run_cli
from mlgitops.check import slo as check_slo
from mlgitops.render import context, slo
from mlgitops.spec.config import parse_config
from mlgitops.spec.model import parse_model

CONFIG, _ = parse_config("mlgitops.yaml", (ROOT / "mlgitops.yaml").read_bytes())
RULE_FILES = sorted(ROOT.glob("overlays/*/*/slo/rules.yaml"))
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian/Ubuntu: "
                                    "apt-get install prometheus; .ci/run installs it): the SLO rules are not run")


# promtool's Go garbage collector at GOGC=400 (heap up to ~120 MB): about an eighth less CPU on each rule file's
# unit tests, the same verdicts (GC tuning changes no result)
def promtool(folder: Path, *args: str) -> subprocess.CompletedProcess:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=folder, env={**os.environ, "GOGC": "400"}, capture_output=True,
                          text=True, check=False)


def example(name: str, env: str):
    path = f"models/{name}.yaml"
    model, findings = parse_model(path, (ROOT / path).read_bytes(), CONFIG)
    assert model is not None, findings
    return context(model.effective[env], CONFIG, env)


def test_the_examples_have_rule_files_in_every_environment():
    assert [p.relative_to(ROOT).as_posix() for p in RULE_FILES] == [
        f"overlays/{env}/{model}/slo/rules.yaml" for env in ("dev", "prod", "staging")
        for model in ("fraud-detector", "image-classifier")]


def test_the_generated_rules_and_dashboards_are_clean():
    models = [parse_model(f"models/{n}.yaml", (ROOT / f"models/{n}.yaml").read_bytes(), CONFIG)[0]
              for n in ("fraud-detector", "image-classifier")]
    assert check_slo.findings(models, CONFIG) == []


def test_a_rule_that_is_not_promql_reads_an_undeclared_metric_or_repeats_a_name_is_a_finding():
    ctx = example("fraud-detector", "staging")
    groups = copy.deepcopy(slo.groups(ctx))
    rules = groups[0]["rules"]
    rules[0]["expr"] = "sum(rate(nv_inference_request_success[5m])"
    rules[1]["expr"] = "sum(rate(nv_inference_count[5m]))"
    rules.append(copy.deepcopy(rules[2]))
    found = check_slo.rule_findings(ctx, groups, "overlays/staging/fraud-detector/slo/rules.yaml")
    messages = sorted(f.message for f in found)
    assert len(found) == 3 and {f.rule for f in found} == {"slo-rule"}
    assert "not valid PromQL (unclosed left parenthesis)" in messages[2]
    assert "reads nv_inference_count, which neither the spec nor its server preset declares" in messages[1]
    assert messages[0].startswith("rule mlgitops:sli_error:ratio_rate1h with labels")


# promtool spends seconds on each file's unit tests (3 to 11 CPU-s): the fast loop runs none (it keeps the
# rules' static checks, test_the_generated_rules_and_dashboards_are_clean), make test prod's image-classifier
# (an HTTP SLO with the GPU-underused ticket of an HPA'd deployment) and, with a canary added, prod's
# fraud-detector (test_a_canary_gets_a_guard_whose_unit_tests_pass runs its every unit test and the canary's).
# The other files are exhaustive (make test-all and .ci/run run all six): staging's are prod's rules and tests
# under other names, dev's replace the HPA ticket by the GPU-idle one, whose unit test replays a day of samples
# (11 CPU-s alone; make test keeps its rule's shape in tests/render/test_slo_rules.py and its static checks in
# test_the_generated_rules_and_dashboards_are_clean).
def _rule_marks(rules: Path) -> tuple:
    return (pytest.mark.slow,) if rules.parts[-4:-2] == ("prod", "image-classifier") else EXHAUSTIVE


RULE_CASES = [pytest.param(p, id=p.parent.parent.relative_to(ROOT / "overlays").as_posix(), marks=_rule_marks(p))
              for p in RULE_FILES]


@needs_promtool
@pytest.mark.parametrize("rules", RULE_CASES)
def test_promtool_accepts_the_rules_and_their_unit_tests_pass(rules: Path):
    check = promtool(rules.parent, "check", "rules", rules.name)
    assert check.returncode == 0, check.stdout + check.stderr
    test = promtool(rules.parent, "test", "rules", "rules.test.yaml")
    assert test.returncode == 0, test.stdout + test.stderr


@pytest.mark.slow  # a second promtool run, on staging's fraud-detector file
@needs_promtool
def test_the_unit_tests_catch_a_page_that_no_longer_fires(tmp_path):
    """A page threshold of 20x instead of 14.4x over 1h misses the 15x burn after a quiet spell: the tests fail."""
    source = ROOT / "overlays/staging/fraud-detector/slo"
    rules = yaml.safe_load((source / "rules.yaml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["expr"] = rule["expr"].replace("(14.4 * ", "(20 * ")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    tests = yaml.safe_load((source / "rules.test.yaml").read_text())
    tests["tests"] = [t for t in tests["tests"] if "quiet" in t["name"]]
    (tmp_path / "rules.test.yaml").write_text(yaml.safe_dump(tests))
    run = promtool(tmp_path, "test", "rules", "rules.test.yaml")
    assert run.returncode != 0 and "ModelAvailabilityBudgetBurnPage" in run.stdout + run.stderr


@pytest.mark.slow
@needs_promtool
def test_a_canary_gets_a_guard_whose_unit_tests_pass(repo, capsys):
    """With a canary in prod, the generated tests show a canary 3x worse than stable alerting and an equal one not."""
    spec = repo / "models/fraud-detector.yaml"
    canary = '        canary: {version: "3.3.0", image: "registry.example.com/risk/fraud-detector:3.3.0", weight: 10}\n'
    spec.write_text(spec.read_text().replace("        replicas: 4\n", "        replicas: 4\n" + canary))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    folder = repo / "overlays/prod/fraud-detector/slo"
    names = [t["name"] for t in yaml.safe_load((folder / "rules.test.yaml").read_text())["tests"]]
    assert "fraud-detector: a canary 3x worse than stable alerts" in names
    assert "fraud-detector: a canary as good as stable does not alert" in names
    run = promtool(folder, "test", "rules", "rules.test.yaml")
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_warm_check_reads_the_slo_findings_from_the_cache_and_a_corrupt_entry_is_a_miss(generated):
    from mlgitops.spec.repo import Repo
    from mlgitops.tree import cache, generation

    gen = generation.build(Repo(generated))
    assert check_slo.cached(gen.entries, gen.config, generated) == []
    entries = sorted((cache.location(generated) / "slo").rglob("*"))
    files = [p for p in entries if p.is_file()]
    assert len(files) == 2  # the two example specs with serving.slo
    for path in files:
        path.write_bytes(b"not json")
    assert check_slo.cached(gen.entries, gen.config, generated) == []
