"""SLO rules from the spec: the SRE workbook's windows and burn rates, selectors that keep the model's
tracks apart, presets with the metric names servers really expose, and a dashboard per environment."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import yaml
from conftest import ROOT
from mlgitops.check.slo import metrics
from mlgitops.render import context, dashboard, promql, slo, slotest
from mlgitops.spec.config import parse_config
from mlgitops.spec.model import parse_model
from mlgitops.spec.slo import bucket_bound, resolve

CONFIG, _ = parse_config("mlgitops.yaml", (ROOT / "mlgitops.yaml").read_bytes())


def ctx(slo_spec: dict | None, env: str = "prod", **serving):
    doc = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "m", "team": "t"},
           "spec": {"model": {"version": "1.0.0"},
                    "serving": {"image": "r.example.com/m:1.0.0", "slo": slo_spec, **serving}}}
    model, findings = parse_model("models/m.yaml", yaml.safe_dump(doc).encode(), CONFIG)
    assert not findings, [f.text() for f in findings]
    return context(model.effective[env], CONFIG, env)


def rules_of(c) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for group in slo.groups(c):
        for rule in group["rules"]:
            out.setdefault(rule.get("record") or rule["alert"], []).append(rule)
    return out


@pytest.mark.parametrize("window, factors", [("30d", ["14.4", "6", "3", "1"]), ("28d", ["13.44", "5.6", "2.8", "0.93"])],
                         ids=["30d", "28d"])
def test_burn_factors_are_the_workbooks_shares_of_the_budget(window, factors):
    got = [slo.number(slo.burn_factor(share, long, window).quantize(Decimal("0.01"))) for _, long, _, share in slo.BURNS]
    assert got == factors


def test_no_slo_no_rules_and_the_base_never_has_them():
    assert slo.groups(ctx(None)) == []
    assert slo.groups(ctx({"server": "fastapi", "availability": 99.5}, env="")) == []
    assert slotest.files(ctx(None)) == {}


def test_every_window_is_recorded_and_the_page_pairs_long_with_short_windows():
    rules = rules_of(ctx({"server": "fastapi", "availability": 99.5}))
    assert {f"{slo.RATIO}{w}" for w in (*slo.WINDOWS, "30d")} <= set(rules)
    page = rules["ModelAvailabilityBudgetBurnPage"][0]
    assert page["labels"] == {"environment": "prod", "model": "m", "namespace": "ml-prod", "severity": "page",
                              "slo": "availability", "team": "t", "version": "1.0.0"}
    pairs = re.findall(r"ratio_rate(\w+)\{[^}]*\} > \(([\d.]+) \* 0.005\)", page["expr"])
    assert pairs == [("1h", "14.4"), ("5m", "14.4"), ("6h", "6"), ("30m", "6")]
    ticket = rules["ModelAvailabilityBudgetBurnTicket"][0]
    assert re.findall(r"ratio_rate(\w+)\{", ticket["expr"]) == ["1d", "2h", "3d", "6h"]


def test_pod_regexes_keep_stable_canary_and_other_models_apart():
    stable, canary, both = (re.compile(promql.pods("m", t)) for t in ("stable", "canary", "all"))
    assert stable.fullmatch("m-7d9f8c6b5d-x2k4q") and not stable.fullmatch("m-canary-7d9f8c6b5d-x2k4q")
    assert canary.fullmatch("m-canary-7d9f8c6b5d-x2k4q") and not canary.fullmatch("m-7d9f8c6b5d-x2k4q")
    assert both.fullmatch("m-canary-7d9f8c6b5d-x2k4q") and both.fullmatch("m-7d9f8c6b5d-x2k4q")
    assert not both.fullmatch("m-x-7d9f8c6b5d-x2k4q")  # model m-x's pods


@pytest.mark.parametrize("threshold, unit, le", [("300ms", "seconds", "0.3"), ("1s", "seconds", "1.0"),
                                                 ("2.5s", "seconds", "2.5"), ("250ms", "milliseconds", "250.0")])
def test_the_latency_threshold_names_the_bucket_as_prometheus_normalises_le(threshold, unit, le):
    assert bucket_bound(threshold, unit) == le


@pytest.mark.parametrize("server, reads", [
    ("fastapi", {"http_requests_total"}),
    ("triton", {"nv_inference_request_success", "nv_inference_request_failure"}),
    ("torchserve", {"Requests2XX", "Requests4XX", "Requests5XX"}),
], ids=["fastapi", "triton", "torchserve"])
def test_presets_read_the_counters_each_server_exposes(server, reads):
    c = ctx({"server": server, "availability": 99.9})
    assert metrics(rules_of(c)[f"{slo.RATIO}5m"][0]["expr"]) == reads


def test_explicit_metrics_replace_the_presets():
    c = ctx({"server": "fastapi", "availability": 99.9, "errors": {"metrics": ["predict_errors_total"]},
             "requests": {"metrics": ["predict_total"], "selector": {"handler": "/predict"}}})
    expr = rules_of(c)[f"{slo.RATIO}5m"][0]["expr"]
    assert metrics(expr) == {"predict_total", "predict_errors_total"}
    assert 'handler=~"/predict"' in expr


def test_the_canary_guard_compares_tracks_and_needs_traffic():
    c = ctx({"server": "vllm", "availability": 99.5, "canary": {"maxRatio": 3, "minRequests": 500}},
            canary={"version": "1.1.0", "image": "r.example.com/m:1.1.0", "weight": 10})
    guard = rules_of(c)["ModelCanaryAvailabilityWorse"][0]
    assert '>= 500' in guard["expr"] and "(3 * " in guard["expr"]
    assert guard["labels"]["canary_version"] == "1.1.0" and guard["for"] == "5m"
    tracks = {r["labels"]["track"] for r in rules_of(c)[slo.CANARY_RATIO]}
    assert tracks == {"stable", "canary"}


def test_gpu_models_get_an_underuse_ticket_with_an_hpa_and_an_idle_ticket_without():
    gpu = {"cpu": "1", "memory": "1Gi", "gpu": 1}
    scaled = ctx({"server": "fastapi", "availability": 99.5}, resources=gpu,
                 autoscaling={"minReplicas": 2, "maxReplicas": 4, "targetCPUUtilization": 60})
    fixed = ctx({"server": "fastapi", "availability": 99.5}, resources=gpu)
    assert rules_of(scaled)["ModelGPUUnderused"][0]["labels"]["severity"] == "ticket"
    assert "kube_horizontalpodautoscaler_spec_min_replicas" in rules_of(scaled)["ModelGPUUnderused"][0]["expr"]
    assert rules_of(fixed)["ModelGPUIdle"][0]["for"] == "1d"
    assert "ModelGPUIdle" not in rules_of(scaled) and "ModelGPUUnderused" not in rules_of(fixed)
    assert "ModelGPUIdle" not in rules_of(ctx({"server": "fastapi", "availability": 99.5}))


def test_the_dashboard_uid_is_stable_and_distinct_per_environment_and_every_query_parses():
    spec = {"server": "fastapi", "availability": 99.5, "latency": {"threshold": "500ms", "objective": 95}}
    prod, staging = ctx(spec), ctx(spec, env="staging")
    assert dashboard.model(prod)["uid"] == dashboard.model(ctx(spec))["uid"] != dashboard.model(staging)["uid"]
    cm = dashboard.config_map(prod)
    assert cm is not None and cm.obj["metadata"]["labels"]["grafana_dashboard"] == "1"
    loaded = json.loads(cm.obj["data"]["m.json"])
    assert loaded["schemaVersion"] == dashboard.SCHEMA_VERSION
    titles = [p["title"] for p in loaded["panels"]]
    assert titles[:2] == ["Request rate", "Latency percentiles"]
    for panel in loaded["panels"]:
        for target in panel["targets"]:
            metrics(target["expr"])  # raises ValueError when it is not PromQL


def test_a_sample_string_matches_the_selector_it_came_from():
    for regex in ("5..", "/predict", "(GET|POST)", "[a-z]+-[0-9]{2}"):
        assert re.fullmatch(regex, slotest.sample(regex))


def test_the_sli_names_only_what_was_resolved():
    assert resolve({"server": "kserve", "latency": {}}).metrics() == {"request_predict_seconds_bucket",
                                                                       "request_predict_seconds_count"}


def test_the_config_labels_rules_and_dashboards_and_names_the_dcgm_pod_label():
    raw = (ROOT / "mlgitops.yaml").read_text().replace(
        "  grafanaUrl: https://grafana.example.com\n",
        "  grafanaUrl: https://grafana.example.com/\n  ruleLabels: {prometheus: ml}\n"
        "  dashboardLabels: {grafana_dashboard: ml}\n  gpuPodLabel: exported_pod\n")
    config, found = parse_config("mlgitops.yaml", raw.encode())
    assert config is not None and not found
    doc = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "m", "team": "t"},
           "spec": {"model": {"version": "1.0.0"},
                    "serving": {"image": "r.example.com/m:1.0.0", "resources": {"cpu": "1", "memory": "1Gi", "gpu": 1},
                                "slo": {"server": "fastapi", "availability": 99.5}}}}
    model, _ = parse_model("models/m.yaml", yaml.safe_dump(doc).encode(), config)
    c = context(model.effective["prod"], config, "prod")
    rule = slo.prometheus_rule(c)
    assert rule is not None and rule.obj["metadata"]["labels"]["prometheus"] == "ml"
    assert "release" not in rule.obj["metadata"]["labels"]  # ruleLabels replace serviceMonitorLabels
    page = rules_of(c)["ModelAvailabilityBudgetBurnPage"][0]["annotations"]
    assert page["runbook_url"] == "https://runbooks.example.com/ml/ModelAvailabilityBudgetBurnPage"
    assert page["dashboard_url"] == f"https://grafana.example.com/d/{slo.uid('m', 'prod')}"
    assert 'exported_namespace="ml-prod",exported_pod=~"m(-canary)?-' in rules_of(c)["ModelGPUIdle"][0]["expr"]
    cm = dashboard.config_map(c)
    assert cm is not None and cm.obj["metadata"]["labels"]["grafana_dashboard"] == "ml"
    assert "NVIDIA DCGM exporter" in cm.obj["metadata"]["annotations"]["mlgitops.io/requires"]


def test_without_the_operator_there_is_no_prometheus_rule_but_the_plain_rule_file_stays():
    raw = (ROOT / "mlgitops.yaml").read_text().replace("prometheusOperator: true\n", "prometheusOperator: false\n")
    config, _ = parse_config("mlgitops.yaml", raw.encode())
    doc = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "m", "team": "t"},
           "spec": {"model": {"version": "1.0.0"},
                    "serving": {"image": "r.example.com/m:1.0.0", "slo": {"server": "flask", "availability": 99}}}}
    model, _ = parse_model("models/m.yaml", yaml.safe_dump(doc).encode(), config)
    c = context(model.effective["dev"], config, "dev")
    assert slo.prometheus_rule(c) is None
    assert set(slotest.files(c)) == {"rules.yaml", "rules.test.yaml"}
    assert "flask_http_request_total" in slotest.files(c)["rules.yaml"]["groups"][0]["rules"][0]["expr"]


def test_an_environment_overrides_the_objectives_or_removes_them():
    doc = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "m", "team": "t"},
           "spec": {"model": {"version": "1.0.0"},
                    "serving": {"image": "r.example.com/m:1.0.0", "slo": {"server": "fastapi", "availability": 99.9}},
                    "environments": {"dev": {"serving": {"slo": None}},
                                     "staging": {"serving": {"slo": {"availability": 99}}}}}}
    model, found = parse_model("models/m.yaml", yaml.safe_dump(doc).encode(), CONFIG)
    assert model is not None, found
    by_env = {env: context(model.effective[env], CONFIG, env) for env in ("dev", "staging", "prod")}
    assert slo.groups(by_env["dev"]) == [] and dashboard.config_map(by_env["dev"]) is None
    assert "(14.4 * 0.01)" in rules_of(by_env["staging"])["ModelAvailabilityBudgetBurnPage"][0]["expr"]
    assert "(14.4 * 0.001)" in rules_of(by_env["prod"])["ModelAvailabilityBudgetBurnPage"][0]["expr"]
