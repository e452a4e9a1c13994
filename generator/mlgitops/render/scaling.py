"""The HorizontalPodAutoscaler and PodDisruptionBudget of a model."""

from __future__ import annotations

from typing import Any

from mlgitops.kube.quantity import text as quantity
from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest
from mlgitops.spec import pods

UNHEALTHY_POD_EVICTION_MINOR = 27  # PDB unhealthyPodEvictionPolicy: beta, on by default, from Kubernetes 1.27
# Pods that take minutes to load are removed gently: after 10 minutes of lower load, at most one pod or
# 10% of the pods (whichever is more) per minute.
GENTLE_SCALE_DOWN = {"policies": [{"periodSeconds": 60, "type": "Pods", "value": 1},
                                  {"periodSeconds": 60, "type": "Percent", "value": 10}],
                     "selectPolicy": "Max", "stabilizationWindowSeconds": 600}


def _behavior(ctx: Context, scaling: dict[str, Any]) -> dict[str, Any]:
    behavior = {k: dict(v) for k, v in scaling.get("behavior", {}).items()}
    if "scaleDown" not in behavior and pods.slow_starting(ctx.serving):
        behavior["scaleDown"] = GENTLE_SCALE_DOWN
    for rules in behavior.values():
        if "policies" in rules:
            rules["policies"] = [dict(p) for p in rules["policies"]]
    return behavior


def named_metric(spec: dict[str, Any]) -> dict[str, Any]:
    """An autoscaling/v2 MetricSpec from one of `autoscaling.metrics`: Pods, Object or External, by name."""
    metric: dict[str, Any] = {"name": spec["name"]}
    if "selector" in spec:
        metric["selector"] = {"matchLabels": dict(spec["selector"])}
    kind = "averageValue" if "averageValue" in spec else "value"
    target = {kind: quantity(spec[kind]), "type": "AverageValue" if kind == "averageValue" else "Value"}
    source: dict[str, Any] = {"metric": metric, "target": target}
    if spec["type"] == "Object":
        source["describedObject"] = dict(spec["object"])
    key = spec["type"].lower()
    return {key: source, "type": spec["type"]}


def horizontal_pod_autoscaler(ctx: Context) -> Manifest | None:
    scaling = ctx.serving.get("autoscaling")
    if not scaling:
        return None
    metrics = []
    if "targetCPUUtilization" in scaling:
        metrics.append({"resource": {"name": "cpu", "target": {"averageUtilization": scaling["targetCPUUtilization"],
                                                                "type": "Utilization"}}, "type": "Resource"})
    if "targetRequestsPerSecond" in scaling:
        metrics.append({"pods": {"metric": {"name": scaling["metric"]},
                                 "target": {"averageValue": str(scaling["targetRequestsPerSecond"]),
                                            "type": "AverageValue"}}, "type": "Pods"})
    metrics += [named_metric(m) for m in scaling.get("metrics", [])]
    spec = {"maxReplicas": scaling["maxReplicas"], "metrics": metrics, "minReplicas": scaling["minReplicas"],
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.name}}
    behavior = _behavior(ctx, scaling)
    if behavior:
        spec["behavior"] = behavior
    obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata(ctx), "spec": spec}
    fields = {"/spec/minReplicas": "/spec/serving/autoscaling/minReplicas",
              "/spec/maxReplicas": "/spec/serving/autoscaling/maxReplicas",
              "/spec/behavior": "/spec/serving/autoscaling/behavior"}
    return Manifest(obj, "hpa.yaml", "/spec/serving/autoscaling", fields)


def pod_disruption_budget(ctx: Context) -> Manifest | None:
    """A PDB whenever the model can run more than one pod (an HPA with minReplicas 1 can run ten);
    maxUnavailable 1 never blocks a drain, and unhealthy pods may always be evicted."""
    if ctx.max_pods < 2:
        return None
    spec: dict[str, Any] = {"maxUnavailable": 1, "selector": {"matchLabels": ctx.selector}}
    if ctx.kubernetes_minor >= UNHEALTHY_POD_EVICTION_MINOR:
        spec["unhealthyPodEvictionPolicy"] = "AlwaysAllow"
    obj = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata(ctx), "spec": spec}
    origin = "/spec/serving/autoscaling/maxReplicas" if ctx.autoscaled else "/spec/serving/replicas"
    return Manifest(obj, "pdb.yaml", origin)
