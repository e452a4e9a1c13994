"""The Service, Ingress, NetworkPolicy and ServiceMonitor of a model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgitops.render.canary import canary_name
from mlgitops.render.context import Context
from mlgitops.render.labels import CRD_EXTRA, MODEL_LABEL, metadata
from mlgitops.render.manifest import Manifest


def service_port(serving: Mapping[str, Any]) -> int:
    """The port the Service exposes the serving port on (`serving.service.port`, 80 by default)."""
    port: int = serving["service"]["port"]
    return port


def _separate_metrics(ctx: Context) -> bool:
    return ctx.metrics_port not in (None, ctx.serving["port"])


def extra_ports(serving: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`serving.ports`: the model container's further ports, in the spec's order."""
    ports: list[dict[str, Any]] = serving.get("ports", [])
    return ports


def service(ctx: Context) -> Manifest:
    shape = ctx.serving["service"]
    ports = [{"name": "http", "port": service_port(ctx.serving), "protocol": "TCP", "targetPort": "http"}]
    if _separate_metrics(ctx):
        ports.append({"name": "metrics", "port": ctx.metrics_port, "protocol": "TCP", "targetPort": "metrics"})
    meta = metadata(ctx, annotations=shape.get("annotations"))
    meta["labels"][MODEL_LABEL] = ctx.name  # what the ServiceMonitor selects (labels.MODEL_LABEL)
    ports += [{"name": p["name"], "port": p["port"], "protocol": p["protocol"], "targetPort": p["name"]}
              for p in extra_ports(ctx.serving)]
    spec: dict[str, Any] = {"ports": ports, "selector": ctx.selector, "type": shape["type"]}
    if shape["headless"]:
        spec["clusterIP"] = "None"
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": meta,
           "spec": spec}
    return Manifest(obj, "service.yaml", "/spec/serving/port",
                    {"/spec/type": "/spec/serving/service/type", "/spec/clusterIP": "/spec/serving/service/headless",
                     "/spec/ports/0/port": "/spec/serving/service/port",
                     "/metadata/annotations": "/spec/serving/service/annotations"})


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _serving_sources(ctx: Context) -> list[dict[str, Any]] | None:
    """Who may call the serving port: None for anyone (`allowAllNamespaces`), else the named namespaces, the
    ingress controller's or Gateway's when they route to the model, the monitoring namespace when it scrapes the
    serving port, and the model's own namespace (`allowSameNamespace`, by default)."""
    policy = ctx.serving["networkPolicy"]
    if policy.get("allowAllNamespaces"):
        return None
    names = list(policy.get("allowFromNamespaces") or [])
    if ctx.serving.get("ingress") and not ctx.routed_by_gateway:
        names.append(ctx.ingress_controller["namespace"])
    if ctx.routed_by_gateway:  # the HTTPRoute: the Gateway's proxies call the pods
        names.append(ctx.gateway["namespace"])  # type: ignore[index]
    if ctx.metrics_port == ctx.serving["port"]:
        names.append(ctx.monitoring["namespace"])
    peers = [_namespace(ns) for ns in dict.fromkeys(names)]
    if policy["allowSameNamespace"]:
        peers.append({"podSelector": {}})  # a pod selector alone: every pod of the policy's own namespace
    return peers


def _egress(policy: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Egress anywhere but `denyEgressTo` (by default the cloud metadata endpoints: a pod that loads a pickled
    model could otherwise read the node's cloud credentials); None when the list is empty (no egress policy).
    Pods of every namespace are a peer of their own: an ipBlock is meant for cluster-external addresses and some
    network plugins (Cilium) do not match pod IPs with it, which would cut off DNS and in-cluster callees."""
    denied = policy["denyEgressTo"]
    if not denied:
        return None
    blocks = []
    for everything in ("0.0.0.0/0", "::/0"):
        ipv6 = ":" in everything
        except_ = [c for c in denied if (":" in c) == ipv6]
        blocks.append({"ipBlock": {"cidr": everything, **({"except": except_} if except_ else {})}})
    return [{"to": [{"namespaceSelector": {}}, *blocks]}]


def network_policy(ctx: Context) -> Manifest:
    """The serving port for its callers; a separate metrics port for the monitoring namespace only."""
    rule: dict[str, Any] = {"ports": [{"port": ctx.serving["port"], "protocol": "TCP"}]
                  + [{"port": p["port"], "protocol": p["protocol"]} for p in extra_ports(ctx.serving)]}
    sources = _serving_sources(ctx)
    if sources is not None:
        rule["from"] = sources
    rules = [rule]
    if _separate_metrics(ctx):
        rules.append({"from": [_namespace(ctx.monitoring["namespace"])],
                      "ports": [{"port": ctx.metrics_port, "protocol": "TCP"}]})
    spec: dict[str, Any] = {"ingress": rules, "podSelector": {"matchLabels": ctx.selector}, "policyTypes": ["Ingress"]}
    egress = _egress(ctx.serving["networkPolicy"])
    if egress is not None:
        spec["egress"] = egress
        spec["policyTypes"] = ["Ingress", "Egress"]
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata(ctx), "spec": spec}
    return Manifest(obj, "networkpolicy.yaml", "/spec/serving/networkPolicy",
                    {"/spec/ingress/1": "/spec/serving/metrics"})


def ingress(ctx: Context) -> Manifest | None:
    spec_in = ctx.serving.get("ingress")
    if not spec_in or ctx.routed_by_gateway:  # the HTTPRoute is the entry point: never two for one host
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


def _backends(ctx: Context) -> list[dict[str, Any]]:
    """The stable Service, and the canary's with its weight while a canary runs."""
    canary = ctx.serving.get("canary")
    if not canary:
        return [{"name": ctx.name, "port": service_port(ctx.serving)}]
    return [{"name": ctx.name, "port": service_port(ctx.serving), "weight": 100 - canary["weight"]},
            {"name": canary_name(ctx.name), "port": service_port(ctx.serving), "weight": canary["weight"]}]


def _parent(ctx: Context) -> dict[str, Any]:
    """The Gateway for a model with a host; for an in-cluster canary the model's own Service (Gateway API's
    service-mesh routing, GAMMA: a mesh that implements it splits the requests callers send to the Service)."""
    if ctx.mesh_routed:
        return {"group": "", "kind": "Service", "name": ctx.name, "port": service_port(ctx.serving)}
    gateway: dict[str, Any] = ctx.gateway  # type: ignore[assignment]
    parent = {"name": gateway["name"], "namespace": gateway["namespace"]}
    if gateway.get("sectionName"):
        parent["sectionName"] = gateway["sectionName"]
    return parent


def http_route(ctx: Context) -> Manifest | None:
    """With a Gateway configured, the model's permanent entry point for its host (stable only without a canary,
    weighted while one runs), in place of an Ingress; or a GAMMA route splitting an in-cluster canary."""
    if not (ctx.routed_by_gateway or ctx.mesh_routed):
        return None
    ingress_spec = ctx.serving.get("ingress") or {}
    rule = {"backendRefs": _backends(ctx),
            "matches": [{"path": {"type": "PathPrefix", "value": ingress_spec.get("path", "/")}}]}
    spec: dict[str, Any] = {"parentRefs": [_parent(ctx)], "rules": [rule]}
    if ingress_spec.get("host"):
        spec["hostnames"] = [ingress_spec["host"]]
    meta = metadata(ctx)
    meta["labels"][CRD_EXTRA] = "true"
    obj = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta, "spec": spec}
    return Manifest(obj, "httproute.yaml", "/spec/serving/ingress" if ctx.routed_by_gateway else "/spec/serving/canary")


def service_monitor(ctx: Context) -> Manifest | None:
    metrics = ctx.serving.get("metrics")
    if not metrics or not ctx.prometheus_operator:
        return None
    endpoint = {"interval": metrics["interval"], "path": metrics["path"],
                "port": "metrics" if _separate_metrics(ctx) else "http"}
    meta = metadata(ctx)
    meta["labels"][CRD_EXTRA] = "true"
    meta["labels"].update(ctx.monitoring["serviceMonitorLabels"])  # what Prometheus selects on: the config wins
    obj = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta,
           "spec": {"endpoints": [endpoint], "selector": {"matchLabels": {MODEL_LABEL: ctx.name}}}}
    return Manifest(obj, "servicemonitor.yaml", "/spec/serving/metrics")
