"""The Deployment and its ServiceAccount (the weights' volumes: `storage`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgitops.kube import gpus
from mlgitops.kube.annotations import POLICY_EXCEPTION_PREFIX, SECURITY_EXCEPTION
from mlgitops.kube.quantity import add_bytes
from mlgitops.kube.quantity import text as quantity
from mlgitops.render import pod as pod_parts
from mlgitops.render import sidecars, storage
from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest
from mlgitops.render.volumes import spec_volumes
from mlgitops.spec import pods

CONTAINER = pod_parts.CONTAINER
POD = "/spec/template/spec"
C0 = f"{POD}/containers/0"


def _probe(probe: Any, timings_default: dict[str, Any]) -> dict[str, Any]:
    spec = {"path": probe} if isinstance(probe, str) else probe
    out = {"httpGet": {"path": spec["path"], "port": "http"}, **timings_default}
    out.update({k: v for k, v in spec.items() if k != "path"})
    return out


PROBE_DEFAULTS = pods.PROBE_DEFAULTS


def container_resources(res: dict[str, Any], gpu: dict[str, Any]) -> dict[str, Any]:
    """Requests and limits from a spec's `resources`, as they are (training; serving adds its scratch)."""
    limits_in = res.get("limits", {})
    requests = {"cpu": quantity(res["cpu"]), "memory": quantity(res["memory"])}
    limits = {name: quantity(limits_in.get(name, res[name])) for name in ("cpu", "memory")
              if limits_in.get(name) is not False}  # false: no limit, where the policy allows it
    if "ephemeralStorage" in res:
        requests["ephemeral-storage"] = quantity(res["ephemeralStorage"])
        limits["ephemeral-storage"] = quantity(limits_in.get("ephemeralStorage", res["ephemeralStorage"]))
    if res["gpu"]:
        limits[gpu["resource"]] = str(res["gpu"])
    return {"requests": requests, "limits": limits}


def _resources(ctx: Context) -> dict[str, Any]:
    res = ctx.serving["resources"]
    limits_in = res.get("limits", {})
    # /dev/shm pages count against the container's memory: its size is added to the request and limit
    shm = pods.shared_memory(ctx.spec)
    memory_request = add_bytes(res["memory"], shm) if shm else quantity(res["memory"])
    memory_limit = limits_in.get("memory", res["memory"])
    requests = {"cpu": quantity(res["cpu"]), "memory": memory_request}
    limits = {"cpu": quantity(limits_in.get("cpu", res["cpu"])),
              "memory": add_bytes(memory_limit, shm) if shm else quantity(memory_limit)}
    limits = {name: amount for name, amount in limits.items() if limits_in.get(name) is not False}
    storage = res.get("ephemeralStorage", pods.ephemeral_storage(ctx.spec))
    requests["ephemeral-storage"] = quantity(storage)
    limits["ephemeral-storage"] = quantity(limits_in.get("ephemeralStorage", storage))
    if res["gpu"]:
        limits[ctx.gpu["resource"]] = str(res["gpu"])
    return {"requests": requests, "limits": limits}


def _env(ctx: Context) -> list[dict[str, Any]]:
    model = ctx.spec["model"]
    env = [{"name": "MODEL_NAME", "value": ctx.name}, {"name": "MODEL_VERSION", "value": model["version"]}]
    if model.get("uri"):
        env.append({"name": "MODEL_URI", "value": model["uri"]})
    env += pod_parts.default_env(ctx)
    return env + env_vars(ctx.serving)


def env_vars(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A spec section's `env` (sorted; plain values or resource and field references) and `secrets` (by
    reference only) as container env: shared by serving and training."""
    env = [pod_parts.spec_env(k, v) for k, v in sorted(section.get("env", {}).items())]
    for ref in section.get("secrets", []):
        key_ref = {"name": ref["secret"], "key": ref["key"]}
        if ref["optional"]:
            key_ref["optional"] = True
        env.append({"name": ref["env"], "valueFrom": {"secretKeyRef": key_ref}})
    return env


def _security(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    return security_contexts(ctx.serving["security"])


def security_contexts(sec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod, container) security contexts from a spec's `security`: restricted unless relaxed."""
    non_root = sec.get("runAsNonRoot", True)
    pod = {"runAsNonRoot": non_root, "seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": sec["fsGroup"]}
    if non_root:
        pod.update(runAsUser=sec["runAsUser"], runAsGroup=sec["runAsGroup"])
    container = {
        "allowPrivilegeEscalation": sec.get("allowPrivilegeEscalation", False),
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": sec.get("readOnlyRootFilesystem", True),
        "runAsNonRoot": non_root,
    }
    return pod, container


def _scheduling(ctx: Context, pod: dict[str, Any]) -> None:
    scheduling(ctx.serving, ctx.gpu, pod)


def scheduling(section: Mapping[str, Any], gpu_config: dict[str, Any], pod: dict[str, Any]) -> None:
    """Node selector and tolerations of a spec section (serving or training) into pod."""
    gpu = section["resources"]["gpu"] > 0
    # a GPU pod keeps the GPU node labels and its GPU type's; the spec's own node labels are added (and win on
    # a clash), a null among them drops a label
    selector = {**(gpu_config["nodeSelector"] if gpu else {}), **gpus.type_selector(section["resources"].get("gpuType")),
                **section.get("nodeSelector", {})}
    tolerations = section.get("tolerations", gpu_config["tolerations"] if gpu else [])
    selector = {label: value for label, value in selector.items() if value is not None}
    if selector:
        pod["nodeSelector"] = selector
    if tolerations:
        pod["tolerations"] = [dict(t) for t in tolerations]


def _container(ctx: Context, container_security: dict[str, Any], mounts: list[dict[str, Any]]) -> dict[str, Any]:
    serving = ctx.serving
    ports = [{"containerPort": serving["port"], "name": "http", "protocol": "TCP"}]
    if ctx.metrics_port not in (None, serving["port"]):
        ports.append({"containerPort": ctx.metrics_port, "name": "metrics", "protocol": "TCP"})
    ports += [{"containerPort": p["port"], "name": p["name"], "protocol": p["protocol"]} for p in serving.get("ports", [])]
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": serving["image"],
        "imagePullPolicy": pod_parts.pull_policy(ctx),
        "ports": ports,
        "env": _env(ctx),
        "resources": _resources(ctx),
        "securityContext": container_security,
        "volumeMounts": list(mounts),
    }
    pre_stop = pod_parts.pre_stop(ctx)
    if pre_stop:
        container["lifecycle"] = {"preStop": pre_stop}
    for key in ("command", "args"):
        if key in serving:
            container[key] = list(serving[key])
    for kind, probe in serving.get("health", {}).items():
        container[f"{kind}Probe"] = _probe(probe, PROBE_DEFAULTS[kind])
    return container


def deployment(ctx: Context) -> Manifest:
    serving = ctx.serving
    pod_security, container_security = _security(ctx)
    volumes, mounts = pod_parts.volumes(ctx)
    own_volumes, own_mounts = spec_volumes(serving)
    volumes, mounts = volumes + own_volumes, mounts + own_mounts
    pod: dict[str, Any] = {
        "automountServiceAccountToken": serving["serviceAccount"]["automountToken"],
        "containers": [_container(ctx, container_security, mounts)],
        "securityContext": pod_security,
        "serviceAccountName": ctx.name,
        "terminationGracePeriodSeconds": pod_parts.grace_period(ctx),
        "volumes": volumes,
        **pod_parts.classes(ctx),
    }
    spread = pod_parts.topology_spread(ctx)
    if spread:
        pod["topologySpreadConstraints"] = spread
    attached = storage.attach(ctx, pod)
    extra = sidecars.init_containers(serving, container_security, ctx.immutable_tag, env_vars)
    if extra:  # after model.fetch's initializer: an init container may read the weights
        attached = {**attached, **sidecars.origins(serving, len(pod.get("initContainers", [])))}
        pod["initContainers"] = [*pod.get("initContainers", []), *extra]
    _scheduling(ctx, pod)
    template_meta: dict[str, Any] = {"labels": dict(ctx.labels)}
    metrics = serving.get("metrics")
    if metrics and not ctx.prometheus_operator:  # a ServiceMonitor scrapes instead: never both
        template_meta["annotations"] = {"prometheus.io/path": metrics["path"],
                                        "prometheus.io/port": str(ctx.metrics_port), "prometheus.io/scrape": "true"}
    if serving.get("podAnnotations"):  # the spec's own pod annotations win over the scrape ones
        template_meta["annotations"] = {**template_meta.get("annotations", {}), **serving["podAnnotations"]}
    annotations = {}
    if serving["security"].get("reason"):
        annotations[SECURITY_EXCEPTION] = serving["security"]["reason"]
    for rule, reason in policy_exceptions(ctx.spec).items():
        annotations[POLICY_EXCEPTION_PREFIX + rule] = reason
    spec: dict[str, Any] = {
        "progressDeadlineSeconds": pods.progress_deadline(serving),
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": ctx.selector},
        "strategy": pods.rollout(serving),
        "template": {"metadata": template_meta, "spec": pod},
    }
    if not ctx.autoscaled:
        spec["replicas"] = serving["replicas"]
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(ctx, annotations=annotations),
           "spec": spec}
    fields = {
        "/spec/replicas": "/spec/serving/replicas",
        f"{C0}/image": "/spec/serving/image",
        f"{C0}/resources": "/spec/serving/resources",
        f"{C0}/resources/limits/{ctx.gpu['resource'].replace('/', '~1')}": "/spec/serving/resources/gpu",
        f"{C0}/readinessProbe": "/spec/serving/health/readiness",
        f"{C0}/livenessProbe": "/spec/serving/health/liveness",
        f"{C0}/startupProbe": "/spec/serving/health/startup",
        f"{C0}/securityContext": "/spec/serving/security",
        f"{POD}/securityContext": "/spec/serving/security",
        f"{POD}/tolerations": "/spec/serving/tolerations" if "tolerations" in serving else "/spec/serving/resources/gpu",
        f"{POD}/nodeSelector": "/spec/serving/nodeSelector" if "nodeSelector" in serving else "/spec/serving/resources/gpu",
        f"{C0}/env": "/spec/serving/env",
        "/spec/template/metadata/annotations": "/spec/serving/metrics",
        "/spec/strategy": "/spec/serving/rollout",
        "/spec/strategy/rollingUpdate/maxSurge": "/spec/serving/rollout/maxSurge",
        "/spec/strategy/rollingUpdate/maxUnavailable": "/spec/serving/rollout/maxUnavailable",
        "/spec/progressDeadlineSeconds": "/spec/serving/rollout/progressDeadlineSeconds",
        f"{C0}/lifecycle": "/spec/serving/shutdown",
        f"{POD}/terminationGracePeriodSeconds": "/spec/serving/shutdown",
        f"{POD}/topologySpreadConstraints": "/spec/serving/topologySpread",
        f"{POD}/priorityClassName": "/spec/serving/priorityClassName",
        f"{POD}/runtimeClassName": "/spec/serving/runtimeClassName",
        f"{C0}/imagePullPolicy": "/spec/serving/imagePullPolicy",
    }
    return Manifest(obj, "deployment.yaml", "/spec/serving", {**fields, **attached})


def policy_exceptions(spec: Mapping[str, Any]) -> dict[str, str]:
    """The spec's policy exceptions in one environment: rule id -> reason (an override's null removes one)."""
    exceptions = (spec.get("policies") or {}).get("exceptions") or {}
    single = (spec.get("serving") or {}).get("singleReplica")
    implied = dict.fromkeys(SINGLE_REPLICA_RULES, f"single replica: {single['reason']}") if single else {}
    return {**implied, **{rule: entry["reason"] for rule, entry in sorted(exceptions.items()) if entry}}


# What serving.singleReplica says does not apply: one pod is the intent, so it needs no second one, nor a PDB
SINGLE_REPLICA_RULES = ("min-replicas", "pdb-required")


def service_account(ctx: Context) -> Manifest:
    sa = ctx.serving["serviceAccount"]
    obj = {"apiVersion": "v1", "automountServiceAccountToken": sa["automountToken"], "kind": "ServiceAccount",
           "metadata": metadata(ctx, annotations=sa.get("annotations"))}
    return Manifest(obj, "serviceaccount.yaml", "/spec/serving/serviceAccount")
