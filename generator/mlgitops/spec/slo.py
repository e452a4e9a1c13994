"""What a model's SLOs read: the metric names its server exposes (presets) or the spec's own. Pure.

Presets name what each server really exposes (docs/slo.md cites the sources):
- fastapi: prometheus-fastapi-instrumentator: `http_requests_total{handler,method,status}` (status grouped
  as `2xx`/`5xx` by default, which `5..` matches as it matches `503`) and the histogram
  `http_request_duration_seconds{handler,method}`.
- flask: prometheus_flask_exporter: `flask_http_request_total{method,status}` and the histogram
  `flask_http_request_duration_seconds{method,path,status}`.
- vllm: vLLM's OpenAI server instruments its FastAPI app with prometheus-fastapi-instrumentator
  (`http_requests_total`) and records `vllm:e2e_request_latency_seconds` (histogram).
- triton: `nv_inference_request_success` and `nv_inference_request_failure` (counters per model and
  version); its `nv_inference_request_duration_us` is a cumulative counter, not a histogram: no latency SLI.
- torchserve (`metrics_mode=prometheus`): the frontend's `Requests2XX`, `Requests4XX`, `Requests5XX`
  counters; `ts_inference_latency_microseconds` is a counter: no latency SLI.
- kserve: the Python model server's `request_predict_seconds` histogram; no request status counter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import promql_parser

from mlgitops.report.findings import Finding

SERVER_ERRORS = {"status": "5.."}
# Values a successful request's label may hold; an error matcher must refuse one (the promtool tests use it).
GOOD_VALUES = ("200", "2xx", "ok", "success", "true", "0")
DECIMALS = 3  # an objective's decimal places: 99.999 % still leaves a whole request in 100,000 failing


@dataclass(frozen=True)
class Counters:
    metrics: tuple[str, ...]
    selector: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Histogram:
    metric: str
    selector: dict[str, str] = field(default_factory=dict)
    unit: str = "seconds"


@dataclass(frozen=True)
class Sli:
    requests: Counters | None
    errors: Counters | None
    histogram: Histogram | None

    def metrics(self) -> set[str]:
        """Every series name the SLIs read (a histogram by its _bucket and _count)."""
        out: set[str] = set()
        for counters in (self.requests, self.errors):
            if counters:
                out.update(counters.metrics)
        if self.histogram:
            out.update({f"{self.histogram.metric}_bucket", f"{self.histogram.metric}_count"})
        return out


_HTTP = Counters(("http_requests_total",))
PRESETS: dict[str, Sli] = {
    "fastapi": Sli(_HTTP, Counters(("http_requests_total",), SERVER_ERRORS), Histogram("http_request_duration_seconds")),
    "flask": Sli(Counters(("flask_http_request_total",)), Counters(("flask_http_request_total",), SERVER_ERRORS),
                 Histogram("flask_http_request_duration_seconds")),
    "vllm": Sli(_HTTP, Counters(("http_requests_total",), SERVER_ERRORS), Histogram("vllm:e2e_request_latency_seconds")),
    "triton": Sli(Counters(("nv_inference_request_success", "nv_inference_request_failure")),
                  Counters(("nv_inference_request_failure",)), None),
    "torchserve": Sli(Counters(("Requests2XX", "Requests4XX", "Requests5XX")), Counters(("Requests5XX",)), None),
    "kserve": Sli(None, None, Histogram("request_predict_seconds")),
}
NONE = Sli(None, None, None)


def _counters(spec: dict[str, Any] | None) -> Counters | None:
    return Counters(tuple(spec["metrics"]), dict(spec.get("selector", {}))) if spec else None


def resolve(slo: dict[str, Any]) -> Sli:
    """The SLIs of an effective `serving.slo`: the preset's metrics, replaced by any the spec names."""
    preset = PRESETS.get(slo.get("server", ""), NONE)
    histogram = slo.get("latencyHistogram")
    return Sli(_counters(slo.get("requests")) or preset.requests, _counters(slo.get("errors")) or preset.errors,
               Histogram(histogram["metric"], dict(histogram.get("selector", {})), histogram.get("unit", "seconds"))
               if histogram else preset.histogram)


def budget(objective: float) -> Decimal:
    """The error budget as a ratio: 99.5 -> 0.005 (exact: no float residue in the rules)."""
    return (Decimal(100) - Decimal(str(objective))) / Decimal(100)


def threshold_seconds(threshold: str) -> Decimal:
    if threshold.endswith("ms"):
        return Decimal(threshold[:-2]) / Decimal(1000)
    return Decimal(threshold[:-1])


def bucket_bound(threshold: str, unit: str) -> str:
    """The `le` label value of the bucket at the threshold, as Prometheus (3.x) normalises it: 0.3, 1.0, 300.0."""
    value = threshold_seconds(threshold) * (1000 if unit == "milliseconds" else 1)
    return repr(float(value))


def _objective_findings(slo: dict[str, Any], where: Any) -> list[Finding]:
    out = []
    for pointer, value in (("availability", slo.get("availability")),
                           ("latency/objective", (slo.get("latency") or {}).get("objective"))):
        if value is not None and Decimal(str(value)).as_tuple().exponent < -DECIMALS:  # type: ignore[operator]
            file, pos = where(f"/spec/serving/slo/{pointer}", False)
            out.append(Finding("slo-metrics", f"objective {value} has more than {DECIMALS} decimal places", file, pos,
                               "round it (99.999 is the finest objective)"))
    return out


def _regex_error(regex: str) -> str:
    """Why Prometheus would refuse the regex (RE2, as promql-parser checks it); "" when it would not."""
    try:
        promql_parser.parse(f"x{{l=~{json.dumps(regex)}}}")
    except ValueError as error:
        return str(error)
    return ""


def _full_match(regex: str, value: str) -> bool:
    try:
        return re.fullmatch(regex, value) is not None
    except re.error:  # RE2 syntax Python does not read: assume it does not match
        return False


def _selector_findings(slo: dict[str, Any], where: Any) -> list[Finding]:
    """Every matcher a regular expression; an error matcher that some successful request escapes."""
    out = []
    for section in ("requests", "errors", "latencyHistogram"):
        for label, regex in ((slo.get(section) or {}).get("selector") or {}).items():
            pointer = f"/spec/serving/slo/{section}/selector/{label}"
            error = _regex_error(regex)
            if error:
                file, pos = where(pointer, False)
                out.append(Finding("slo-metrics", f"{label}: not a regular expression Prometheus accepts ({error})",
                                   file, pos, "Prometheus reads RE2: no lookarounds or backreferences"))
                continue
            if section == "errors" and all(_full_match(regex, v) for v in GOOD_VALUES):
                file, pos = where(pointer, False)
                out.append(Finding("slo-metrics", f"the error matcher {label}=~\"{regex}\" matches successful "
                                   f"requests too ({', '.join(GOOD_VALUES)})", file, pos,
                                   'match the failures only, e.g. status: "5.."'))
    return out


def _measurable_findings(slo: dict[str, Any], where: Any) -> list[Finding]:
    """An objective the metrics cannot measure: availability without counters, latency without a histogram."""
    sli = resolve(slo)
    server = slo.get("server")
    out = []
    if "availability" in slo and not (sli.requests and sli.errors):
        what = f"server '{server}' exposes no request status counters" if server else "no request counters are named"
        file, pos = where("/spec/serving/slo/availability", True)
        out.append(Finding("slo-metrics", f"an availability objective needs request and error counters: {what}",
                           file, pos, "name them in slo.requests and slo.errors (or choose a server preset)"))
    if "latency" in slo and sli.histogram is None:
        what = f"server '{server}' exposes no latency histogram" if server else "no latency histogram is named"
        file, pos = where("/spec/serving/slo/latency", True)
        out.append(Finding("slo-metrics", f"a latency objective needs a histogram: {what}", file, pos,
                           "name it in slo.latencyHistogram (or choose a server preset)"))
    return out


def findings(data: dict[str, Any], where: Any) -> list[Finding]:
    """What the schema cannot say about an effective `serving.slo`."""
    slo = data["spec"]["serving"].get("slo")
    if not slo:
        return []
    return _measurable_findings(slo, where) + _objective_findings(slo, where) + _selector_findings(slo, where)
