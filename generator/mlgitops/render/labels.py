"""Names and labels shared by every object of a model. Selectors never carry the version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MANAGED_BY = "mlgitops"
ENV_LABEL = "mlgitops.io/environment"
# The model a Service serves, in a label only mlgitops writes: what its ServiceMonitor selects it by (on the
# Service alone: a new pod-template label would restart every model and rename hashed training Jobs).
# Argo CD's label tracking overwrites `app.kubernetes.io/instance` on every object it syncs with the Application
# name (argo-cd util/kube/kube.go SetAppInstanceLabel; the pod templates keep theirs, so pod selectors are safe),
# so a selector on `instance` finds no Service under Argo CD.
MODEL_LABEL = "mlgitops.io/model"
# On an object whose kind comes from a CRD that may be missing (a ServiceMonitor, an HTTPRoute): Flux syncs these
# apart from the model (render/engines/flux.py), so a missing CRD never keeps the model's Deployment from running.
CRD_EXTRA = "mlgitops.io/crd-extra"


def selector(name: str) -> dict[str, Any]:
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/name": name}


def common(name: str, team: str, spec: Mapping[str, Any], env: str) -> dict[str, Any]:
    labels = {
        **selector(name),
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/part-of": team,
        "app.kubernetes.io/version": spec["model"]["version"],
        "mlgitops.io/team": team,
    }
    if spec["model"].get("framework"):
        labels["mlgitops.io/framework"] = spec["model"]["framework"]
    if env:
        labels[ENV_LABEL] = env
    extra = {k: v for k, v in spec.get("labels", {}).items() if k not in labels}
    return {**labels, **extra}


def metadata(ctx: Any, name: str | None = None, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name or ctx.name, "labels": dict(ctx.labels)}
    merged = {**ctx.annotations, **(annotations or {})}
    if merged:
        meta["annotations"] = merged
    if ctx.namespace:
        meta["namespace"] = ctx.namespace
    return meta
