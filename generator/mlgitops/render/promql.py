"""PromQL text for a model's series: selectors and the SLI ratios, built from plain data. Pure."""

from __future__ import annotations

from typing import Any

from mlgitops.spec.slo import Counters, Histogram

POD = "[a-z0-9]+-[a-z0-9]+"  # a Deployment's pods: <name>-<ReplicaSet hash>-<suffix>


def pods(name: str, track: str) -> str:
    """The pod-name regex of a model's stable, canary or all pods. Prometheus anchors regexes fully and the
    hash and suffix hold no '-', so `m-<hash>-<id>` never matches `m-canary-<hash>-<id>` nor model `m-x`'s pods."""
    return {"stable": f"{name}-{POD}", "canary": f"{name}-canary-{POD}", "all": f"{name}(-canary)?-{POD}"}[track]


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def selector(exact: dict[str, str], regex: dict[str, str]) -> str:
    parts = [f"{k}={quote(v)}" for k, v in sorted(exact.items())]
    parts += [f"{k}=~{quote(v)}" for k, v in sorted(regex.items()) if k not in exact]
    return "{" + ",".join(parts) + "}"


def model_regex(namespace: str, name: str, track: str, extra: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"namespace": namespace}, {**extra, "pod": pods(name, track)}


def counter_rate(counters: Counters, exact: dict[str, Any], regex: dict[str, Any], window: str, zero: bool = False) -> str:
    """The summed per-second rate of counters; several are added (each `or vector(0)`, so one that was never
    incremented does not empty the sum); zero: an absent single counter counts 0 too."""
    sel = selector(exact, {**counters.selector, **regex})
    terms = [f"sum(rate({m}{sel}[{window}]))" for m in counters.metrics]
    if len(terms) == 1:
        return f"({terms[0]} or vector(0))" if zero else terms[0]
    return "(" + " + ".join(f"({t} or vector(0))" for t in terms) + ")"


def availability_ratio(requests: Counters, errors: Counters, exact: dict[str, Any], regex: dict[str, Any], window: str) -> str:
    """Failed requests / all requests over window."""
    failed = Counters(errors.metrics, {**requests.selector, **errors.selector})
    return f"{counter_rate(failed, exact, regex, window, zero=True)} / {counter_rate(requests, exact, regex, window)}"


def latency_ratio(histogram: Histogram, le: str, exact: dict[str, Any], regex: dict[str, Any], window: str) -> str:
    """Requests slower than the bucket bound le / all requests over window."""
    sel = selector(exact, {**histogram.selector, **regex})
    fast = selector({**exact, "le": le}, {**histogram.selector, **regex})
    total = f"sum(rate({histogram.metric}_count{sel}[{window}]))"
    return f"({total} - sum(rate({histogram.metric}_bucket{fast}[{window}]))) / {total}"
