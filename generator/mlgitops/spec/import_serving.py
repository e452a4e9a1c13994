"""`mlgitops import`: a serving workload and the objects around it -> the spec's `serving` (and `model`).

The workload gives the container (spec/import_pod.py), its volumes and other containers
(spec/import_volumes.py), replicas, rollout, shutdown and pod annotations; the Service the serving port and its
shape (`service`), and with the container the other ports (`ports`); the HPA autoscaling (CPU, and metrics by
name); the ServiceMonitor or the scrape annotations metrics; the Ingress its host; the claim storage; the
ServiceAccount its annotations. A KServe InferenceService gives model.uri and model.framework from its
predictor, and its replicas.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mlgitops.kube.plaindata import whole_number
from mlgitops.kube.quantity import add_bytes
from mlgitops.kube.workloads import probe_seconds
from mlgitops.report.findings import Finding, Severity
from mlgitops.report.secrets import env_problem
from mlgitops.spec import pods
from mlgitops.spec.import_objects import (
    CHANGED,
    DROPPED,
    OWN_ANNOTATIONS,
    Obj,
    Shape,
    as_list,
    as_map,
    dig,
    pointer,
    steps,
    use_shape,
)
from mlgitops.spec.import_pod import DEPLOYMENT, PATCHED, Pod, container, lifecycle, probes
from mlgitops.spec.import_volumes import extra_containers, relocate_env, shared_memory_off, volumes

if TYPE_CHECKING:
    from mlgitops.spec.importer import Group

_POD_SPEC = {"Deployment": "/spec/template/spec", "StatefulSet": "/spec/template/spec",
             "ReplicationController": "/spec/template/spec", "InferenceService": "/spec/predictor"}
_MODEL_ENV = {"MODEL_VERSION": "version", "MODEL_URI": "uri"}  # render/workload.py sets them
FRAMEWORK_LABEL = "mlgitops.io/framework"
_SERVICE_PORT = 80  # the port mlgitops' Service exposes by default (service.port)
_GPU_STARTUP = {"periodSeconds": 10, "failureThreshold": 60}  # as `mlgitops new --gpu` writes it
_RPS_METRIC = "inference_requests_per_second"  # autoscaling.metric's default: targetRequestsPerSecond reads it
_PORT_NAME = re.compile(r"(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?")
_SCRAPE = ("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path")  # the scrape annotations
_SERVER_ANNOTATIONS = ("cloud.google.com/neg-status",)
# KServe's settings for its controller, on the InferenceService: read (the HPA's metric and target) or reported,
# never written on the Deployment mlgitops makes.
KSERVE_ANNOTATIONS = "serving.kserve.io/"
_KSERVE_READ = {"serving.kserve.io/deploymentMode": None, "serving.kserve.io/autoscalerClass": "hpa",
                "serving.kserve.io/metric": None, "serving.kserve.io/targetUtilizationPercentage": None}
_SERVICE_DEFAULTS = {"sessionAffinity": "None", "internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Cluster"}
_SERVICE_PATCHED = ("loadBalancerSourceRanges", "externalTrafficPolicy", "sessionAffinity", "sessionAffinityConfig",
                    "loadBalancerClass")
# The fields the import reads (import_objects.use_shape): any other is reported by the leftovers walk.
_TARGET: Shape = {"type": None, "value": None, "averageValue": None, "averageUtilization": None}
_METRIC: Shape = {"name": None, "selector": {"matchLabels": None}}
_HPA_METRIC: Shape = {"type": None, "resource": {"name": None, "target": _TARGET},
                      "pods": {"metric": _METRIC, "target": _TARGET}, "external": {"metric": _METRIC, "target": _TARGET},
                      "object": {"metric": _METRIC, "target": _TARGET,
                                 "describedObject": {"apiVersion": None, "kind": None, "name": None}}}
_KUBERNETES_ROLLOUT = {"maxSurge": "25%", "maxUnavailable": "25%"}  # a Deployment's default rolling update
_STRATEGY: Shape = {"type": None, "rollingUpdate": {"maxSurge": None, "maxUnavailable": None}}
_INGRESS_PATH: Shape = {"path": None, "pathType": None, "backend": {"service": {"name": None, "port": {"number": None, "name": None}},
                                                                    "serviceName": None, "servicePort": None}}
# vLLM's, TGI's and SGLang's flags naming the Hugging Face repository to serve
_MODEL_FLAGS = ("--model", "--model-id", "--model-path")
_ENV_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")  # $(NAME): Kubernetes expands env in args
_HF_REPO = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_.]*/[A-Za-z0-9][-A-Za-z0-9_.]*")  # org/name (not a local path)
_HF_VERSION = "main"  # an unpinned repository's revision: Hugging Face's default branch
_SINGLE_REASON = "imported: the manifests ran one GPU pod (confirm, or set replicas)"
# KServe's predictor formats whose name is the spec's framework (model.framework is free text; these are the
# names the examples use).
_FRAMEWORKS = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm", "pytorch": "pytorch",
               "tensorflow": "tensorflow", "onnx": "onnx", "huggingface": "huggingface", "triton": "triton"}


def serving(group: Group, workload: Obj, model: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    pod = Pod(workload, _POD_SPEC[workload.kind], findings, DEPLOYMENT, optional_limits=group.optional_limits)
    if workload.kind == "InferenceService":
        _kserve(pod, model)
        _storage_uri(pod, model)
    _model_env(pod, workload, model)
    _model_arg(pod, model)
    out = container(pod, "serving")
    port = _port(pod, group.first("Service"))
    if port is not None:
        out["port"] = port
    _replicas(workload, out, findings)
    if workload.kind == "InferenceService":
        _kserve_scaling(pod, out)
    health = probes(pod, port)
    if health:
        out["health"] = health
    _startup(pod, out)
    out.update(volumes(pod, {c.name: c for c in group.attached.get("PersistentVolumeClaim", [])}, "serving"))
    relocate_env(pod, out)
    if pod.moved_cache and "HF_HOME" not in out.get("env", {}):
        out["env"] = out.get("env", {}) | {"HF_HOME": pod.moved_cache}
    _ephemeral(pod, out)
    _download_disk(pod, model, out)
    shared_memory_off(pod, out)
    out.update(_rollout(pod, workload))
    _carried_startup(pod, out)
    out.update(extra_containers(pod, "serving"))
    for key, read in (("autoscaling", _autoscaling), ("metrics", _metrics), ("ingress", _ingress),
                      ("service", _service), ("ports", _ports), ("shutdown", _shutdown),
                      ("podAnnotations", _pod_annotations), ("serviceAccount", _service_account)):
        value = read(group, pod, port)
        if value:
            out[key] = value
    _single_replica(pod, out)
    _pdb(group, findings)
    group.patches = pod.patches() + _service_patch(group, findings)
    return out


def _kserve(pod: Pod, model: dict[str, Any]) -> None:
    pod.note(CHANGED, "/spec", "an InferenceService becomes a Deployment and Service of mlgitops' own: "
             "KServe's autoscaler, transformer and explainer are not carried over", covers=False)
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
                 "model.fetch to download the weights", Severity.ERROR, covers=False)
    pod.use(f"{pod.pointer}/model/storageUri", f"{pod.pointer}/model/modelFormat/name")
    pod.container = {**predictor, "name": "kserve-container"}
    pod.cpointer = f"{pod.pointer}/model"


def _kserve_scaling(pod: Pod, out: dict[str, Any]) -> None:
    """KServe's predictor replicas: minReplicas alone is replicas; a range is an HPA on CPU (KServe's own
    default metric, with its target), and a Knative metric (concurrency, rps) is reported, not carried."""
    spec, at = pod.spec, pod.pointer
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    notes = _kserve_annotations(pod)
    metric = spec.get("scaleMetric", notes.get("serving.kserve.io/metric", "cpu"))
    target = spec.get("scaleTarget", _int(notes.get("serving.kserve.io/targetUtilizationPercentage")))
    pod.use(f"{at}/minReplicas", f"{at}/maxReplicas")
    if not isinstance(high, int) or not isinstance(low, int) or high <= low:
        if isinstance(low, int) and low > 0:
            out["replicas"] = low
        return
    out["autoscaling"] = {"minReplicas": max(low, 1), "maxReplicas": high, "targetCPUUtilization": 80}
    if metric == "cpu" and isinstance(target, int) and 0 < target <= 100:
        out["autoscaling"]["targetCPUUtilization"] = target
        pod.use(f"{at}/scaleMetric", f"{at}/scaleTarget")
    elif metric != "cpu":
        where = f"{at}/scaleMetric" if "scaleMetric" in spec else pointer("metadata", "annotations",
                                                                           "serving.kserve.io/metric")
        pod.note(CHANGED, where, f"KServe scales on {metric}: mlgitops' HPA scales on CPU utilisation (80 %) "
                 "instead", "scale on the server's own metric (autoscaling.metrics) if CPU does not follow the load")
        pod.use(f"{at}/scaleTarget")


def _storage_uri(pod: Pod, model: dict[str, Any]) -> None:
    """A custom predictor's STORAGE_URI: KServe's storage initializer downloaded it to /mnt/models before the
    server started. It is the model's uri; the Deployment mlgitops makes downloads nothing unless model.fetch
    says so (with mlgitops.yaml's storageInitializer), which the report asks for."""
    for i, item in enumerate(as_list(pod.container.get("env"))):
        uri = dig(item, "value")
        if dig(item, "name") != "STORAGE_URI" or not isinstance(uri, str) or "://" not in uri or "uri" in model \
                or env_problem("STORAGE_URI", uri):  # a literal credential: env reports it, never shown
            continue
        model["uri"] = uri
        pod.note(CHANGED, f"{pod.cpointer}/env/{i}/value", f"STORAGE_URI {uri}: model.uri; KServe's storage "
                 "initializer downloaded it to /mnt/models, and the Deployment mlgitops makes downloads nothing "
                 "unless model.fetch says so", "set model.fetch: {mountPath: /mnt/models} (and storageInitializer "
                 "in mlgitops.yaml)", covers=False)


def _kserve_annotations(pod: Pod) -> dict[str, Any]:
    """The InferenceService's serving.kserve.io/ annotations; each one the import does not read is reported."""
    notes = {str(k): v for k, v in as_map(pod.obj.get("metadata", "annotations")).items()
             if str(k).startswith(KSERVE_ANNOTATIONS)}
    for key, value in notes.items():
        if key not in _KSERVE_READ or _KSERVE_READ[key] not in (None, value):
            pod.note(DROPPED, pointer("metadata", "annotations", key), f"annotation {key}: not carried over (a "
                     "setting of KServe's controller; mlgitops makes the Deployment, Service and HPA itself)")
    return notes


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


def _model_arg(pod: Pod, model: dict[str, Any]) -> None:
    """model.uri (and model.version) from the Hugging Face repository the server's args name (vLLM's `--model`,
    TGI's `--model-id`): the server downloads those weights itself, so they are the model, not the image's tag."""
    args = [str(a) for a in as_list(pod.container.get("args"))]
    for i, arg in enumerate(args):
        key, eq, value = arg.partition("=")
        if key not in _MODEL_FLAGS:
            continue
        value = _expand(pod, value if eq else (args[i + 1] if i + 1 < len(args) else ""))
        if _HF_REPO.fullmatch(value) and "uri" not in model:
            model["uri"] = f"hf://{value}:{_HF_VERSION}"  # KServe's hf://<repo>:<revision> (kube/weights.py)
            model.setdefault("version", _HF_VERSION)
            pod.note(CHANGED, f"{pod.cpointer}/args/{i}", f"{key} {value}: model.uri is {model['uri']} and "
                     f"model.version '{_HF_VERSION}' (the server image's tag is not the model's version): the "
                     "revision is unpinned, a branch whose weights may change under the same version "
                     "(weights-pinned)", f"pin a commit: model.uri hf://{value}:<40-hex commit>, version the "
                     "model, and pass the commit to the server (--revision)", covers=False)
        return


def _expand(pod: Pod, arg: str) -> str:
    """An argument with its $(NAME) references to the container's literal env values expanded, as the kubelet
    does (`--model-id=$(MODEL_ID)`, GKE's tutorials)."""
    env = {str(dig(e, "name")): dig(e, "value") for e in as_list(pod.container.get("env"))}
    return _ENV_REFERENCE.sub(lambda m: str(env[m[1]]) if isinstance(env.get(m[1]), str) else m[0], arg)


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
            pod.served = p
            return _int(p.get("containerPort"))
    if target is not None and _int(target) is not None:
        return _int(target)
    return None


def _ports(group: Group, pod: Pod, port: int | None) -> list[dict[str, Any]] | None:
    """serving.ports: the container's ports but the served one and the metrics one; each is also a Service
    port of the same number and admitted by the NetworkPolicy."""
    out: list[dict[str, Any]] = []
    metrics = _metrics_port(group, pod, port)
    for i, p in enumerate(as_list(pod.container.get("ports"))):
        if not isinstance(p, dict):
            continue
        at = f"{pod.cpointer}/ports/{i}"
        number = _int(p.get("containerPort"))
        pod.use(f"{at}/name", f"{at}/containerPort", f"{at}/protocol")
        if p is pod.served or number is None or number in (port, metrics):
            continue
        entry: dict[str, Any] = {"name": _port_name(p, number), "port": number}
        if p.get("protocol") not in (None, "TCP"):
            entry["protocol"] = p["protocol"]
        out.append(entry)
    _service_ports(group, {port, metrics} | {p["port"] for p in out})
    return out


def _port_name(p: dict[str, Any], number: int) -> str:
    name = str(p.get("name") or "")
    if name in ("", "http", "metrics") or not _PORT_NAME.fullmatch(name):
        return f"port-{number}"
    return name


def _service_ports(group: Group, numbers: set[int | None]) -> None:
    """Service ports that reach a container port the spec carries are carried with it; any other is
    reported by the leftovers walk."""
    service = group.first("Service")
    if service is None:
        return
    for i, p in enumerate(as_list(service.get("spec", "ports"))):
        target = _int(dig(p, "targetPort")) or _named_port_number(group, dig(p, "targetPort")) or _int(dig(p, "port"))
        if i == 0 or target in numbers:
            service.use(*(f"/spec/ports/{i}/{k}" for k in ("name", "port", "targetPort", "protocol")))


def _named_port_number(group: Group, name: Any) -> int | None:
    workload = group.serving
    if workload is None or name is None:
        return None
    for c in as_list(workload.get(*steps(_POD_SPEC.get(workload.kind, "/spec/template/spec")), "containers")):
        for p in as_list(dig(c, "ports")):
            if isinstance(p, dict) and p.get("name") == name:
                return _int(p.get("containerPort"))
    return None


def _int(value: Any) -> int | None:
    """A port as an int: manifests write "8080" as a string too."""
    return whole_number(value)


def _replicas(workload: Obj, out: dict[str, Any], findings: list[Finding]) -> None:
    replicas = workload.get("spec", "replicas")
    workload.use("/spec/selector")
    if isinstance(replicas, int) and not isinstance(replicas, bool):
        out["replicas"] = replicas
    elif isinstance(replicas, str) and _int(replicas) is not None:  # "3": the API server refuses it; meant 3
        out["replicas"] = _int(replicas)
        findings.append(workload.finding(CHANGED, "/spec/replicas", f"replicas '{replicas}' is a string (the API "
                                         f"server refuses it): read as {out['replicas']}"))
    elif replicas is not None:
        findings.append(workload.finding(DROPPED, "/spec/replicas", "replicas is no number: not carried over",
                                         "set serving.replicas"))
    workload.use("/spec/replicas")
    if workload.kind == "StatefulSet":
        workload.use("/spec/serviceName", "/spec/podManagementPolicy", "/spec/updateStrategy")
        findings.append(workload.finding(CHANGED, "/kind", "a StatefulSet becomes a Deployment: pods lose their "
                                         "stable names, and per-pod claims (volumeClaimTemplates) last as long "
                                         "as their pod",
                                         "a model server rarely needs them; keep the StatefulSet if it does"))
    if workload.kind == "ReplicationController":
        findings.append(workload.finding(CHANGED, "/kind", "a ReplicationController becomes a Deployment"))


def _single_replica(pod: Pod, out: dict[str, Any]) -> None:
    """One GPU pod without autoscaling: an LLM that fills a node. Said so (singleReplica), so prod's
    min-replicas and pdb-required do not ask for a second GPU node; the report asks the team to confirm."""
    if out.get("replicas", 1) != 1 or out.get("autoscaling") or not out.get("resources", {}).get("gpu"):
        return
    out["singleReplica"] = {"reason": _SINGLE_REASON}
    pod.note(CHANGED, "/spec/replicas", "one GPU pod, as the manifests run it: written as serving.singleReplica, "
             "so check's min-replicas and pdb-required accept one pod in every environment",
             "remove singleReplica and set replicas (or autoscaling) where a second pod is wanted", covers=False)


def _rollout(pod: Pod, workload: Obj) -> dict[str, Any]:
    out: dict[str, Any] = {}
    strategy = as_map(workload.get("spec", "strategy"))
    use_shape(workload, "/spec/strategy", strategy, _STRATEGY)
    workload.use("/spec/revisionHistoryLimit")  # the history kept is mlgitops' own choice
    if strategy.get("type") == "Recreate":
        out["rollout"] = {"type": "Recreate"}
    elif isinstance(strategy.get("rollingUpdate"), dict):
        rolling = {k: v for k, v in strategy["rollingUpdate"].items() if k in ("maxSurge", "maxUnavailable")}
        # mlgitops' own rollout read back, or Kubernetes' default (as `kubectl get -o yaml` shows it): unsaid
        if rolling and rolling not in ({"maxSurge": 1, "maxUnavailable": 0}, _KUBERNETES_ROLLOUT):
            out["rollout"] = rolling
    deadline = workload.get("spec", "progressDeadlineSeconds")
    workload.use("/spec/progressDeadlineSeconds")
    if isinstance(deadline, int) and deadline != pods.KUBERNETES_PROGRESS_DEADLINE and workload.get(
            "metadata", "labels", "app.kubernetes.io/managed-by") != "mlgitops":
        out.setdefault("rollout", {})["progressDeadlineSeconds"] = deadline
    for key in ("priorityClassName", "runtimeClassName"):
        if isinstance(pod.spec.get(key), str):
            pod.use(f"{pod.pointer}/{key}")
            out[key] = pod.spec[key]
    return out


def _shutdown(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    return lifecycle(pod) or None


def _autoscaling(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    hpa = group.first("HorizontalPodAutoscaler")
    if hpa is None:
        return None
    hpa.use("/spec/minReplicas", "/spec/maxReplicas", "/spec/scaleTargetRef/name", "/spec/scaleTargetRef/kind",
            "/spec/scaleTargetRef/apiVersion", "/spec/behavior")
    out: dict[str, Any] = {"minReplicas": hpa.get("spec", "minReplicas") or 1,
                           "maxReplicas": hpa.get("spec", "maxReplicas")}
    for i, metric in enumerate(as_list(hpa.get("spec", "metrics"))):
        _hpa_metric(pod, hpa, f"/spec/metrics/{i}", as_map(metric), out)
    if not hpa.get("spec", "metrics") and hpa.get("spec", "targetCPUUtilizationPercentage") is not None:
        hpa.use("/spec/targetCPUUtilizationPercentage")  # autoscaling/v1
        out["targetCPUUtilization"] = hpa.get("spec", "targetCPUUtilizationPercentage")
    behavior = hpa.get("spec", "behavior")
    if isinstance(behavior, dict):
        out["behavior"] = behavior
    if not {"targetCPUUtilization", "targetRequestsPerSecond", "metrics"} & set(out):
        out["targetCPUUtilization"] = 80  # Kubernetes' own default for an HPA without metrics
    return out


def _hpa_metric(pod: Pod, hpa: Obj, at: str, metric: dict[str, Any], out: dict[str, Any]) -> None:
    kind = str(metric.get("type", ""))
    body = as_map(metric.get(kind[:1].lower() + kind[1:]))
    target = as_map(body.get("target"))
    name = dig(body, "metric", "name")
    how = _metric_form(kind, body, target, name)
    if how == "cpu":
        out["targetCPUUtilization"] = target["averageUtilization"]
    elif how == "rps":
        value = target["averageValue"]
        number = whole_number(value)
        out["targetRequestsPerSecond"] = number if number is not None else str(value)
    elif how == "named":
        out.setdefault("metrics", []).append(_named_metric(pod, hpa, at, kind, body, target))
    else:
        what = f"{kind} {body.get('name') or name or ''}".strip()
        pod.findings.append(hpa.finding(DROPPED, at, f"the HPA's {what or 'unknown'} metric is not carried over: "
                                        "the spec scales on CPU utilisation and Pods, Object and External metrics "
                                        "by name", "scale on CPU, or on the server's own metric (metrics: "
                                        "[{type: Pods, name: ..., averageValue: ...}])"))
        return
    use_shape(hpa, at, metric, _HPA_METRIC)


def _metric_form(kind: str, body: dict[str, Any], target: dict[str, Any], name: Any) -> str:
    """Which spec field an HPA metric becomes: cpu (targetCPUUtilization), rps (targetRequestsPerSecond on
    mlgitops' own metric), named (autoscaling.metrics), or none."""
    if kind == "Resource" and body.get("name") == "cpu" and target.get("averageUtilization") is not None:
        return "cpu"
    if kind == "Pods" and name == _RPS_METRIC and target.get("averageValue") is not None:
        return "rps"
    if kind in ("Pods", "Object", "External") and name and (target.get("value") or target.get("averageValue")):
        return "named"
    return "none"


def _named_metric(pod: Pod, hpa: Obj, at: str, kind: str, body: dict[str, Any],
                  target: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind, "name": dig(body, "metric", "name")}
    selector = dig(body, "metric", "selector")
    if isinstance(dig(selector, "matchLabels"), dict):
        entry["selector"] = {str(k): str(v) for k, v in selector["matchLabels"].items()}
    if as_list(dig(selector, "matchExpressions")):
        pod.findings.append(hpa.finding(DROPPED, f"{at}/{kind[:1].lower() + kind[1:]}/metric/selector",
                                        "the metric selector's matchExpressions: not carried over (the spec "
                                        "narrows a metric by matchLabels)"))
    if kind == "Object":
        described = as_map(body.get("describedObject"))
        entry["object"] = {k: described.get(k) for k in ("apiVersion", "kind", "name")}
    key = "value" if target.get("value") is not None else "averageValue"
    entry[key] = target[key]
    return entry


def _metrics(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    """Prometheus scraping: from a ServiceMonitor, else the pod's prometheus.io annotations, else a container
    port named `metrics`."""
    monitor = group.first("ServiceMonitor")
    if monitor is None:
        return _scrape_annotations(group, pod, port)
    monitor.use("/spec/selector", "/spec/endpoints/0/port", "/spec/endpoints/0/targetPort", "/spec/endpoints/0/path",
                "/spec/endpoints/0/interval", "/spec/namespaceSelector")
    endpoint = as_map(monitor.get("spec", "endpoints", 0))
    out: dict[str, Any] = {"path": endpoint.get("path", "/metrics")}
    number = _named_port(pod, _target(group.first("Service"), endpoint.get("port")) or endpoint.get("targetPort"))
    if number is not None and number != port:
        out["port"] = number
        pod.metrics_port = number
    if isinstance(endpoint.get("interval"), str) and endpoint["interval"] != "30s":
        out["interval"] = endpoint["interval"]
    return out


def _scrape_annotations(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    annotations = as_map(pod.obj.get(*steps(pod.pointer)[:-1], "metadata", "annotations"))
    named = next((_int(p.get("containerPort")) for p in as_list(pod.container.get("ports"))
                  if isinstance(p, dict) and p.get("name") == "metrics"), None)
    if str(annotations.get(_SCRAPE[0])).lower() != "true" and named is None:
        return None
    number = _int(annotations.get(_SCRAPE[1])) or named
    out: dict[str, Any] = {"path": str(annotations.get(_SCRAPE[2]) or "/metrics")}
    if number is not None and number != port:
        out["port"] = number
        pod.metrics_port = number
    return out


def _metrics_port(group: Group, pod: Pod, port: int | None) -> int | None:
    return pod.metrics_port


def _pod_annotations(group: Group, pod: Pod, port: int | None) -> dict[str, str] | None:
    """The pod template's annotations, but the scrape ones (serving.metrics) and mlgitops' own."""
    at = pod.pointer.rsplit("/", 1)[0] + "/metadata"
    pod.use(f"{at}/labels", f"{at}/creationTimestamp")  # mlgitops labels its pods itself
    annotations = as_map(pod.obj.get(*steps(at), "annotations"))
    pod.use(f"{at}/annotations")
    out = {str(k): str(v) for k, v in annotations.items()
           if k not in _SCRAPE and not str(k).startswith(OWN_ANNOTATIONS)}
    return out or None


def _service_account(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    """The ServiceAccount the pods ran as: its annotations (a cloud identity: EKS IRSA, GKE Workload Identity)
    go to the model's own ServiceAccount, which mlgitops names after the model."""
    name = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount")
    pod.use(f"{pod.pointer}/serviceAccountName", f"{pod.pointer}/serviceAccount",
            f"{pod.pointer}/automountServiceAccountToken")
    out: dict[str, Any] = {}
    if pod.spec.get("automountServiceAccountToken") is True:
        out["automountToken"] = True
    account = next((a for a in group.attached.get("ServiceAccount", []) if a.name == name), None)
    annotations = _annotations(account) if account is not None else {}
    if account is not None:
        account.use("/metadata/labels", "/metadata/namespace", "/automountServiceAccountToken")
    out |= {"annotations": annotations} if annotations else {}
    if name and name not in ("default", group.name):
        _renamed_account(pod, str(name), group.name, account is not None)
    return out or None


def _renamed_account(pod: Pod, name: str, model: str, found: bool) -> None:
    pod.note(CHANGED, f"{pod.pointer}/serviceAccountName", f"the pods ran as ServiceAccount '{name}': mlgitops runs "
             f"them as the model's own ('{model}')" + (", with its annotations" if found else ""),
             "bind the cloud identity or RBAC to the new account (serving.serviceAccount.annotations)")


def _service(group: Group, pod: Pod, port: int | None) -> dict[str, Any] | None:
    """serving.service: the type, the port clients call (the first Service port), headless, annotations."""
    service = group.first("Service")
    if service is None:
        return None
    service.use("/spec/selector", "/spec/clusterIP", "/spec/clusterIPs", "/spec/ipFamilies", "/spec/ipFamilyPolicy")
    for key, value in _SERVICE_DEFAULTS.items():
        if service.get("spec", key) == value:
            service.use(f"/spec/{key}")
    out: dict[str, Any] = _service_type(pod, service)
    if service.get("spec", "clusterIP") == "None":
        out["headless"] = True
    number = _int(service.get("spec", "ports", 0, "port"))
    if number is not None and number != _SERVICE_PORT:
        out["port"] = number
    annotations = _annotations(service)
    if annotations:
        out["annotations"] = annotations
    _other_services(group, pod)
    return out or None


def _service_patch(group: Group, findings: list[Finding]) -> list[dict[str, Any]]:
    """Who may reach a LoadBalancer and how it routes (source ranges, traffic policy, affinity, class): the spec
    has no field for them, a patch of the Service carries them in every environment."""
    service = group.first("Service")
    if service is None:
        return []
    carried: dict[str, Any] = {}
    for key in _SERVICE_PATCHED:
        value = service.get("spec", key)
        if value in (None, [], {}) or value == _SERVICE_DEFAULTS.get(key):
            continue
        carried[key] = value
        findings.append(service.finding(PATCHED, f"/spec/{key}", f"{key}: carried over as a patch of the Service "
                                        "(spec.patches): the spec has no field for it"))
    return [{"target": {"kind": "Service"}, "merge": {"spec": carried}}] if carried else []


def _other_services(group: Group, pod: Pod) -> None:
    """A second Service of the workload is said once, as a whole: mlgitops makes one Service per model."""
    governing = group.serving.get("spec", "serviceName") if group.serving is not None else None
    for other in as_list(group.attached.get("Service"))[1:]:
        if group.serving is not None and group.serving.kind == "StatefulSet" and other.name == governing:
            pod.findings.append(other.finding(CHANGED, "/spec", f"{other.ref} is the StatefulSet's governing "
                                              "Service (stable pod names): the Deployment needs none, so it is not "
                                              "carried over"))
        else:
            pod.findings.append(other.finding(DROPPED, "/spec", f"{other.ref}: a second Service of the workload is "
                                              "not carried over: mlgitops makes one Service per model (service:, "
                                              "its other ports in ports:)", "keep it as a manifest of its own if "
                                              "clients need it"))


def _service_type(pod: Pod, service: Obj) -> dict[str, Any]:
    kind = service.get("spec", "type") or "ClusterIP"
    service.use("/spec/type")
    if kind in ("LoadBalancer", "NodePort"):
        return {"type": kind}
    if kind != "ClusterIP":
        pod.findings.append(service.finding(DROPPED, "/spec/type", f"Service type {kind}: not carried over (the "
                                            "spec's Service is ClusterIP, LoadBalancer or NodePort)"))
    return {}


def _annotations(obj: Obj) -> dict[str, str]:
    """An object's annotations but mlgitops', kubectl's and Helm's own, and those a cloud's controller writes."""
    obj.use("/metadata/annotations")
    return {str(k): str(v) for k, v in as_map(obj.get("metadata", "annotations")).items()
            if not str(k).startswith(OWN_ANNOTATIONS) and k not in _SERVER_ANNOTATIONS}


def _startup(pod: Pod, out: dict[str, Any]) -> None:
    """A GPU server without a startup probe gets one on its liveness path: loading weights takes minutes, and
    a liveness probe alone restarts it before it is ready (check: liveness-before-load)."""
    health = out.get("health", {})
    liveness = health.get("liveness")
    if not out.get("resources", {}).get("gpu") or "startup" in health or liveness is None:
        return
    if "startupProbe" in pod.patch_container:  # its own (exec, tcpSocket...) is carried: a second handler on
        return  # one probe is refused by the API server
    path = liveness["path"] if isinstance(liveness, dict) else liveness
    health["startup"] = {"path": path, **_GPU_STARTUP}
    pod.note(CHANGED, f"{pod.cpointer}/livenessProbe", f"a startup probe on {path} is added (up to "
             f"{_GPU_STARTUP['periodSeconds'] * _GPU_STARTUP['failureThreshold']} s to load): a GPU model loads "
             "for minutes, and the liveness probe alone would restart it first (liveness-before-load)",
             "shorten serving.health.startup.failureThreshold if it loads faster")


def _download_disk(pod: Pod, model: dict[str, Any], out: dict[str, Any]) -> None:
    """A server that downloads its hf:// weights itself, into no volume of its own, wrote them to its container's
    disk (the ephemeral-storage it asked for): under mlgitops the root is read-only and the download lands in
    HOME, which model.size sizes; the ephemeral-storage request then follows HOME."""
    resources = out.get("resources", {})
    size = resources.get("ephemeralStorage")
    if size is None or not str(model.get("uri", "")).startswith("hf://") or "storage" in out or \
            pods.cache_on_volume(out) or "ephemeralStorage" in resources.get("limits", {}):
        return
    model["size"] = resources.pop("ephemeralStorage")
    pod.note(CHANGED, f"{pod.cpointer}/resources", f"ephemeral-storage {size}: written as model.size {size}, the "
             f"room for the {model['uri']} download in HOME (the root filesystem is read-only); the HOME volume and "
             "the ephemeral-storage request grow by it", "set model.size to the checkpoint's size", covers=False)


def _carried_startup(pod: Pod, out: dict[str, Any]) -> None:
    """A startup probe carried as a patch (exec, tcpSocket) is unknown to the progress deadline mlgitops derives
    from health: the rollout gets one above the time that probe allows, plus scheduling and image pull."""
    probe = pod.patch_container.get("startupProbe")
    rollout = out.get("rollout", {})
    if not isinstance(probe, dict) or "progressDeadlineSeconds" in rollout:
        return
    needed = probe_seconds(probe) + pods.SCHEDULE_AND_PULL_SECONDS[bool(out.get("resources", {}).get("gpu"))]
    if needed > pods.KUBERNETES_PROGRESS_DEADLINE:
        out["rollout"] = rollout | {"progressDeadlineSeconds": needed}
        pod.note(CHANGED, f"{pod.cpointer}/startupProbe", f"rollout.progressDeadlineSeconds {needed}: the carried "
                 f"startup probe lets the server take {probe_seconds(probe)} s to start, and mlgitops derives the "
                 "deadline from serving.health only", covers=False)


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
    ingress.use("/spec/rules/0/host", "/spec/ingressClassName", "/spec/tls/0/secretName", "/spec/tls/0/hosts",
                "/metadata/annotations")
    use_shape(ingress, "/spec/rules/0/http/paths/0", dig(rule, "http", "paths", 0), _INGRESS_PATH)
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


def _pdb(group: Group, findings: list[Finding]) -> None:
    pdb = group.first("PodDisruptionBudget")
    if pdb is not None:
        findings.append(pdb.finding(CHANGED, "/spec", "the PodDisruptionBudget is replaced by mlgitops' own, "
                                    "made where the environment requires one (pdb-required)"))
