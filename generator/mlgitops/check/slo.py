"""Every generated SLO rule and dashboard query, checked: PromQL syntax (promql-parser, a binding of the
Rust crate GreptimeDB maintains, which follows Prometheus' grammar), names unique, and every metric a rule
reads declared: by the spec or its server preset, recorded by the same rules, or one of the exporters the
rules name as prerequisites (kube-state-metrics, the DCGM exporter). The PrometheusRule itself is
validated against the upstream CRD with every other built object (schemas/crds/)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import promql_parser

from mlgitops import __version__
from mlgitops.render import context, dashboard, slo, slotest
from mlgitops.render.context import Context
from mlgitops.render.units import Unit
from mlgitops.report.findings import Finding
from mlgitops.spec.config import Config
from mlgitops.spec.model import BASE, Model, serves
from mlgitops.spec.slo import resolve
from mlgitops.tree import cache

RULE = "slo-rule"


def metrics(expr: str) -> set[str]:
    """The metric names an expression reads (ValueError when it is not PromQL)."""
    names: set[str] = set()

    def visit(node) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def declared(ctx: Context, groups: list[dict]) -> set[str]:
    """What the rules may read: the SLI metrics, their own recordings, the exporters they name."""
    out = resolve(ctx.serving["slo"]).metrics() | {r["record"] for g in groups for r in g["rules"] if "record" in r}
    out |= set(slo.KSM)
    if ctx.gpu_pods:
        out |= {slo.GPU_UTIL, slo.GPU_MEMORY}
    return out


def _expr_findings(expr: str, what: str, allowed: set[str], file: str) -> list[Finding]:
    try:
        read = metrics(expr)
    except ValueError as error:
        return [Finding(RULE, f"{what}: not valid PromQL ({error}): {expr}", file)]
    unknown = sorted(read - allowed)
    if unknown:
        return [Finding(RULE, f"{what} reads {', '.join(unknown)}, which neither the spec nor its server preset "
                        "declares", file, hint="name the metric in serving.slo (requests, errors, latencyHistogram)")]
    return []


def _unique(groups: list[dict], file: str) -> list[Finding]:
    """Group names, and each (rule name, labels): two rules recording one series, or two alerts of one name
    and labels, would overwrite each other."""
    out, seen_groups, seen = [], set(), set()
    for group in groups:
        if group["name"] in seen_groups:
            out.append(Finding(RULE, f"rule group {group['name']} appears twice", file))
        seen_groups.add(group["name"])
        for rule in group["rules"]:
            key = (rule.get("record") or rule.get("alert"), tuple(sorted(rule.get("labels", {}).items())))
            if key in seen:
                out.append(Finding(RULE, f"rule {key[0]} with labels {dict(key[1])} appears twice", file))
            seen.add(key)
    return out


def rule_findings(ctx: Context, groups: list[dict], file: str) -> list[Finding]:
    allowed = declared(ctx, groups)
    out = _unique(groups, file)
    for group in groups:
        for rule in group["rules"]:
            name = rule.get("record") or rule.get("alert")
            out += _expr_findings(rule["expr"], f"rule {name} ({group['name']})", allowed, file)
    return out


def dashboard_findings(ctx: Context, allowed: set[str], file: str) -> list[Finding]:
    model = json.loads(json.dumps(dashboard.model(ctx)))  # as Grafana reads it back
    out = []
    if model.get("schemaVersion") != dashboard.SCHEMA_VERSION:
        out.append(Finding(RULE, f"dashboard schemaVersion is {model.get('schemaVersion')}", file))
    for panel in model["panels"]:
        for target in panel["targets"]:
            out += _expr_findings(target["expr"], f"dashboard panel '{panel['title']}'", allowed, file)
    return out


def model_findings(model: Model, config: Config) -> list[Finding]:
    out: list[Finding] = []
    if not serves(model.effective[BASE]["spec"]):  # a training-only model: no SLO rules, no dashboard
        return out
    for env in config.env_names:
        ctx = context(model.effective[env], config, env)
        groups = slo.groups(ctx)
        if not groups:
            continue
        file = Unit(model.name, env).slo_file(slotest.RULE_FILE)
        out += rule_findings(ctx, groups, file)
        out += dashboard_findings(ctx, declared(ctx, groups), file)
    return out


def findings(models: Iterable[Model], config: Config) -> list[Finding]:
    """The findings of every model's generated SLO rules and dashboards."""
    return [f for m in models for f in model_findings(m, config)]


def cached(entries: Iterable, config: Config, root: Path, enabled: bool = True) -> list[Finding]:
    """findings() of the entries (generate's: name, path, raw, model) whose spec mentions slo, each kept in
    .mlgitops-cache/slo/ by the spec's bytes, the config and the tool's code: a warm check renders no rule."""
    store = cache.JsonStore(root, enabled, kind="slo")
    salt = cache.key(__version__, cache.code_fingerprint(), config.raw)
    out: list[Finding] = []
    for entry in entries:
        if b"slo" not in entry.raw:
            continue
        digest = cache.key(salt, entry.path, entry.raw)
        hit = store.get(digest)
        try:
            out += [Finding.from_dict(d) for d in hit]
            continue
        except (KeyError, TypeError, ValueError, AttributeError):  # a miss, or a corrupt entry: compute it
            pass
        found = model_findings(entry.model, config)
        store.put(digest, [f.as_dict() for f in found])
        out += found
    return out
