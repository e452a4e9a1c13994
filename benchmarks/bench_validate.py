"""Throughput of the built-in Kubernetes validator: parse alone, and parse + validate, on one core.

Synthesizes realistic kustomize-style output (one multi-document stream per model and environment:
ServiceAccount, Service, Deployment, HPA, PDB, NetworkPolicy, ServiceMonitor, some ConfigMaps and
Ingresses), about 20,000 resources, then times mlgitops.kube.manifests.parse_stream and
mlgitops.kube.validator.validate_documents in this process, pinned to one CPU. Schemas are compiled
before timing (a warm-up pass), as they would be after the first overlay of a real run.

usage: .venv/bin/python benchmarks/bench_validate.py [--resources N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from mlgitops.kube import goyaml, manifests, validator, yamlexact
from mlgitops.kube import schemas as kubeschemas
from mlgitops.tree import yamlemit

TEAMS = ("vision", "fraud", "search", "ranking", "speech")
ENVIRONMENTS = (("dev", 1), ("staging", 1), ("prod", 3))


def _labels(model: str, env: str, team: str) -> dict:
    return {"app.kubernetes.io/instance": model, "app.kubernetes.io/managed-by": "mlgitops",
            "app.kubernetes.io/name": model, "app.kubernetes.io/part-of": team,
            "app.kubernetes.io/version": "2.1.0", "mlgitops.io/environment": env, "mlgitops.io/team": team}


def _meta(model: str, env: str, team: str, name: str | None = None) -> dict:
    return {"labels": _labels(model, env, team), "name": name or model, "namespace": f"ml-{env}"}


def _probe(path: str, period: int) -> dict:
    return {"failureThreshold": 3, "httpGet": {"path": path, "port": "http"}, "periodSeconds": period,
            "timeoutSeconds": 2}


def _deployment(model: str, env: str, team: str, gpu: bool) -> dict:
    selector = {"app.kubernetes.io/instance": model, "app.kubernetes.io/name": model}
    limits = {"cpu": "4", "memory": "16Gi", **({"nvidia.com/gpu": "1"} if gpu else {})}
    container = {
        "env": [{"name": "MODEL_NAME", "value": model}, {"name": "MODEL_VERSION", "value": "2.1.0"},
                {"name": "MODEL_URI", "value": f"s3://models/{model}/2.1.0/model.pt"}],
        "image": f"registry.example.com/{team}/{model}:2.1.0", "imagePullPolicy": "IfNotPresent",
        "livenessProbe": _probe("/healthz", 20), "name": "model-server",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"},
                  {"containerPort": 9090, "name": "metrics", "protocol": "TCP"}],
        "readinessProbe": _probe("/ready", 10),
        "resources": {"limits": limits, "requests": {"cpu": "2", "memory": "8Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True, "runAsNonRoot": True},
    }
    pod = {"automountServiceAccountToken": False, "containers": [container],
           "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
           "serviceAccountName": model}
    if gpu:
        pod["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
        pod["tolerations"] = [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}]
    template = {"metadata": {"annotations": {"prometheus.io/port": "9090", "prometheus.io/scrape": "true"},
                             "labels": _labels(model, env, team)}, "spec": pod}
    spec = {"revisionHistoryLimit": 5, "selector": {"matchLabels": selector},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}, "type": "RollingUpdate"},
            "template": template}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(model, env, team), "spec": spec}


def overlay(i: int, env: str, replicas: int) -> list[dict]:
    """The objects kustomize would print for model i in one environment."""
    model, team = f"model-{i:04d}", TEAMS[i % len(TEAMS)]
    selector = {"app.kubernetes.io/instance": model, "app.kubernetes.io/name": model}
    meta = _meta(model, env, team)
    out = [
        {"apiVersion": "v1", "automountServiceAccountToken": False, "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
                      {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": "metrics"}],
            "selector": selector, "type": "ClusterIP"}},
        _deployment(model, env, team, gpu=i % 4 == 0),
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta, "spec": {
            "maxReplicas": 10 * replicas, "minReplicas": replicas,
            "metrics": [{"resource": {"name": "cpu", "target": {"averageUtilization": 70, "type": "Utilization"}},
                         "type": "Resource"}],
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": model}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
         "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": {
            "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}, {"port": 9090, "protocol": "TCP"}]}],
            "podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta, "spec": {
            "endpoints": [{"interval": "30s", "path": "/metrics", "port": "metrics"}],
            "selector": {"matchLabels": selector}}},
    ]
    if i % 3 == 0:
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(model, env, team, f"{model}-config"),
                    "data": {"LOG_LEVEL": "info", "BATCH_SIZE": "32", "config.yaml": "threads: 4\nwarmup: true\n"}})
    if i % 5 == 0:
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": {
            "ingressClassName": "nginx", "rules": [{"host": f"{model}.{env}.example.com", "http": {"paths": [
                {"backend": {"service": {"name": model, "port": {"name": "http"}}}, "path": "/",
                 "pathType": "Prefix"}]}}]}})
    return out


def synthesize(resources: int) -> list[tuple[str, str]]:
    """(source name, multi-document YAML) per model and environment, until `resources` objects."""
    streams, total, i = [], 0, 0
    while total < resources:
        for env, replicas in ENVIRONMENTS:
            objects = overlay(i, env, replicas)
            streams.append((f"overlays/{env}/model-{i:04d}", yamlemit.dumps_all(objects)))
            total += len(objects)
        i += 1
    return streams


def _time(label: str, fn, count: int, repeat: int) -> float:
    best = min(_once(fn) for _ in range(repeat))
    print(f"{label:<34} {count:>7} resources  {best:7.3f} s  {count / best:>9,.0f} resources/s")
    return best


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of R runs")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    streams = synthesize(args.resources)
    size = sum(len(text) for _, text in streams)
    options = validator.Options()
    schemas = kubeschemas.schema_set(options.kubernetes_version, options.strict)

    def parse() -> int:  # results are dropped as they come, as a streaming caller would
        return sum(len(manifests.parse_stream(text, name)) for name, text in streams)

    def parse_and_validate() -> list:
        bad = []
        for name, text in streams:
            results = validator.validate_documents(manifests.parse_stream(text, name), options, schemas)
            bad += [r for r in results if r.verdict is not validator.Verdict.VALID]
        return bad

    bad = parse_and_validate()  # compiles every schema once, checks the corpus is valid
    assert not bad, f"synthetic corpus should be valid: {bad[:3]}"
    count = parse()
    exact = sum(goyaml.needs_exact(chunk) for _, text in streams for _, chunk in manifests.split_stream(text))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, pinned to 1; "
          f"Python {platform.python_version()}")
    print(f"corpus: {count} resources in {len(streams)} streams, {size / 1e6:.1f} MB; "
          f"{exact} took the exact (slow) YAML path")
    _time("parse (split + YAML)", parse, count, args.repeat)
    parsed = [manifests.parse_stream(text, name) for name, text in streams]
    _time("validate (already parsed)",
          lambda: [validator.validate_documents(docs, options, schemas) for docs in parsed], count, args.repeat)
    parsed.clear()
    _time("parse + validate", parse_and_validate, count, args.repeat)
    chunks = [chunk for _, text in streams[: len(streams) // 10] for _, chunk in manifests.split_stream(text)]
    _time("exact reader alone (the fallback)", lambda: [yamlexact.load(c) for c in chunks], len(chunks), 1)


if __name__ == "__main__":
    main()
