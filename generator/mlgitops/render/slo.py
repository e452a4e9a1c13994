"""A model's SLO rules in one environment: SLI recording rules over the SRE workbook's windows,
multiwindow multi-burn-rate alerts, the canary-vs-stable guard and GPU waste tickets. Pure.

The burn-rate alerts are the Google SRE workbook's (chapter 5, "Alerting on SLOs", recommendation 6):
page when 2 % of the budget burns in 1h or 5 % in 6h, ticket when 10 % burns in 1d or 3d, each long
window paired with a short one (1/12 of it) so the alert resets soon after the burn stops; the same
shape Sloth and Pyrra generate. Series are selected by namespace and pod name (render/promql.py), which
both a ServiceMonitor and annotation-based scraping attach.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, cast

from mlgitops.kube.annotations import REQUIRES
from mlgitops.render import promql
from mlgitops.render.canary import canary_name
from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest
from mlgitops.spec.slo import Sli, bucket_bound, budget, resolve

ORIGIN = "/spec/serving/slo"
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (severity, long window, short window, share of the budget burnt in the long window)
BURNS = (("page", "1h", "5m", Decimal("0.02")), ("page", "6h", "30m", Decimal("0.05")),
         ("ticket", "1d", "2h", Decimal("0.10")), ("ticket", "3d", "6h", Decimal("0.10")))
CANARY_WINDOW = "30m"
RATIO = "mlgitops:sli_error:ratio_rate"
CANARY_RATIO = "mlgitops:canary_sli_error:ratio_rate" + CANARY_WINDOW
CANARY_REQUESTS = "mlgitops:canary_requests:increase" + CANARY_WINDOW
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"  # NVIDIA DCGM exporter: GPU utilisation, percent (gauge)
GPU_MEMORY = "DCGM_FI_DEV_FB_USED"  # framebuffer memory used, MiB (gauge)
DCGM = "NVIDIA DCGM exporter (DCGM_FI_DEV_GPU_UTIL, with pod labels)"
KUBE_STATE_METRICS = "kube-state-metrics (Deployment replicas, HPA bounds)"
KSM = ("kube_deployment_status_replicas", "kube_horizontalpodautoscaler_spec_min_replicas",
       "kube_horizontalpodautoscaler_spec_max_replicas")  # kube-state-metrics
HOURS = {"m": Decimal(1) / 60, "h": Decimal(1), "d": Decimal(24)}


def uid(model: str, env: str) -> str:
    """The dashboard's uid (render/dashboard.py): derived from model and environment, so links stay valid."""
    return "mlgitops-" + hashlib.sha256(f"{model}/{env}".encode()).hexdigest()[:16]


def hours(duration: str) -> Decimal:
    return Decimal(duration[:-1]) * HOURS[duration[-1]]


def number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def objectives(slo: dict[str, Any]) -> list[tuple[str, Decimal]]:
    """(SLI name, error budget ratio) of each objective the spec sets."""
    out = []
    if "availability" in slo:
        out.append(("availability", budget(slo["availability"])))
    if "latency" in slo:
        out.append(("latency", budget(slo["latency"]["objective"])))
    return out


def ratio(ctx: Context, sli: Sli, name: str, track: str, window: str) -> str:
    """The error ratio of one SLI (failed, or slower than the threshold) of a track's pods over window."""
    slo = ctx.serving["slo"]
    exact, regex = promql.model_regex(ctx.namespace, ctx.name, track, {})
    if name == "availability":
        assert sli.requests and sli.errors  # spec/slo.py findings
        return promql.availability_ratio(sli.requests, sli.errors, exact, regex, window)
    assert sli.histogram
    le = bucket_bound(slo["latency"]["threshold"], sli.histogram.unit)
    return promql.latency_ratio(sli.histogram, le, exact, regex, window)


def series_labels(ctx: Context) -> dict[str, Any]:
    return {"environment": ctx.env, "model": ctx.name, "namespace": ctx.namespace, "team": ctx.team}


def matcher(ctx: Context, **more: str) -> str:
    return promql.selector({"environment": ctx.env, "model": ctx.name, **more}, {})


def _annotations(ctx: Context, alert: str, summary: str, description: str) -> dict[str, Any]:
    out = {"description": description, "summary": summary}
    monitoring = ctx.monitoring
    if monitoring.get("runbookUrl"):
        out["runbook_url"] = (monitoring["runbookUrl"].replace("{alert}", alert).replace("{model}", ctx.name)
                              .replace("{environment}", ctx.env))
    if monitoring.get("grafanaUrl"):
        out["dashboard_url"] = f"{monitoring['grafanaUrl'].rstrip('/')}/d/{uid(ctx.name, ctx.env)}"
    return out


def alert(ctx: Context, name: str, expr: str, severity: str, text: tuple[str, str], extra: dict[str, Any] | None = None,
          wait: str = "") -> dict[str, Any]:
    labels = {**series_labels(ctx), **(extra or {}), "severity": severity, "version": ctx.spec["model"]["version"]}
    rule = {"alert": name, "expr": expr, "labels": labels, "annotations": _annotations(ctx, name, *text)}
    if wait:
        rule["for"] = wait
    return rule


def _sli_group(ctx: Context, sli: Sli) -> dict[str, Any]:
    slo = ctx.serving["slo"]
    rules = []
    for name, _ in objectives(slo):
        labels = {**series_labels(ctx), "slo": name}
        for window in WINDOWS:
            rules.append({"record": RATIO + window, "expr": ratio(ctx, sli, name, "all", window), "labels": labels})
        period = slo["window"]
        rules.append({"record": RATIO + period, "labels": labels,
                      "expr": f"avg_over_time({RATIO}5m{matcher(ctx, slo=name)}[{period}])"})
    return {"name": f"{ctx.name}-sli", "rules": rules}


def burn_factor(share: Decimal, long: str, period: str) -> Decimal:
    """How many times faster than sustainable a burn of `share` of the budget in `long` is: 14.4 for 2 % in 1h of 30d."""
    return share * hours(period) / hours(long)


def _burn_expr(ctx: Context, name: str, error_budget: Decimal, severity: str) -> str:
    period = ctx.serving["slo"]["window"]
    pairs = []
    for level, long, short, share in BURNS:
        if level != severity:
            continue
        limit = f"({number(burn_factor(share, long, period))} * {number(error_budget)})"
        sel = matcher(ctx, slo=name)
        pairs.append(f"({RATIO}{long}{sel} > {limit} and {RATIO}{short}{sel} > {limit})")
    return " or ".join(pairs)


def _rates(ctx: Context, severity: str) -> str:
    period = ctx.serving["slo"]["window"]
    return " or ".join(f"over {number(burn_factor(share, long, period))}x the sustainable rate for {long} (and {short})"
                       for level, long, short, share in BURNS if level == severity)


def _alert_group(ctx: Context) -> dict[str, Any]:
    rules = []
    for name, error_budget in objectives(ctx.serving["slo"]):
        title = name.capitalize()
        for severity, wording in (("page", "fast"), ("ticket", "steadily")):
            alert_name = f"Model{title}BudgetBurn{severity.capitalize()}"
            text = (f"{ctx.name} in {ctx.env} burns its {name} error budget {wording}",
                    (f"The {name} error ratio of {ctx.name} ({ctx.env}) burns its {ctx.serving['slo']['window']} error "
                     f"budget ({number(error_budget * 100)} % of requests) at {_rates(ctx, severity)}."))
            rules.append(alert(ctx, alert_name, _burn_expr(ctx, name, error_budget, severity), severity, text,
                               {"slo": name}))
    return {"name": f"{ctx.name}-slo-alerts", "rules": rules}


def _canary_group(ctx: Context, sli: Sli) -> dict[str, Any]:
    slo, canary = ctx.serving["slo"], cast("dict[str, Any]", ctx.serving["canary"])
    guard = slo["canary"]
    rules: list[dict[str, Any]] = []
    assert sli.requests or sli.histogram
    for track in ("stable", "canary"):
        labels = {**series_labels(ctx), "track": track}
        exact, regex = promql.model_regex(ctx.namespace, ctx.name, track, {})
        volume = (promql.counter_rate(sli.requests, exact, regex, CANARY_WINDOW) if sli.requests else
                  f"sum(rate({sli.histogram.metric}_count{promql.selector(exact, {**sli.histogram.selector, **regex})}"  # type: ignore[union-attr]
                  f"[{CANARY_WINDOW}]))")
        rules.append({"record": CANARY_REQUESTS, "expr": f"{volume} * {int(hours(CANARY_WINDOW) * 3600)}",
                      "labels": labels})
        for name, _ in objectives(slo):
            rules.append({"record": CANARY_RATIO, "expr": ratio(ctx, sli, name, track, CANARY_WINDOW),
                          "labels": {**labels, "slo": name}})
    for name, error_budget in objectives(slo):
        on_canary, on_stable = matcher(ctx, slo=name, track="canary"), matcher(ctx, slo=name, track="stable")
        # the set operations keep the left side's labels (track="canary"); a one-to-one comparison
        # `ignoring(track)` drops track, so it comes last
        expr = (f"{CANARY_RATIO}{on_canary} > {number(error_budget)} and ignoring(slo) "
                f"{CANARY_REQUESTS}{matcher(ctx, track='canary')} >= {guard['minRequests']} and ignoring(track) "
                f"{CANARY_RATIO}{on_canary} > ignoring(track) ({number(Decimal(str(guard['maxRatio'])))} * "
                f"{CANARY_RATIO}{on_stable})")
        text = (f"The canary of {ctx.name} in {ctx.env} is worse than the stable version ({name})",
                (f"Over {CANARY_WINDOW}, the {name} error ratio of {canary_name(ctx.name)} (version {canary['version']}) "
                 f"is more than {guard['maxRatio']} times the stable version's and above the error budget rate: "
                 "consider a rollback (set serving.canary to null)."))
        rules.append(alert(ctx, f"ModelCanary{name.capitalize()}Worse", expr, "page", text,
                           {"canary_version": canary["version"], "slo": name}, "5m"))
    return {"name": f"{ctx.name}-canary", "rules": rules}


def gpu_selector(ctx: Context) -> str:
    pod_label = ctx.monitoring.get("gpuPodLabel", "pod")
    namespace_label = "exported_namespace" if pod_label.startswith("exported_") else "namespace"
    return promql.selector({namespace_label: ctx.namespace}, {pod_label: promql.pods(ctx.name, "all")})


def _gpu_group(ctx: Context) -> dict[str, Any]:
    gpu = ctx.serving["slo"]["gpu"]
    util = f"{GPU_UTIL}{gpu_selector(ctx)}"
    scaling = ctx.serving.get("autoscaling")
    if scaling:
        deployment = promql.selector({"deployment": ctx.name, "namespace": ctx.namespace}, {})
        hpa = promql.selector({"horizontalpodautoscaler": ctx.name, "namespace": ctx.namespace}, {})
        expr = (f"avg(avg_over_time({util}[1h])) < {gpu['utilization']} and "
                f"sum({KSM[0]}{deployment}) > max({KSM[1]}{hpa})")
        text = (f"{ctx.name} in {ctx.env} keeps GPUs it does not use",
                (f"GPU utilisation of {ctx.name} has stayed under {gpu['utilization']} % for {gpu['for']} while the "
                 "Deployment runs more replicas than the HPA's minimum: lower the requests-per-second target or "
                 "maxReplicas."))
        rule = alert(ctx, "ModelGPUUnderused", expr, "ticket", text, wait=gpu["for"])
    else:
        expr = f"max(max_over_time({util}[1h])) < 1"
        text = (f"{ctx.name} in {ctx.env} holds idle GPUs",
                (f"Every GPU {ctx.name} requests has been idle (under 1 %) for {gpu['idleFor']}: scale it down or "
                 "remove resources.gpu in this environment."))
        rule = alert(ctx, "ModelGPUIdle", expr, "ticket", text, wait=gpu["idleFor"])
    return {"name": f"{ctx.name}-gpu", "rules": [rule]}


def groups(ctx: Context) -> list[dict[str, Any]]:
    """The rule groups of a model in an environment ([] without serving.slo, or for the base)."""
    slo = ctx.serving.get("slo")
    if not slo or not ctx.env:
        return []
    sli = resolve(slo)
    out = [_sli_group(ctx, sli), _alert_group(ctx)]
    if ctx.serving.get("canary"):
        out.append(_canary_group(ctx, sli))
    if ctx.gpu_pods:
        out.append(_gpu_group(ctx))
    return out


def requirements(ctx: Context) -> list[str]:
    """What the cluster must run for these rules to mean anything, beyond Prometheus."""
    if not (ctx.gpu_pods and ctx.serving.get("slo")):
        return []
    return [DCGM, KUBE_STATE_METRICS] if ctx.serving.get("autoscaling") else [DCGM]


def prometheus_rule(ctx: Context) -> Manifest | None:
    """The PrometheusRule of an environment, when the clusters run the Prometheus Operator."""
    rule_groups = groups(ctx)
    if not rule_groups or not ctx.prometheus_operator:
        return None
    labels = ctx.monitoring.get("ruleLabels")
    if labels is None:
        labels = ctx.monitoring["serviceMonitorLabels"]
    needs = requirements(ctx)
    meta = metadata(ctx, annotations={REQUIRES: "; ".join(needs)} if needs else None)
    meta["labels"].update(labels)
    obj = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta,
           "spec": {"groups": rule_groups}}
    return Manifest(obj, "prometheusrule.yaml", ORIGIN)
