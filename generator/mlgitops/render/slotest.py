"""`promtool test rules` unit tests for a model's SLO rules, with synthetic series. Pure.

Generated beside the plain rule file (`slo/rules.yaml`), so a team reruns them with
`promtool test rules rules.test.yaml` in `overlays/<env>/<model>/slo/`. Each alert gets a series that must
fire it and one that must not: a 15x burn pages within the 5m short window and stops once it has left
the short windows; after six quiet hours it pages only once 2 % of the budget is gone (14.4x over 1h);
a 1x burn never pages; a canary 3x worse than stable alerts, an equal one does not; idle (or underused,
above the HPA's minimum) GPUs ticket only after their `for`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from mlgitops.render import slo as rules
from mlgitops.render.context import Context
from mlgitops.spec.slo import GOOD_VALUES, Sli, budget, resolve

try:  # Python 3.11+
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef, unused-ignore]

RATE = 100_000  # requests a minute in every synthetic series: a budget of 0.001 % is still one a minute


def sample(regex: str) -> str:
    """A short string the (fully anchored) regex matches: first branch, fewest repetitions ("" when Python
    cannot read it: RE2 syntax it lacks; the test then fails rather than the generation)."""
    try:
        return _walk(sre_parse.parse(regex))
    except re.error:
        return ""


def _walk(parsed: Any) -> str:
    out = []
    for op, arg in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("0")
        elif name == "IN":
            out.append(_first_in(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, _, item = arg
            out.append(_walk(item) * max(low, 1))
        elif name == "SUBPATTERN":
            out.append(_walk(arg[-1]))
        elif name == "BRANCH":
            out.append(_walk(arg[1][0]))
    return "".join(out)


def _first_in(items: Any) -> str:
    for op, arg in items:
        if str(op) == "LITERAL":
            return chr(arg)
        if str(op) == "RANGE":
            return chr(arg[0])
    return "0"


def _matches(regex: str, value: str) -> bool:
    try:
        return re.fullmatch(regex, value) is not None
    except re.error:  # RE2 syntax Python does not read
        return False


def _labels(base: dict[str, str], regexes: dict[str, str]) -> dict[str, str]:
    return {**base, **{k: sample(v) for k, v in regexes.items()}}


def _series_text(metric: str, labels: dict[str, str]) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{body}}}"


def _good_labels(sli: Sli, metric: str, base: dict[str, str]) -> dict[str, str]:
    """The labels of a successful request's series of metric: where the errors share the metric, their
    labels set to a value the error matcher refuses."""
    assert sli.requests and sli.errors
    labels = _labels(base, sli.requests.selector)
    if metric in sli.errors.metrics:
        for key, regex in sli.errors.selector.items():
            labels[key] = next((v for v in GOOD_VALUES if not _matches(regex, v)), GOOD_VALUES[0])
    return labels


def _counted(sli: Sli, bad: int) -> tuple[str, int]:
    """The series that counts the successful requests, and how many a minute: the request counter itself when
    the error counter is apart from it; the same counter with a good label when errors are a label of it;
    else (Triton's success and failure) the other request counter."""
    assert sli.requests and sli.errors
    error_metric = sli.errors.metrics[0]
    if error_metric not in sli.requests.metrics:
        return sli.requests.metrics[0], RATE
    if sli.errors.selector:
        return error_metric, RATE - bad
    return next((m for m in sli.requests.metrics if m != error_metric), error_metric), RATE - bad


def _error_values(bad: int, minutes: int, start: int, stop: int | None) -> str:
    """A counter of bad a minute from minute start to stop (then flat), over minutes."""
    prefix = f"0x{start - 1} " if start else ""
    burn = f"0+{bad}x{(stop or minutes) - start}"
    suffix = f" {bad * (stop - start)}+0x{minutes - stop - 1}" if stop else ""
    return prefix + burn + suffix


def traffic(sli: Sli, pod: str, namespace: str, error_ratio: Decimal, minutes: int, start: int = 0,
            stop: int | None = None) -> list[dict[str, Any]]:
    """Input series: RATE requests a minute from pod, error_ratio of them failing from minute start to stop."""
    assert sli.requests and sli.errors
    base = {"namespace": namespace, "pod": pod}
    bad = int(RATE * error_ratio)
    metric, good = _counted(sli, bad)
    error_labels = _labels(_labels(base, sli.requests.selector), sli.errors.selector)
    return [{"series": _series_text(metric, _good_labels(sli, metric, base)), "values": f"0+{good}x{minutes}"},
            {"series": _series_text(sli.errors.metrics[0], error_labels),
             "values": _error_values(bad, minutes, start, stop)}]


def _pod(ctx: Context, track: str = "stable") -> str:
    return f"{ctx.name}{'-canary' if track == 'canary' else ''}-7d9f8c6b5d-x2k4q"


def _expected(ctx: Context, groups: list[dict[str, Any]], alert: str) -> dict[str, Any]:
    """The labels and annotations of a firing alert, as the rule file states them."""
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == alert)
    labels = dict(rule["labels"])
    if alert.startswith("ModelCanary"):
        labels["track"] = "canary"
    return {"exp_labels": labels, "exp_annotations": dict(rule["annotations"])}


def _availability_tests(ctx: Context, sli: Sli, groups: list[dict[str, Any]], error_budget: Decimal) -> list[dict[str, Any]]:
    page = "ModelAvailabilityBudgetBurnPage"
    fresh = traffic(sli, _pod(ctx), ctx.namespace, error_budget * 15, 120, stop=60)
    after_quiet = traffic(sli, _pod(ctx), ctx.namespace, error_budget * 15, 430, start=360)
    steady = traffic(sli, _pod(ctx), ctx.namespace, error_budget, 390)
    return [
        {"name": f"{ctx.name}: a 15x burn pages within the 5m short window and stops once it has left the short "
                 "windows", "interval": "1m", "input_series": fresh,
         "alert_rule_test": [{"eval_time": "5m", "alertname": page, "exp_alerts": [_expected(ctx, groups, page)]},
                             {"eval_time": "95m", "alertname": page, "exp_alerts": []}]},
        {"name": f"{ctx.name}: after 6 quiet hours a 15x burn pages once it has burnt 2 % of the budget (14.4x over "
                 "1h: 58m), not before", "interval": "1m", "input_series": after_quiet,
         "alert_rule_test": [{"eval_time": "6h30m", "alertname": page, "exp_alerts": []},
                             {"eval_time": "7h", "alertname": page, "exp_alerts": [_expected(ctx, groups, page)]}]},
        {"name": f"{ctx.name}: a 1x burn never pages", "interval": "1m", "input_series": steady,
         "alert_rule_test": [{"eval_time": t, "alertname": page, "exp_alerts": []} for t in ("10m", "1h", "6h30m")]},
    ]


def _canary_tests(ctx: Context, sli: Sli, groups: list[dict[str, Any]], error_budget: Decimal) -> list[dict[str, Any]]:
    name = "ModelCanaryAvailabilityWorse"
    stable = traffic(sli, _pod(ctx), ctx.namespace, error_budget, 60)
    worse = traffic(sli, _pod(ctx, "canary"), ctx.namespace, error_budget * 3, 60)
    equal = traffic(sli, _pod(ctx, "canary"), ctx.namespace, error_budget, 60)
    expected = _expected(ctx, groups, name)
    expected["exp_labels"]["slo"] = "availability"
    return [
        {"name": f"{ctx.name}: a canary 3x worse than stable alerts", "interval": "1m",
         "input_series": stable + worse,
         "alert_rule_test": [{"eval_time": "40m", "alertname": name, "exp_alerts": [expected]}]},
        {"name": f"{ctx.name}: a canary as good as stable does not alert", "interval": "1m",
         "input_series": stable + equal,
         "alert_rule_test": [{"eval_time": "40m", "alertname": name, "exp_alerts": []}]},
    ]


def _gpu_tests(ctx: Context, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    gpu = ctx.serving["slo"]["gpu"]
    pod_label = ctx.monitoring.get("gpuPodLabel", "pod")
    ns_label = "exported_namespace" if pod_label.startswith("exported_") else "namespace"
    util = {ns_label: ctx.namespace, pod_label: _pod(ctx), "gpu": "0"}
    if not ctx.serving.get("autoscaling"):
        wait = int(rules.hours(gpu["idleFor"]) * 60)
        series = [{"series": _series_text(rules.GPU_UTIL, util), "values": f"0x{wait + 20}"}]
        name = "ModelGPUIdle"
        return [{"name": f"{ctx.name}: GPUs idle for {gpu['idleFor']} ticket, not before", "interval": "1m",
                 "input_series": series,
                 "alert_rule_test": [{"eval_time": f"{wait // 2}m", "alertname": name, "exp_alerts": []},
                                     {"eval_time": f"{wait + 10}m", "alertname": name,
                                      "exp_alerts": [_expected(ctx, groups, name)]}]}]
    wait = int(rules.hours(gpu["for"]) * 60)
    low = max(gpu["utilization"] // 2, 1)
    minimum = cast("dict[str, Any]", ctx.serving["autoscaling"])["minReplicas"]
    ksm = [{"series": _series_text(rules.KSM[0], {"deployment": ctx.name, "namespace": ctx.namespace}),
            "values": f"{minimum + 1}x{wait + 60}"},
           {"series": _series_text(rules.KSM[1], {"horizontalpodautoscaler": ctx.name, "namespace": ctx.namespace}),
            "values": f"{minimum}x{wait + 60}"}]
    name = "ModelGPUUnderused"
    series = [{"series": _series_text(rules.GPU_UTIL, util), "values": f"{low}x{wait + 60}"}]
    busy = [{"series": _series_text(rules.GPU_UTIL, util), "values": f"{gpu['utilization'] * 3}x{wait + 60}"}]
    return [{"name": f"{ctx.name}: GPUs under {gpu['utilization']} % above the HPA's minimum ticket after {gpu['for']}",
             "interval": "1m", "input_series": series + ksm,
             "alert_rule_test": [{"eval_time": f"{wait // 2}m", "alertname": name, "exp_alerts": []},
                                 {"eval_time": f"{wait + 30}m", "alertname": name,
                                  "exp_alerts": [_expected(ctx, groups, name)]}]},
            {"name": f"{ctx.name}: busy GPUs do not ticket", "interval": "1m", "input_series": busy + ksm,
             "alert_rule_test": [{"eval_time": f"{wait + 30}m", "alertname": name, "exp_alerts": []}]}]


def tests(ctx: Context, rule_file: str) -> dict[str, Any] | None:
    """The promtool test file for the rules of ctx ([] when it has none)."""
    groups = rules.groups(ctx)
    if not groups:
        return None
    slo = ctx.serving["slo"]
    sli = resolve(slo)
    cases: list[dict[str, Any]] = []
    if "availability" in slo:
        error_budget = budget(slo["availability"])
        cases += _availability_tests(ctx, sli, groups, error_budget)
        if ctx.serving.get("canary"):
            cases += _canary_tests(ctx, sli, groups, error_budget)
    if ctx.gpu_pods:
        cases += _gpu_tests(ctx, groups)
    return {"evaluation_interval": "1m", "rule_files": [rule_file], "tests": cases}


RULE_FILE = "rules.yaml"


def files(ctx: Context) -> dict[str, dict[str, Any]]:
    """The plain rule file (what Prometheus loads without the Operator; promtool reads it either way) and
    its unit tests, by file name; {} without SLOs."""
    groups = rules.groups(ctx)
    if not groups:
        return {}
    return {RULE_FILE: {"groups": groups}, "rules.test.yaml": tests(ctx, RULE_FILE) or {}}
