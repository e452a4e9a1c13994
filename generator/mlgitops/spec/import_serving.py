"""`mlgitops import`: a serving workload and the objects around it -> the spec's `serving` (and `model`).

The workload gives the container (spec/import_pod.py), replicas and rollout; the Service the serving port and
its shape; the HPA autoscaling; the ServiceMonitor metrics; the Ingress its host; the claim storage. A KServe
InferenceService gives model.uri and model.framework from its predictor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgitops.kube import quantity
from mlgitops.kube.quantity import add_bytes, format_bytes
from mlgitops.report.findings import Finding, Severity
from mlgitops.spec import pods
from mlgitops.spec.import_objects import CHANGED, DROPPED, Obj, as_list, as_map, dig
from mlgitops.spec.import_pod import LATER, Pod, container, probes, volumes

if TYPE_CHECKING:
    from mlgitops.spec.importer import Group

_POD_SPEC = {"Deployment": "/spec/template/spec", "StatefulSet": "/spec/template/spec",
             "ReplicationController": "/spec/template/spec", "InferenceService": "/spec/predictor"}
_MODEL_ENV = {"MODEL_VERSION": "version", "MODEL_URI": "uri"}  # render/workload.py sets them
FRAMEWORK_LABEL = "mlgitops.io/framework"
_SERVICE_PORT = 80
_MI = 2**20
_GPU_STARTUP = {"periodSeconds": 10, "failureThreshold": 60}  # as `mlgitops new --gpu` writes it  # the port mlgitops' Service exposes (render/network.py)
# KServe's predictor formats whose name is the spec's framework (model.framework is free text; these are the
# names the examples use).
_FRAMEWORKS = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm", "pytorch": "pytorch",
               "tensorflow": "tensorflow", "onnx": "onnx", "huggingface": "huggingface", "triton": "triton"}


def serving(group: Group, workload: Obj, model: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    pod = Pod(workload, _POD_SPEC[workload.kind], findings)
    if workload.kind == "InferenceService":
        _kserve(pod, model)
    _model_env(pod, workload, model)
    out = container(pod, "serving")
    port = _port(pod, group.first("Service"))
    if port is not None:
        out["port"] = port
    _replicas(workload, out, findings)
    health = probes(pod, port)
    if health:
        out["health"] = health
    _startup(pod, out)
    out.update(volumes(pod, {c.name: c for c in group.attached.get("PersistentVolumeClaim", [])}))
    if pod.moved_cache and "HF_HOME" not in out.get("env", {}):
        out["env"] = out.get("env", {}) | {"HF_HOME": pod.moved_cache}
    _ephemeral(pod, out)
    _shared_memory(out)
    out.update(_rollout(pod, workload))
    for key, read in (("autoscaling", _autoscaling), ("metrics", _metrics), ("ingress", _ingress)):
        value = read(group, pod, port)
        if value:
            out[key] = value
    _service_shape(group, pod)
    _pdb(group, findings)
    return out


def _kserve(pod: Pod, model: dict[str, Any]) -> None:
    spec = pod.spec
    predictor = spec.get("model") if isinstance(spec.get("model"), dict) else None
    if predictor is None:
        return
    uri = predictor.get("storageUri")
    if isinstance(uri, str):
        model["uri"] = uri
    fmt = str(dig(predictor, "modelFormat", "name") or "").lower()
    if fmt:
        model["framework"] = _FRAMEWORKS.get(fmt, fmt)
    if not isinstance(predictor.get("image"), str):
        pod.note(DROPPED, f"{pod.pointer}/model", f"the predictor names a runtime ({fmt or 'chosen by KServe'}), "
                 "not an image: mlgitops runs a Deployment of an image, so serving.image must be filled in",
                 "set serving.image to the runtime's image (the ClusterServingRuntime's container image), and "
                 "model.fetch to download the weights", Severity.ERROR)
    pod.container = {**predictor, "name": "kserve-container"}
    pod.cpointer = f"{pod.pointer}/model"
    pod.note(CHANGED, "/spec", "an InferenceService becomes a Deployment and Service of mlgitops' own: "
             "KServe's autoscaler, transformer and explainer are not carried over")


def _model_env(pod: Pod, workload: Obj, model: dict[str, Any]) -> None:
    """model.version and model.uri from the env mlgitops itself sets (its own output read back), the framework
    from its label."""
    for item in as_list(pod.container.get("env")):
        name, value = dig(item, "name"), dig(item, "value")
        if isinstance(value, str) and isinstance(name, str) and name in _MODEL_ENV:
            model.setdefault(_MODEL_ENV[name], value)
    framework = pod_label(workload, FRAMEWORK_LABEL)
    if framework:
        model.setdefault("framework", framework)


def pod_label(workload: Obj, key: str) -> str | None:
    for path in (("spec", "template", "metadata", "labels"), ("metadata", "labels")):
        value = dig(workload.get(*path), key)
        if isinstance(value, str):
            return value
    return None


def _port(pod: Pod, service: Obj | None) -> int | None:
    """The container port the Service sends requests to (by name or number), else the first one."""
    ports = [p for p in as_list(pod.container.get("ports")) if isinstance(p, dict)]
    target = dig(service.data, "spec", "ports", 0, "targetPort") if service else None
    for p in ports:
        if target is None or target in (p.get("name"), p.get("containerPort"), str(p.get("containerPort"))):
            _drop_other_ports(pod, ports, p)
            return _int(p.get("containerPort"))
    if target is not None and str(target).isdigit():
        return _int(target)
    return None


def _drop_other_ports(pod: Pod, ports: list[dict[str, Any]], served: dict[str, Any]) -> None:
    """A note for each container port but the served one and metrics: not carried over."""
    others = [q for q in ports if q is not served and q.get("name") not in ("metrics",)]
    for q in others:
        pod.note(DROPPED, f"{pod.cpointer}/ports", f"container port {q.get('containerPort')} "
                 f"({q.get('name', 'unnamed')}) is not carried over: "
                 + LATER.format(field="extra container ports"),
                 "the NetworkPolicy admits only the serving and metrics ports until then")


def _int(value: Any) -> int | None:
    """A port as an int: manifests write "8080" as a string too."""
    text = str(value)
    return int(text) if text.isdigit() else None


def _replicas(workload: Obj, out: dict[str, Any], findings: list[Finding]) -> None:
    replicas = workload.get("spec", "replicas")
    if isinstance(replicas, int):
        out["replicas"] = replicas
    if workload.kind == "StatefulSet":
        findings.append(workload.finding(CHANGED, "/kind", "a StatefulSet becomes a Deployment: pods lose their "
                                         "stable names and per-pod claims (volumeClaimTemplates)",
                                         "a model server rarely needs them; keep the StatefulSet if it does"))
    if workload.kind == "ReplicationController":
        findings.append(workload.finding(CHANGED, "/kind", "a ReplicationController becomes a Deployment"))


def _startup(pod: Pod, out: dict[str, Any]) -> None:
    """A GPU server without a startup probe gets one on its liveness path: loading weights takes minutes, and
    a liveness probe alone restarts it before it is ready (check: liveness-before-load)."""
    health = out.get("health", {})
    liveness = health.get("liveness")
    if not out.get("resources", {}).get("gpu") or "startup" in health or liveness is None:
        return
    path = liveness["path"] if isinstance(liveness, dict) else liveness
    health["startup"] = {"path": path, **_GPU_STARTUP}
    pod.note(CHANGED, f"{pod.cpointer}/livenessProbe", f"a startup probe on {path} is added (up to "
             f"{_GPU_STARTUP['periodSeconds'] * _GPU_STARTUP['failureThreshold']} s to load): a GPU model loads "
             "for minutes, and the liveness probe alone would restart it first (liveness-before-load)",
             "shorten serving.health.startup.failureThreshold if it loads faster")


def _shared_memory(out: dict[str, Any]) -> None:
    """The spec's memory is the server's own: mlgitops adds /dev/shm (memory-backed) to the request and the
    limit (render/workload.py), so it comes off the pod's figures here and the pod asks for the same in the end."""
    shm = quantity.value(out.get("sharedMemory"))
    resources = out.get("resources", {})
    for part in (resources, resources.get("limits", {})):
        memory = quantity.value(part.get("memory"))
        if shm and memory is not None and memory > shm:
            part["memory"] = format_bytes(-((shm - memory) // _MI) * _MI)  # whole Mi, rounded up


def _ephemeral(pod: Pod, out: dict[str, Any]) -> None:
    """Drop an ephemeral-storage request that is exactly mlgitops' default (its own output read back): the
    scratch volumes, logs, and any other disk-backed emptyDir (model.fetch's)."""
    resources = out.get("resources", {})
    sizes, others = _empty_dir_sizes(pod)
    if sizes.get("tmp") and sizes.get("home") and "ephemeralStorage" in resources:
        scratch = pods.ephemeral_storage({"model": {}, "serving": {"scratch": {"tmpSize": sizes["tmp"],
                                                                                "homeSize": sizes["home"]}}})
        default = add_bytes(scratch, *others)
        if str(resources["ephemeralStorage"]) == default and "ephemeralStorage" not in resources.get("limits", {}):
            del resources["ephemeralStorage"]


def _empty_dir_sizes(pod: Pod) -> tuple[dict[str, Any], list[Any]]:
    """The emptyDir volumes' size limits by name, and those of the disk-backed ones but tmp and home."""
    vols = [v for v in as_list(pod.spec.get("volumes")) if isinstance(v, dict) and isinstance(v.get("emptyDir"), dict)]
    sizes = {str(v.get("name")): dig(v, "emptyDir", "sizeLimit") for v in vols}
    others = [dig(v, "emptyDir", "sizeLimit") for v in vols
              if v.get("name") not in ("tmp", "home") and dig(v, "emptyDir", "medium") != "Memory"]
    return sizes, others


def _rollout(pod: Pod, workload: Obj) -> dict[str, Any]:
    out: dict[str, Any] = {}
    strategy = as_map(workload.get("spec", "strategy"))
    if strategy.get("type") == "Recreate":
        out["rollout"] = {"type": "Recreate"}
    elif isinstance(strategy.get("rollingUpdate"), dict):
        rolling = {k: v for k, v in strategy["rollingUpdate"].items() if k in ("maxSurge", "maxUnavailable")}
        if rolling and rolling != {"maxSurge": 1, "maxUnavailable": 0}:
            out["rollout"] = rolling
    grace = pod.spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace not in (30, 40):
        out["shutdown"] = {"gracePeriodSeconds": grace}
    for key in ("priorityClassName", "runtimeClassName"):
        if isinstance(pod.spec.get(key), str):
            out[key] = pod.spec[key]
    return out


def _autoscaling(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    hpa = group.first("HorizontalPodAutoscaler")
    if hpa is None:
        return None
    out: dict[str, Any] = {"minReplicas": hpa.get("spec", "minReplicas") or 1,
                           "maxReplicas": hpa.get("spec", "maxReplicas")}
    for i, metric in enumerate(as_list(hpa.get("spec", "metrics"))):
        _hpa_metric(pod, hpa, f"/spec/metrics/{i}", metric, out)
    behavior = hpa.get("spec", "behavior")
    if isinstance(behavior, dict):
        out["behavior"] = behavior
    return out


def _hpa_metric(pod: Pod, hpa: Obj, pointer: str, metric: Any, out: dict[str, Any]) -> None:
    kind = dig(metric, "type")
    utilization = dig(metric, "resource", "target", "averageUtilization")
    if kind == "Resource" and dig(metric, "resource", "name") == "cpu" and utilization is not None:
        out["targetCPUUtilization"] = utilization
    elif kind == "Pods" and dig(metric, "pods", "target", "averageValue") is not None:
        out["metric"] = dig(metric, "pods", "metric", "name")
        value = dig(metric, "pods", "target", "averageValue")
        out["targetRequestsPerSecond"] = int(value) if str(value).isdigit() else str(value)
    else:
        pod.findings.append(hpa.finding(DROPPED, pointer, f"the HPA's {kind or 'unknown'} metric is not carried "
                                        "over: " + LATER.format(field="HPA External/Object/Pods metrics by name"),
                                        "the spec scales on CPU utilisation or one Pods metric per second"))


def _metrics(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    monitor = group.first("ServiceMonitor")
    if monitor is None:
        return None
    endpoint = as_map(monitor.get("spec", "endpoints", 0))
    out: dict[str, Any] = {"path": endpoint.get("path", "/metrics")}
    number = _named_port(pod, _target(group.first("Service"), endpoint.get("port")) or endpoint.get("targetPort"))
    if number is not None and number != port:
        out["port"] = number
    if isinstance(endpoint.get("interval"), str) and endpoint["interval"] != "30s":
        out["interval"] = endpoint["interval"]
    return out


def _target(service: Obj | None, name: Any) -> Any:
    """The container port (name or number) a Service port name leads to; the name itself if none does."""
    for port in as_list(service.get("spec", "ports") if service else None):
        if isinstance(port, dict) and port.get("name") == name and port.get("targetPort") is not None:
            return port["targetPort"]
    return name


def _named_port(pod: Pod, name: Any) -> int | None:
    if name in (None, "http"):
        return None
    for p in as_list(pod.container.get("ports")):
        if isinstance(p, dict) and name in (p.get("name"), p.get("containerPort")):
            return _int(p.get("containerPort"))
    return _int(name)


def _ingress(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    ingress = group.first("Ingress")
    if ingress is None:
        return None
    rule = as_map(ingress.get("spec", "rules", 0))
    out: dict[str, Any] = {}
    if rule.get("host"):
        out["host"] = rule["host"]
    path = dig(rule, "http", "paths", 0, "path")
    if path and path != "/":
        out["path"] = path
    for key, value in (("className", ingress.get("spec", "ingressClassName")),
                       ("tlsSecret", ingress.get("spec", "tls", 0, "secretName"))):
        if value:
            out[key] = value
    annotations = {k: v for k, v in (as_map(ingress.get("metadata", "annotations"))).items()
                   if not k.startswith(("kubectl.kubernetes.io/", "mlgitops.io/"))}
    if annotations:
        out["annotations"] = annotations
    return out


def _service_shape(group: Group, pod: Pod) -> None:
    service = group.first("Service")
    if service is None:
        return
    kind = service.get("spec", "type") or "ClusterIP"
    shape = []
    if kind != "ClusterIP":
        shape.append(f"type {kind}")
    if service.get("spec", "clusterIP") == "None":
        shape.append("headless (clusterIP: None)")
    port = service.get("spec", "ports", 0, "port")
    if port is not None and _int(port) != _SERVICE_PORT:
        shape.append(f"port {port}")
    extra = len([p for p in (as_list(service.get("spec", "ports")))[1:] if dig(p, "name") != "metrics"])
    if extra > 0:
        shape.append(f"{extra} more port(s)")
    if shape:
        pod.findings.append(service.finding(
            DROPPED, "/spec", f"the Service's {', '.join(shape)}: mlgitops' Service is ClusterIP on port "
            f"{_SERVICE_PORT} to the serving port; " + LATER.format(field="Service port and type"),
            "clients that call the old port must move to port 80, or carry the shape with a raw patch"))


def _pdb(group: Group, findings: list[Finding]) -> None:
    pdb = group.first("PodDisruptionBudget")
    if pdb is not None:
        findings.append(pdb.finding(CHANGED, "/spec", "the PodDisruptionBudget is replaced by mlgitops' own, "
                                    "made where the environment requires one (pdb-required)"))
