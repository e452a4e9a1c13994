"""The Deployment, its ServiceAccount and its PersistentVolumeClaim."""

from __future__ import annotations

from mlgitops.kube.annotations import SECURITY_EXCEPTION
from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest

CONTAINER = "model-server"
POD = "/spec/template/spec"
C0 = f"{POD}/containers/0"


def quantity(value) -> str:
    """Quantities as strings, so every YAML parser reads the same value."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _probe(probe, timings_default: dict) -> dict:
    spec = {"path": probe} if isinstance(probe, str) else probe
    out = {"httpGet": {"path": spec["path"], "port": "http"}, **timings_default}
    out.update({k: v for k, v in spec.items() if k != "path"})
    return out


PROBE_DEFAULTS = {
    "readiness": {"periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3},
    "liveness": {"periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
    "startup": {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 30},
}


def container_resources(res: dict, gpu: dict) -> dict:
    """Requests and limits from a spec's `resources` (shared by serving and training)."""
    limits_in = res.get("limits", {})
    requests = {"cpu": quantity(res["cpu"]), "memory": quantity(res["memory"])}
    limits = {"cpu": quantity(limits_in.get("cpu", res["cpu"])),
              "memory": quantity(limits_in.get("memory", res["memory"]))}
    if "ephemeralStorage" in res:
        requests["ephemeral-storage"] = quantity(res["ephemeralStorage"])
        limits["ephemeral-storage"] = quantity(limits_in.get("ephemeralStorage", res["ephemeralStorage"]))
    if res["gpu"]:
        limits[gpu["resource"]] = str(res["gpu"])
    return {"requests": requests, "limits": limits}


def _env(ctx: Context) -> list[dict]:
    model = ctx.spec["model"]
    env = [{"name": "MODEL_NAME", "value": ctx.name}, {"name": "MODEL_VERSION", "value": model["version"]}]
    if model.get("uri"):
        env.append({"name": "MODEL_URI", "value": model["uri"]})
    return env + env_vars(ctx.serving)


def env_vars(section: dict) -> list[dict]:
    """A spec section's plain `env` (sorted) and `secrets` (by reference only) as container env."""
    env = [{"name": k, "value": v} for k, v in sorted(section.get("env", {}).items())]
    for ref in section.get("secrets", []):
        key_ref = {"name": ref["secret"], "key": ref["key"]}
        if ref["optional"]:
            key_ref["optional"] = True
        env.append({"name": ref["env"], "valueFrom": {"secretKeyRef": key_ref}})
    return env


def security_contexts(sec: dict) -> tuple[dict, dict]:
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


def scheduling(section: dict, gpu_config: dict, pod: dict) -> None:
    """Node selector and tolerations of a spec section (serving or training) into pod."""
    gpu = section["resources"]["gpu"] > 0
    # a GPU pod keeps the GPU node labels; the spec's own node labels are added (and win on a clash)
    selector = {**(gpu_config["nodeSelector"] if gpu else {}), **section.get("nodeSelector", {})}
    tolerations = section.get("tolerations", gpu_config["tolerations"] if gpu else [])
    if selector:
        pod["nodeSelector"] = dict(selector)
    if tolerations:
        pod["tolerations"] = [dict(t) for t in tolerations]


def _container(ctx: Context, container_security: dict) -> dict:
    serving = ctx.serving
    ports = [{"containerPort": serving["port"], "name": "http", "protocol": "TCP"}]
    if ctx.metrics_port not in (None, serving["port"]):
        ports.append({"containerPort": ctx.metrics_port, "name": "metrics", "protocol": "TCP"})
    container: dict = {
        "name": CONTAINER,
        "image": serving["image"],
        "imagePullPolicy": "IfNotPresent",
        "ports": ports,
        "env": _env(ctx),
        "resources": container_resources(serving["resources"], ctx.gpu),
        "securityContext": container_security,
        "volumeMounts": [{"mountPath": "/tmp", "name": "tmp"}],
    }
    for key in ("command", "args"):
        if key in serving:
            container[key] = list(serving[key])
    for kind, probe in serving.get("health", {}).items():
        container[f"{kind}Probe"] = _probe(probe, PROBE_DEFAULTS[kind])
    storage = serving.get("storage")
    if storage:
        mount = {"mountPath": storage["mountPath"], "name": "model-storage"}
        if storage["readOnly"]:
            mount["readOnly"] = True
        container["volumeMounts"].append(mount)
    return container


def deployment(ctx: Context) -> Manifest:
    serving = ctx.serving
    pod_security, container_security = security_contexts(serving["security"])
    pod: dict = {
        "automountServiceAccountToken": serving["serviceAccount"]["automountToken"],
        "containers": [_container(ctx, container_security)],
        "securityContext": pod_security,
        "serviceAccountName": ctx.name,
        "volumes": [{"emptyDir": {}, "name": "tmp"}],
    }
    if serving.get("storage"):
        pod["volumes"].append({"name": "model-storage", "persistentVolumeClaim": {"claimName": pvc_name(ctx)}})
    scheduling(serving, ctx.gpu, pod)
    template_meta: dict = {"labels": dict(ctx.labels)}
    metrics = serving.get("metrics")
    if metrics:
        template_meta["annotations"] = {"prometheus.io/path": metrics["path"],
                                        "prometheus.io/port": str(ctx.metrics_port), "prometheus.io/scrape": "true"}
    annotations = {}
    if serving["security"].get("reason"):
        annotations[SECURITY_EXCEPTION] = serving["security"]["reason"]
    spec: dict = {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": ctx.selector},
        "strategy": {"rollingUpdate": dict(serving["rollout"]), "type": "RollingUpdate"},
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
    }
    return Manifest(obj, "deployment.yaml", "/spec/serving", fields)


def service_account(ctx: Context) -> Manifest:
    sa = ctx.serving["serviceAccount"]
    obj = {"apiVersion": "v1", "automountServiceAccountToken": sa["automountToken"], "kind": "ServiceAccount",
           "metadata": metadata(ctx, annotations=sa.get("annotations"))}
    return Manifest(obj, "serviceaccount.yaml", "/spec/serving/serviceAccount")


def pvc_name(ctx: Context) -> str:
    return f"{ctx.name}-storage"


def persistent_volume_claim(ctx: Context) -> Manifest | None:
    storage = ctx.serving.get("storage")
    if not storage:
        return None
    spec: dict = {"accessModes": [storage["accessMode"]], "resources": {"requests": {"storage": quantity(storage["size"])}}}
    if "storageClassName" in storage:
        spec["storageClassName"] = storage["storageClassName"]
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata(ctx, pvc_name(ctx)), "spec": spec}
    return Manifest(obj, "pvc.yaml", "/spec/serving/storage")
