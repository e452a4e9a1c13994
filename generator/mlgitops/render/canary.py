"""A canary: the stable version's objects, copied for the new version, and a weighted traffic split. Pure.

The canary's pods carry `app.kubernetes.io/name` and `instance` = `<model>-canary`, so the stable
Deployment's selector (which never changes: selectors are immutable) does not match them, nor does
the stable Service; the canary's own Deployment, Service, NetworkPolicy, PDB and ServiceMonitor select
only canary pods. Traffic: when mlgitops.yaml names a Gateway, the model's permanent HTTPRoute (render/network.py) weighs both
backends; else a second Ingress with ingress-nginx's canary annotations.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from mlgitops.kube.annotations import CANARY_OF
from mlgitops.render.context import Context
from mlgitops.render.labels import MODEL_LABEL, metadata
from mlgitops.render.manifest import Manifest
from mlgitops.render.scaling import UNHEALTHY_POD_EVICTION_MINOR
from mlgitops.render.storage import INITIALIZER

ORIGIN = "/spec/serving/canary"
VERSION = "app.kubernetes.io/version"


def canary_name(name: str) -> str:
    return f"{name}-canary"


def _relabel(labels: dict[str, Any] | None, ctx: Context, canary: dict[str, Any]) -> dict[str, Any]:
    out = dict(labels or {})
    for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", MODEL_LABEL):
        if out.get(key) == ctx.name:
            out[key] = canary_name(ctx.name)
    if VERSION in out:
        out[VERSION] = canary["version"]
    if "app.kubernetes.io/managed-by" in out:  # an object's own labels, not a selector
        out[CANARY_OF] = ctx.name
    return out


def _selector(ctx: Context) -> dict[str, Any]:
    return {k: canary_name(ctx.name) if v == ctx.name else v for k, v in ctx.selector.items()}


def _copy(m: Manifest, ctx: Context, canary: dict[str, Any], file: str) -> dict[str, Any]:
    obj = copy.deepcopy(m.obj)
    obj["metadata"]["name"] = canary_name(ctx.name)
    obj["metadata"]["labels"] = _relabel(obj["metadata"].get("labels"), ctx, canary)
    return obj


def _uri(ctx: Context, canary: dict[str, Any]) -> str | None:
    """The canary's own uri; a `{version}` template was expanded to it with the spec (spec.model.expand_version)."""
    if canary.get("uri"):
        return cast("str | None", canary["uri"])
    uri = ctx.spec["model"].get("uri")
    if uri and "{version}" in uri:
        return uri.replace("{version}", canary["version"])
    return uri


def _deployment(m: Manifest, ctx: Context, canary: dict[str, Any]) -> Manifest:
    obj = _copy(m, ctx, canary, "deployment-canary.yaml")
    spec = obj["spec"]
    spec["replicas"] = canary["replicas"]
    spec["selector"] = {"matchLabels": _selector(ctx)}
    template = spec["template"]
    template["metadata"]["labels"] = _relabel(template["metadata"].get("labels"), ctx, canary)
    for constraint in template["spec"].get("topologySpreadConstraints") or []:  # spread the canary's own pods
        if (constraint.get("labelSelector") or {}).get("matchLabels") == ctx.selector:
            constraint["labelSelector"] = {"matchLabels": _selector(ctx)}
    stable_image = ctx.serving["image"]
    for container in template["spec"]["containers"]:
        if container.get("image") == stable_image:
            _serve_canary(container, ctx, canary)
    for init in template["spec"].get("initContainers") or []:  # the weights the canary fetches are its own
        if init.get("name") == INITIALIZER and init.get("args") and _uri(ctx, canary):
            init["args"][0] = _uri(ctx, canary)
    return Manifest(obj, "deployment-canary.yaml", ORIGIN)


def _serve_canary(container: dict[str, Any], ctx: Context, canary: dict[str, Any]) -> None:
    """The stable model's container, made to serve the canary: its image, version and weights."""
    container["image"] = canary["image"]
    for var in container.get("env") or []:
        if var.get("name") == "MODEL_VERSION":
            var["value"] = canary["version"]
        elif var.get("name") == "MODEL_URI" and "value" in var:
            var["value"] = _uri(ctx, canary) or var["value"]


def _selecting(m: Manifest, ctx: Context, canary: dict[str, Any], file: str, path: tuple[str, ...]) -> Manifest:
    """A copy of an object whose selector (at path) picks the model's pods, picking the canary's instead."""
    obj = _copy(m, ctx, canary, file)
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = _selector(ctx)
    return Manifest(obj, file, ORIGIN)


def _nginx_ingress(m: Manifest, ctx: Context, canary: dict[str, Any]) -> Manifest:
    obj = _copy(m, ctx, canary, "ingress-canary.yaml")
    obj["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/canary": "true",
                                      "nginx.ingress.kubernetes.io/canary-weight": str(canary["weight"])}
    for rule in obj["spec"].get("rules", []):
        for path in rule["http"]["paths"]:
            path["backend"]["service"]["name"] = canary_name(ctx.name)
    return Manifest(obj, "ingress-canary.yaml", ORIGIN)


def objects(ctx: Context, stable: list[Manifest]) -> list[Manifest]:
    """The canary's objects for an effective spec with serving.canary; [] without one."""
    canary = ctx.serving.get("canary")
    if not canary:
        return []
    canary = {"replicas": 1, **canary}
    by_kind = {m.kind: m for m in stable}
    out = []
    if "Deployment" in by_kind:
        out.append(_deployment(by_kind["Deployment"], ctx, canary))
    if "Service" in by_kind:
        out.append(_selecting(by_kind["Service"], ctx, canary, "service-canary.yaml", ("spec", "selector")))
    if "NetworkPolicy" in by_kind:
        out.append(_selecting(by_kind["NetworkPolicy"], ctx, canary, "networkpolicy-canary.yaml",
                              ("spec", "podSelector", "matchLabels")))
    if "ServiceMonitor" in by_kind:
        monitor = _selecting(by_kind["ServiceMonitor"], ctx, canary, "servicemonitor-canary.yaml",
                             ("spec", "selector", "matchLabels"))
        monitor.obj["spec"]["selector"]["matchLabels"] = {MODEL_LABEL: canary_name(ctx.name)}
        out.append(monitor)
    pdb = by_kind.get("PodDisruptionBudget")
    if pdb is not None:
        out.append(_selecting(pdb, ctx, canary, "pdb-canary.yaml", ("spec", "selector", "matchLabels")))
    else:
        meta = {**metadata(ctx), "name": canary_name(ctx.name)}
        meta["labels"] = _relabel(meta["labels"], ctx, canary)
        spec: dict[str, Any] = {"maxUnavailable": 1, "selector": {"matchLabels": _selector(ctx)}}
        if ctx.kubernetes_minor >= UNHEALTHY_POD_EVICTION_MINOR:  # as the stable version's (scaling.py)
            spec["unhealthyPodEvictionPolicy"] = "AlwaysAllow"
        obj: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta, "spec": spec}
        out.append(Manifest(obj, "pdb-canary.yaml", ORIGIN))
    if "Ingress" in by_kind:  # without a Gateway (with one, the model's HTTPRoute weighs both: render/network.py)
        out.append(_nginx_ingress(by_kind["Ingress"], ctx, canary))
    return out
