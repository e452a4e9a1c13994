"""The Service, Ingress, NetworkPolicy and ServiceMonitor of a model."""

from __future__ import annotations

from typing import Any

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


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _serving_sources(ctx: Context) -> list[dict[str, Any]] | None:
    """Who may call the serving port: None for anyone, else namespaces (and the model's own namespace)."""
    policy = ctx.serving["networkPolicy"]
    namespaces = policy.get("allowFromNamespaces")
    if namespaces is None:
        return None
    names = list(namespaces)
    if ctx.serving.get("ingress"):
        names.append(ctx.ingress_controller["namespace"])
    if ctx.routed_by_gateway:  # the canary's HTTPRoute: the Gateway's proxies call both versions' pods
        names.append(ctx.gateway["namespace"])  # type: ignore[index]
    if ctx.metrics_port == ctx.serving["port"]:
        names.append(ctx.monitoring["namespace"])
    peers = [_namespace(ns) for ns in dict.fromkeys(names)]
    if policy["allowSameNamespace"]:
        peers.append({"podSelector": {}})  # a pod selector alone: every pod of the policy's own namespace
    return peers


def network_policy(ctx: Context) -> Manifest:
    """The serving port for its callers; a separate metrics port for the monitoring namespace only."""
    rule: dict[str, Any] = {"ports": [{"port": ctx.serving["port"], "protocol": "TCP"}]}
    sources = _serving_sources(ctx)
    if sources is not None:
        rule["from"] = sources
    rules = [rule]
    if _separate_metrics(ctx):
        rules.append({"from": [_namespace(ctx.monitoring["namespace"])],
                      "ports": [{"port": ctx.metrics_port, "protocol": "TCP"}]})
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata(ctx),
           "spec": {"ingress": rules, "podSelector": {"matchLabels": ctx.selector}, "policyTypes": ["Ingress"]}}
    return Manifest(obj, "networkpolicy.yaml", "/spec/serving/networkPolicy",
                    {"/spec/ingress/1": "/spec/serving/metrics"})


def ingress(ctx: Context) -> Manifest | None:
    spec_in = ctx.serving.get("ingress")
    if not spec_in:
        return None
    backend = {"service": {"name": ctx.name, "port": {"name": "http"}}}
    rule = {"host": spec_in["host"],
            "http": {"paths": [{"backend": backend, "path": spec_in["path"], "pathType": "Prefix"}]}}
    spec: dict[str, Any] = {"rules": [rule]}
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
    meta = metadata(ctx)
    meta["labels"].update(ctx.monitoring["serviceMonitorLabels"])  # what Prometheus selects on: the config wins
    obj = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta,
           "spec": {"endpoints": [endpoint], "selector": {"matchLabels": ctx.selector}}}
    return Manifest(obj, "servicemonitor.yaml", "/spec/serving/metrics")
