"""A Grafana dashboard per model and environment, as a ConfigMap Grafana's dashboard sidecar loads. Pure.

The sidecar (Grafana Helm chart, `sidecar.dashboards`) loads every ConfigMap carrying its label (default
`grafana_dashboard: "1"`, configurable in mlgitops.yaml) from the namespaces it searches. The JSON is the
dashboard model (schemaVersion 41, Grafana 12), keys sorted, so it only changes when the spec does; its uid
comes from the model and environment, so links (alerts' dashboard_url) stay valid and two environments in
one Grafana never collide.
"""

from __future__ import annotations

import json
from typing import Any

from mlgitops.kube.annotations import REQUIRES
from mlgitops.render import promql
from mlgitops.render import slo as rules
from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest
from mlgitops.spec.slo import resolve

SCHEMA_VERSION = 41
SIDECAR = "Grafana dashboard sidecar (sidecar.dashboards, searching the models' namespaces)"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTH = 12


def _panel(title: str, queries: list[tuple[str, str]], unit: str = "short", kind: str = "timeseries") -> dict[str, Any]:
    targets = [{"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
               for i, (expr, legend) in enumerate(queries)]
    return {"datasource": DATASOURCE, "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": targets, "title": title, "type": kind}


def _traffic(ctx: Context) -> list[dict[str, Any]]:
    sli = resolve(ctx.serving["slo"])
    exact, regex = promql.model_regex(ctx.namespace, ctx.name, "all", {})
    out = []
    if sli.requests:
        out.append(_panel("Request rate", [(promql.counter_rate(sli.requests, exact, regex, "5m"), "requests/s")],
                          "reqps"))
    if sli.histogram:
        sel = promql.selector(exact, {**sli.histogram.selector, **regex})
        bucket = f"sum by (le) (rate({sli.histogram.metric}_bucket{sel}[5m]))"
        unit = "ms" if sli.histogram.unit == "milliseconds" else "s"
        out.append(_panel("Latency percentiles", [(f"histogram_quantile({q}, {bucket})", f"p{int(q * 100)}")
                                                   for q in (0.5, 0.95, 0.99)], unit))
    return out


def _slo_panels(ctx: Context) -> list[dict[str, Any]]:
    out = []
    period = ctx.serving["slo"]["window"]
    for name, error_budget in rules.objectives(ctx.serving["slo"]):
        sel = rules.matcher(ctx, slo=name)
        out.append(_panel(f"{name.capitalize()}: error ratio", [(f"{rules.RATIO}5m{sel}", "5m"),
                                                                 (f"{rules.RATIO}1h{sel}", "1h")], "percentunit"))
        out.append(_panel(f"{name.capitalize()}: error budget remaining ({period})",
                          [(f"1 - {rules.RATIO}{period}{sel} / {rules.number(error_budget)}", "remaining")],
                          "percentunit", "stat"))
        out.append(_panel(f"{name.capitalize()}: burn rate", [(f"{rules.RATIO}{w}{sel} / {rules.number(error_budget)}",
                                                              w) for w in ("5m", "1h", "6h", "1d")]))
    return out


def _capacity(ctx: Context) -> list[dict[str, Any]]:
    deployment = promql.selector({"deployment": ctx.name, "namespace": ctx.namespace}, {})
    queries = [(f"sum({rules.KSM[0]}{deployment})", "replicas")]
    title = "Replicas"
    if ctx.serving.get("autoscaling"):
        hpa = promql.selector({"horizontalpodautoscaler": ctx.name, "namespace": ctx.namespace}, {})
        queries += [(f"max({rules.KSM[1]}{hpa})", "HPA min"), (f"max({rules.KSM[2]}{hpa})", "HPA max")]
        title = "Replicas and the HPA's bounds"
    out = [_panel(title, queries)]
    if ctx.gpu_pods:
        sel = rules.gpu_selector(ctx)
        out.append(_panel("GPU utilisation", [(f"avg({rules.GPU_UTIL}{sel})", "average")], "percent"))
        out.append(_panel("GPU memory used", [(f"sum({rules.GPU_MEMORY}{sel})", "used")], "decmbytes"))
    return out


def _canary(ctx: Context) -> list[dict[str, Any]]:
    if not ctx.serving.get("canary"):
        return []
    return [_panel(f"Canary vs stable: {name}",
                   [(f"{rules.CANARY_RATIO}{rules.matcher(ctx, slo=name, track=track)}", track)
                    for track in ("stable", "canary")], "percentunit")
            for name, _ in rules.objectives(ctx.serving["slo"])]


def _layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two panels a row, 8 units high; ids in order."""
    return [{**p, "gridPos": {"h": 8, "w": WIDTH, "x": (i % 2) * WIDTH, "y": (i // 2) * 8}, "id": i + 1}
            for i, p in enumerate(panels)]


def model(ctx: Context) -> dict[str, Any]:
    """The dashboard JSON model."""
    panels = _layout([*_traffic(ctx), *_slo_panels(ctx), *_capacity(ctx), *_canary(ctx)])
    variable = {"current": {}, "hide": 0, "includeAll": False, "label": "Data source", "multi": False,
                "name": "datasource", "options": [], "query": "prometheus", "refresh": 1, "type": "datasource"}
    return {"editable": False, "panels": panels, "refresh": "1m", "schemaVersion": SCHEMA_VERSION,
            "tags": ["mlgitops", ctx.team, ctx.name], "templating": {"list": [variable]},
            "time": {"from": "now-6h", "to": "now"}, "timezone": "utc",
            "title": f"{ctx.name} ({ctx.env})", "uid": rules.uid(ctx.name, ctx.env), "version": 1}


def config_map(ctx: Context) -> Manifest | None:
    """The dashboard's ConfigMap in an environment with serving.slo ([] for the base)."""
    if not ctx.env or not ctx.serving.get("slo"):
        return None
    needs = [SIDECAR, *rules.requirements(ctx)]
    # named as the model, like every serving object: check attributes a batch's output by name and instance label
    meta = metadata(ctx, annotations={REQUIRES: "; ".join(needs)})
    meta["labels"].update(ctx.monitoring.get("dashboardLabels", {"grafana_dashboard": "1"}))
    body = json.dumps(model(ctx), sort_keys=True, separators=(",", ":"))
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {f"{ctx.name}.json": body}}
    return Manifest(obj, "dashboard.yaml", rules.ORIGIN)
