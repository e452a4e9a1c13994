"""The HorizontalPodAutoscaler and PodDisruptionBudget of a model."""

from __future__ import annotations

from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest


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
    spec = {"maxReplicas": scaling["maxReplicas"], "metrics": metrics, "minReplicas": scaling["minReplicas"],
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.name}}
    obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata(ctx), "spec": spec}
    fields = {"/spec/minReplicas": "/spec/serving/autoscaling/minReplicas",
              "/spec/maxReplicas": "/spec/serving/autoscaling/maxReplicas"}
    return Manifest(obj, "hpa.yaml", "/spec/serving/autoscaling", fields)


def pod_disruption_budget(ctx: Context) -> Manifest | None:
    if ctx.min_replicas < 2:
        return None
    obj = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata(ctx),
           "spec": {"maxUnavailable": 1, "selector": {"matchLabels": ctx.selector}}}
    origin = "/spec/serving/autoscaling/minReplicas" if ctx.autoscaled else "/spec/serving/replicas"
    return Manifest(obj, "pdb.yaml", origin)
