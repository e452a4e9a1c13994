"""What the schema cannot say about serving.slo: objectives the metrics cannot measure, regexes Prometheus
refuses, an error matcher that catches successes, objectives finer than the generated tests can feed."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT
from mlgitops.spec.config import parse_config
from mlgitops.spec.model import parse_model

CONFIG, _ = parse_config("mlgitops.yaml", (ROOT / "mlgitops.yaml").read_bytes())


def findings(slo: dict) -> list[tuple[str, int, str]]:
    doc = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "m", "team": "t"},
           "spec": {"model": {"version": "1.0.0"}, "serving": {"image": "r.example.com/m:1.0.0", "slo": slo}}}
    text = yaml.safe_dump(doc, sort_keys=False)
    _, found = parse_model("models/m.yaml", text.encode(), CONFIG)
    lines = text.splitlines()
    return [(f.rule, f.line, lines[f.line - 1].strip().split(":")[0], f.message) for f in found]


def test_a_preset_without_a_latency_histogram_is_a_finding_at_the_objective():
    found = findings({"server": "triton", "availability": 99.9, "latency": {"threshold": "300ms", "objective": 95}})
    assert [f[:3] for f in found] == [("slo-metrics", found[0][1], "latency")]
    assert "server 'triton' exposes no latency histogram" in found[0][3]


def test_availability_without_counters_is_a_finding():
    found = findings({"server": "kserve", "availability": 99.9})
    assert [f[2] for f in found] == ["availability"] and "exposes no request status counters" in found[0][3]


@pytest.mark.parametrize("regex, says", [("(?=5)..", "not a regular expression Prometheus accepts"),
                                         ("(", "not a regular expression Prometheus accepts"),
                                         (".*", "matches successful requests too")],
                         ids=["lookahead", "unbalanced", "everything"])
def test_error_matchers_must_be_re2_and_refuse_successes(regex, says):
    found = findings({"server": "fastapi", "availability": 99.9, "errors": {"metrics": ["http_requests_total"],
                                                                               "selector": {"status": regex}}})
    assert [f[2] for f in found] == ["status"] and says in found[0][3]


def test_an_objective_finer_than_three_decimals_is_a_finding():
    assert [f[2] for f in findings({"server": "fastapi", "availability": 99.9995})] == ["availability"]
    assert findings({"server": "fastapi", "availability": 99.999}) == []


def test_the_schema_refuses_a_threshold_without_a_unit_and_an_slo_without_objectives():
    assert any("threshold" in f[3] or f[2] == "threshold"
               for f in findings({"server": "fastapi", "latency": {"threshold": "300", "objective": 95}}))
    assert findings({"server": "fastapi"}) != []
