"""Render one model in one environment (or the base) into Kubernetes manifests: a pure function.

The render stage: effective spec -> plain-dict objects with their spec origin. Imports `spec`, `kube`
and `report`; never touches a file.
"""

from __future__ import annotations

from typing import Any

from mlgitops.kube.images import VERSION_TAG
from mlgitops.render import canary, dashboard, network, scaling, slo, storage, workload
from mlgitops.render.context import Context
from mlgitops.render.manifest import Manifest
from mlgitops.spec.config import Config

RENDERERS = (
    workload.deployment,
    workload.service_account,
    storage.persistent_volume_claim,
    network.service,
    network.network_policy,
    network.ingress,
    network.http_route,
    network.service_monitor,
    scaling.horizontal_pod_autoscaler,
    scaling.pod_disruption_budget,
    slo.prometheus_rule,
    dashboard.config_map,
)


def context(effective: dict[str, Any], config: Config, env: str) -> Context:
    """What the renderers know of one effective spec in an environment (env "": the base)."""
    meta = effective["metadata"]
    environment = config.environment(env) if env else None
    return Context(
        name=meta["name"],
        team=meta["team"],
        env=env,
        namespace=config.environment(env).namespace if env else "",
        spec=effective["spec"],
        gpu=config.gpu,
        prometheus_operator=config.prometheus_operator,
        monitoring=config.monitoring,
        ingress_controller=config.ingress_controller,
        storage_initializer=config.storage_initializer,
        kubernetes_minor=config.kubernetes_minor,
        scheduling=environment.scheduling if environment else {},
        immutable_tag=environment.policies.get("immutableTagPattern", VERSION_TAG) if environment else VERSION_TAG,
        gateway=config.data.get("gateway"),
    )


def render(effective: dict[str, Any], config: Config, env: str) -> list[Manifest]:
    """The manifests of one effective spec; env "" renders the base (no namespace, no env label)."""
    ctx = context(effective, config, env)
    out = [m for m in (r(ctx) for r in RENDERERS) if m is not None]
    out += canary.objects(ctx, out)
    return sorted(out, key=lambda m: m.file)
