"""The Service, Ingress, NetworkPolicy and ServiceMonitor of a model."""

from __future__ import annotations

from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest

SERVICE_PORT = 80


def _separate_metrics(ctx: Context) -> bool:
    return ctx.metrics_port not in (None, ctx.serving["port"])


def service(ctx: Context) -> Manifest:
    ports = [{"name": "http", "port": SERVICE_PORT, "protocol": "TCP", "targetPort": "http"}]
    if _separate_metrics(ctx):
        ports.append({"name": "metrics", "port": ctx.metrics_port, "protocol": "TCP", "targetPort": "metrics"})
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": metadata(ctx),
           "spec": {"ports": ports, "selector": ctx.selector, "type": "ClusterIP"}}
    return Manifest(obj, "service.yaml", "/spec/serving/port")


def network_policy(ctx: Context) -> Manifest:
    ports = [{"port": ctx.serving["port"], "protocol": "TCP"}]
    if _separate_metrics(ctx):
        ports.append({"port": ctx.metrics_port, "protocol": "TCP"})
    rule: dict = {"ports": ports}
    namespaces = ctx.serving["networkPolicy"].get("allowFromNamespaces")
    if namespaces is not None:
        rule["from"] = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
                        for ns in namespaces]
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata(ctx),
           "spec": {"ingress": [rule], "podSelector": {"matchLabels": ctx.selector}, "policyTypes": ["Ingress"]}}
    return Manifest(obj, "networkpolicy.yaml", "/spec/serving/networkPolicy")


def ingress(ctx: Context) -> Manifest | None:
    spec_in = ctx.serving.get("ingress")
    if not spec_in:
        return None
    backend = {"service": {"name": ctx.name, "port": {"name": "http"}}}
    rule = {"host": spec_in["host"],
            "http": {"paths": [{"backend": backend, "path": spec_in["path"], "pathType": "Prefix"}]}}
    spec: dict = {"rules": [rule]}
    if "className" in spec_in:
        spec["ingressClassName"] = spec_in["className"]
    if "tlsSecret" in spec_in:
        spec["tls"] = [{"hosts": [spec_in["host"]], "secretName": spec_in["tlsSecret"]}]
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": metadata(ctx, annotations=spec_in.get("annotations")), "spec": spec}
    return Manifest(obj, "ingress.yaml", "/spec/serving/ingress")


def service_monitor(ctx: Context) -> Manifest | None:
    metrics = ctx.serving.get("metrics")
    if not metrics or not ctx.prometheus_operator:
        return None
    endpoint = {"interval": metrics["interval"], "path": metrics["path"],
                "port": "metrics" if _separate_metrics(ctx) else "http"}
    obj = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": metadata(ctx),
           "spec": {"endpoints": [endpoint], "selector": {"matchLabels": ctx.selector}}}
    return Manifest(obj, "servicemonitor.yaml", "/spec/serving/metrics")
