"""The Service, Ingress, NetworkPolicy and ServiceMonitor of a model."""

from __future__ import annotations

from typing import Any

from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest


def service_port(serving: dict[str, Any]) -> int:
    """The port the Service exposes the serving port on (`serving.service.port`, 80 by default)."""
    port: int = serving["service"]["port"]
    return port


def _separate_metrics(ctx: Context) -> bool:
    return ctx.metrics_port not in (None, ctx.serving["port"])


def extra_ports(serving: dict[str, Any]) -> list[dict[str, Any]]:
    """`serving.ports`: the model container's further ports, in the spec's order."""
    ports: list[dict[str, Any]] = serving.get("ports", [])
    return ports


def service(ctx: Context) -> Manifest:
    shape = ctx.serving["service"]
    ports = [{"name": "http", "port": service_port(ctx.serving), "protocol": "TCP", "targetPort": "http"}]
    if _separate_metrics(ctx):
        ports.append({"name": "metrics", "port": ctx.metrics_port, "protocol": "TCP", "targetPort": "metrics"})
    ports += [{"name": p["name"], "port": p["port"], "protocol": p["protocol"], "targetPort": p["name"]}
              for p in extra_ports(ctx.serving)]
    spec: dict[str, Any] = {"ports": ports, "selector": ctx.selector, "type": shape["type"]}
    if shape["headless"]:
        spec["clusterIP"] = "None"
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": metadata(ctx, annotations=shape.get("annotations")),
           "spec": spec}
    return Manifest(obj, "service.yaml", "/spec/serving/port",
                    {"/spec/type": "/spec/serving/service/type", "/spec/clusterIP": "/spec/serving/service/headless",
                     "/spec/ports/0/port": "/spec/serving/service/port",
                     "/metadata/annotations": "/spec/serving/service/annotations"})


def _namespace(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _serving_sources(ctx: Context) -> list[dict] | None:
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
    rule: dict = {"ports": [{"port": ctx.serving["port"], "protocol": "TCP"}]
                  + [{"port": p["port"], "protocol": p["protocol"]} for p in extra_ports(ctx.serving)]}
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
    meta = metadata(ctx)
    meta["labels"].update(ctx.monitoring["serviceMonitorLabels"])  # what Prometheus selects on: the config wins
    obj = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta,
           "spec": {"endpoints": [endpoint], "selector": {"matchLabels": ctx.selector}}}
    return Manifest(obj, "servicemonitor.yaml", "/spec/serving/metrics")
