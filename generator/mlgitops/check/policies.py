"""Policy rules on the objects an environment receives: pure functions from objects to violations.

Each violation names its rule, the object, and a JSON pointer into the object; `check` traces the
pointer back through the generator's source map to the spec line the author must change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mlgitops.kube.annotations import CANARY_OF, SECURITY_EXCEPTION, is_grant
from mlgitops.kube.images import split_image
from mlgitops.report.findings import Severity

PRODUCTION_NAMES = ("prod", "production")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
BATCH = {"Job", "CronJob", "TrainJob", "PyTorchJob", "Experiment"}  # run to completion: no probes

@dataclass(frozen=True)
class Settings:
    production: bool
    min_replicas: int
    require_pdb: bool
    image_pinning: str
    immutable_tag: str
    disabled: frozenset[str]
    enforced: str = "restricted"  # the Pod Security Standard the environment's namespace enforces

    @classmethod
    def for_environment(cls, name: str, policies: dict, pod_security: str = "restricted") -> Settings:
        production = policies.get("production", name in PRODUCTION_NAMES)
        return cls(
            enforced=pod_security,
            production=production,
            min_replicas=policies.get("minReplicas", 2 if production else 1),
            require_pdb=policies.get("requirePodDisruptionBudget", production),
            image_pinning=policies.get("imagePinning", "immutable-tag" if production else "none"),
            immutable_tag=policies.get("immutableTagPattern", r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$"),
            disabled=frozenset(policies.get("disabled", [])),
        )


@dataclass(frozen=True)
class Violation:
    rule: str
    kind: str
    name: str
    pointer: str  # JSON pointer into the object
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR


def _pod(obj: dict) -> dict:
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    return pod if isinstance(pod, dict) else {}


def _containers(obj: dict):
    pod = _pod(obj)
    for group in ("initContainers", "containers"):
        for i, container in enumerate(pod.get(group) or []):
            yield f"/spec/template/spec/{group}/{i}", container


def _hpa_min(objects: list[dict], name: str) -> int | None:
    for obj in objects:
        ref = obj.get("spec", {}).get("scaleTargetRef", {}) if obj["kind"] == "HorizontalPodAutoscaler" else {}
        if ref.get("kind") == "Deployment" and ref.get("name") == name:
            return obj["spec"].get("minReplicas", 1)
    return None


def _selects(pdb: dict, labels: dict) -> bool:
    wanted = pdb.get("spec", {}).get("selector", {}).get("matchLabels", {})
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def _replicas(obj, objects, settings, out, add):
    if obj["kind"] != "Deployment":
        return
    hpa_min = _hpa_min(objects, obj["metadata"]["name"])
    count, pointer = (hpa_min, "/spec/minReplicas") if hpa_min is not None else (
        obj["spec"].get("replicas", 1), "/spec/replicas")
    kind = "HorizontalPodAutoscaler" if hpa_min is not None else "Deployment"
    if not isinstance(count, int) or isinstance(count, bool):
        return  # not a number: the Kubernetes schema check reports it
    canary = CANARY_OF in (obj["metadata"].get("labels") or {})  # small by design; the stable one is checked
    if count < settings.min_replicas and not canary:
        add("min-replicas", pointer, f"runs {count} pod{'s' * (count != 1)}; this environment needs at least "
            f"{settings.min_replicas}", "raise replicas (or autoscaling.minReplicas)", kind=kind)
    if settings.require_pdb:
        labels = obj["spec"]["template"].get("metadata", {}).get("labels", {})
        if not any(o["kind"] == "PodDisruptionBudget" and _selects(o, labels) for o in objects):
            add("pdb-required", pointer, "has no PodDisruptionBudget",
                "run at least 2 replicas: mlgitops then writes one", kind=kind)


def _canary_weight(objects: list[dict], canary: str) -> int | None:
    """The percent of requests an HTTPRoute or an ingress-nginx canary Ingress sends to the canary's Service."""
    for o in objects:
        for rule in _dig(o, "spec", "rules") or [] if o.get("kind") == "HTTPRoute" else []:
            for ref in (rule.get("backendRefs") or []) if isinstance(rule, dict) else []:
                if ref.get("name") == canary and isinstance(ref.get("weight"), int):
                    return ref["weight"]
        notes = _annotations(o) if o.get("kind") == "Ingress" else {}
        if notes.get("nginx.ingress.kubernetes.io/canary") == "true" and str(
                notes.get("nginx.ingress.kubernetes.io/canary-weight", "")).isdigit():
            return int(notes["nginx.ingress.kubernetes.io/canary-weight"])
    return None


def _canary_load(obj, objects, add):
    """A canary's fixed pods take its weight of the requests the stable version's pods (up to the HPA's
    maximum) serve: too few, and at peak the canary is overloaded and its latencies and errors are not the
    new version's."""
    stable = ((obj.get("metadata") or {}).get("labels") or {}).get(CANARY_OF)
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    weight = _canary_weight(objects, obj["metadata"]["name"])
    deployments = {d["metadata"]["name"]: d for d in _of_kind(objects, "Deployment")}
    if not stable or stable not in deployments or not isinstance(replicas, int) or not weight or weight >= 100:
        return
    pods = deployments[stable]["spec"].get("replicas", 1)
    for hpa in _of_kind(objects, "HorizontalPodAutoscaler"):
        ref = hpa["spec"].get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name") == stable:
            pods = hpa["spec"].get("maxReplicas", pods)
    if not isinstance(pods, int):
        return
    needed = -(-weight * pods // (100 - weight))  # per pod, as much as a stable pod at the stable version's peak
    if replicas < needed:
        add("canary-capacity", "/spec/replicas", f"the canary takes {weight}% of the requests: beside {pods} stable "
            f"pods that is the load of {needed}, on {replicas} pod{'s' * (replicas != 1)}; overloaded, its "
            "latencies and errors say little about the new version", f"set canary.replicas: {needed}, or a lower "
            "weight", severity=Severity.WARNING)


def image_problems(image: str, settings: Settings) -> list[tuple[str, str, str]]:
    """(rule, message, hint) for each image rule an image reference breaks in an environment."""
    _, tag, digest = split_image(image)
    if "@" in image and not digest:
        return [("image-latest", f"image '{image}' has a malformed digest",
                 "a digest is @sha256: followed by 64 lower-case hexadecimal digits")]
    if not digest and (not tag or tag == "latest"):
        return [("image-latest", f"image '{image}' is {'untagged' if not tag else 'tagged :latest'}",
                 "pin a version tag or a digest")]
    if settings.image_pinning == "digest" and not digest:
        return [("image-pinned", f"image '{image}' is not pinned by digest", "use name@sha256:…")]
    if settings.image_pinning == "immutable-tag" and not digest and not re.match(settings.immutable_tag, tag or ""):
        return [("image-pinned", f"image tag '{tag}' is not an immutable version",
                 f"use a tag matching {settings.immutable_tag}, or a digest")]
    return []


def _images(path, container, settings, add):
    image = container.get("image", "")
    for rule, message, hint in image_problems(image if isinstance(image, str) else str(image), settings):
        add(rule, f"{path}/image", message, hint)


def _resources(path, container, add):
    res = container.get("resources") or {}
    for part in ("requests", "limits"):
        missing = [r for r in ("cpu", "memory") if r not in (res.get(part) or {})]
        if missing:
            add("container-resources", f"{path}/resources", f"container '{container.get('name')}' has no "
                f"{' or '.join(missing)} {part}")


def _probes(path, container, add):
    missing = [p for p in ("readinessProbe", "livenessProbe") if p not in container]
    if missing and "/initContainers/" not in path:
        add("container-probes", f"{path}/{missing[0]}", f"container '{container.get('name')}' has no "
            f"{' or '.join(p.removesuffix('Probe') for p in missing)} probe",
            "add serving.health.readiness and serving.health.liveness")


def _annotations(obj: dict | None) -> dict:
    annotations = (obj or {}).get("metadata", {}).get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def _security(obj, add, meant: dict | None, enforced: str = "restricted"):
    problems = _restricted_problems(obj)
    if not problems:
        return
    if _annotations(meant if meant is not None else obj).get(SECURITY_EXCEPTION):  # the spec's reason, only
        if enforced == "restricted":  # Pod Security Admission does not read reasons: the pods are refused
            pointer, text = problems[0]
            add("pod-security-admission", pointer, f"the namespace enforces the restricted Pod Security Standard, "
                f"so the pods the spec excepts ({text}) are refused at admission and never run",
                "set podSecurity: baseline on this environment in mlgitops.yaml (audit and warn stay restricted), "
                "or remove the relaxation")
        return
    for pointer, text in problems:
        add("pod-security", pointer, f"breaks the restricted Pod Security Standard: {text}",
            "remove the relaxation, or give serving.security.reason")


def _restricted_problems(obj) -> list[tuple[str, str]]:
    """(pointer, what) for each way a pod breaks the restricted Pod Security Standard."""
    pod = _pod(obj)
    pod_sc = pod.get("securityContext") or {}
    problems = []
    for path, c in _containers(obj):
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append((f"{path}/securityContext", "allowPrivilegeEscalation is not false"))
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problems.append((f"{path}/securityContext", "capabilities do not drop ALL"))
        if sc.get("privileged"):
            problems.append((f"{path}/securityContext", "runs privileged"))
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False)):
            problems.append((f"{path}/securityContext", "may run as root (runAsNonRoot is not true)"))
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append((f"{path}/securityContext", "has no RuntimeDefault seccomp profile"))
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            problems.append((f"/spec/template/spec/{key}", f"uses {key}"))
    if any("hostPath" in v for v in pod.get("volumes") or []):
        problems.append(("/spec/template/spec/volumes", "mounts a hostPath volume"))
    return problems


def _gpu(obj, gpu: dict, add):
    pod = _pod(obj)
    resource = gpu["resource"]
    if not any(resource in ((c.get("resources") or {}).get("limits") or {}) for _, c in _containers(obj)):
        return
    keys = {t.get("key") for t in gpu["tolerations"]}
    tolerated = any((t.get("operator") == "Exists" and not t.get("key")) or t.get("key") in keys
                    for t in pod.get("tolerations") or [])
    if not tolerated:
        add("gpu-scheduling", "/spec/template/spec/tolerations", "requests GPUs but does not tolerate the GPU taint",
            f"tolerate {', '.join(sorted(k for k in keys if k))} (the default for GPU models)")
    wanted = gpu.get("nodeSelector") or {}
    selector = pod.get("nodeSelector") or {}
    selects = all(selector.get(k) == v for k, v in wanted.items()) if wanted else bool(selector)
    if not selects and not (pod.get("affinity") or {}).get("nodeAffinity"):
        labels = ", ".join(f"{k}={v}" for k, v in wanted.items())
        add("gpu-scheduling", "/spec/template/spec/nodeSelector", "requests GPUs but does not select GPU nodes"
            + (f" ({labels})" if labels else ""), "keep the GPU node selector of mlgitops.yaml")


def _requests_gpu(obj, gpu: dict) -> bool:
    return any(gpu["resource"] in ((c.get("resources") or {}).get("limits") or {}) for _, c in _containers(obj))


def _gpu_rollout(obj, gpu: dict, add):
    """A GPU Deployment whose rolling update surges needs a free GPU for every surge pod: on a full GPU
    pool the new pod stays Pending and, with maxUnavailable 0, no old pod ever leaves."""
    strategy = (obj.get("spec") or {}).get("strategy") or {}
    if obj["kind"] != "Deployment" or not _requests_gpu(obj, gpu) or strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if surge not in (0, "0%"):
        add("gpu-rollout-surge", "/spec/strategy/rollingUpdate/maxSurge", f"rolls out GPU pods with maxSurge {surge}: "
            "a surge pod needs a free GPU, and on a full GPU pool the rollout stalls",
            "use maxSurge: 0 and maxUnavailable: 1 (the GPU default), or reserve spare GPUs", severity=Severity.WARNING)


def _probe_budget(probe: dict) -> int:
    return probe.get("initialDelaySeconds", 0) + probe.get("failureThreshold", 3) * probe.get("periodSeconds", 10)


def _progress_deadline(obj, add):
    """A Deployment reported failed while its pods are still allowed to start."""
    spec = obj.get("spec") or {}
    if obj["kind"] != "Deployment":
        return
    deadline = spec.get("progressDeadlineSeconds", 600)
    for path, container in _containers(obj):
        if "/initContainers/" in path:
            continue
        probe = container.get("startupProbe") or container.get("livenessProbe")
        budget = _probe_budget(probe) if isinstance(probe, dict) else 0
        if isinstance(deadline, int) and budget >= deadline:
            add("progress-deadline", "/spec/progressDeadlineSeconds", f"progressDeadlineSeconds ({deadline}) is not "
                f"above the {budget} s container '{container.get('name')}' may take to start: a slow but healthy "
                "rollout is reported failed", "leave progressDeadlineSeconds unset (mlgitops adds scheduling and "
                "image-pull time to the startup budget), or raise it", severity=Severity.WARNING)


SINGLE_WRITER = {"ReadWriteOnce": "one node", "ReadWriteOncePod": "one pod"}


def _of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o.get("kind") == kind and isinstance(o.get("spec"), dict)]


def _labels_match(wanted: dict, labels: dict) -> bool:
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def _claim_without_source(pvc: dict) -> Violation | None:
    spec = pvc["spec"]
    if "ReadOnlyMany" not in (spec.get("accessModes") or []):
        return None
    if any(spec.get(key) for key in ("dataSource", "dataSourceRef", "volumeName")):
        return None
    return Violation("storage-no-source", "PersistentVolumeClaim", pvc["metadata"]["name"], "/spec/accessModes",
                     f"claim {pvc['metadata']['name']} is ReadOnlyMany but has no dataSource or volumeName: a new volume starts empty and no pod can "
                     "write the weights into it", "give storage.dataSource (a VolumeSnapshot or claim holding the "
                     "weights) or storage.volumeName (a pre-provisioned volume), or fetch them with model.fetch")


def _several_pods(deployment: dict, objects: list[dict]) -> str:
    """Why a Deployment may run more than one pod at once ("" if it never does)."""
    name, spec = deployment["metadata"]["name"], deployment["spec"]
    for hpa in _of_kind(objects, "HorizontalPodAutoscaler"):
        ref = hpa["spec"].get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name") == name and hpa["spec"].get("maxReplicas", 1) > 1:
            return f"is autoscaled up to {hpa['spec']['maxReplicas']} pods"
    replicas = spec.get("replicas", 1)
    if isinstance(replicas, int) and replicas > 1:
        return f"runs {replicas} replicas"
    strategy = spec.get("strategy") or {}
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and surge not in (0, "0", "0%"):
        return f"starts a new pod before stopping the old one in a rollout (maxSurge: {surge})"
    return ""


def _single_writer(pvc: dict, objects: list[dict]) -> Violation | None:
    modes = pvc["spec"].get("accessModes") or []
    if not modes or any(m not in SINGLE_WRITER for m in modes):
        return None
    name = pvc["metadata"]["name"]
    users = [d for d in _of_kind(objects, "Deployment")
             if name in {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in _pod(d).get("volumes") or []}]
    if len(users) > 1:  # a canary beside the stable version mounts the same claim: two pods at least
        mode, names = modes[0], " and ".join(f"Deployment/{d['metadata']['name']}" for d in users)
        stuck = ("one of them stays in ContainerCreating (Multi-Attach error) unless both land on the same node"
                 if mode == "ReadWriteOnce" else "only one of them ever starts")
        return Violation("storage-single-writer", "PersistentVolumeClaim", name, "/spec/accessModes",
                         f"claim {name} is {mode} (attachable to {SINGLE_WRITER[mode]}) but {names} both mount it: "
                         f"{stuck}", "use ReadOnlyMany or ReadWriteMany for the weights a canary shares with the "
                         "stable version, or fetch them per pod with model.fetch")
    for deployment in users:
        why = _several_pods(deployment, objects)
        if why:
            mode = modes[0]
            stuck = ("stay in ContainerCreating (Multi-Attach error)" if mode == "ReadWriteOnce" else "never start")
            return Violation("storage-single-writer", "PersistentVolumeClaim", name, "/spec/accessModes",
                             f"claim {name} is {mode} (attachable to {SINGLE_WRITER[mode]}) but Deployment/"
                             f"{deployment['metadata']['name']} {why}: the other pods {stuck}",
                             "use ReadOnlyMany or ReadWriteMany for several pods; for one writer, run one replica "
                             "with rollout.type: Recreate")
    return _single_writer_runs(pvc, modes[0], objects)


def _run_pods(obj: dict) -> int:
    """The most pods a Job, CronJob, TrainJob, PyTorchJob or Katib Experiment runs at once."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Job":
        return int(spec.get("parallelism", 1))
    if kind == "CronJob":
        return int(_dig(spec, "jobTemplate", "spec", "parallelism") or 1)
    if kind == "TrainJob":
        return int(_dig(spec, "trainer", "numNodes") or 1)
    if kind == "PyTorchJob":
        return sum(int(r.get("replicas", 1)) for r in (spec.get("pytorchReplicaSpecs") or {}).values()
                   if isinstance(r, dict))
    if kind == "Experiment":
        trial = int(_dig(spec, "trialTemplate", "trialSpec", "spec", "parallelism") or 1)
        return int(spec.get("parallelTrialCount", 3)) * trial
    return 0


def _single_writer_runs(pvc: dict, mode: str, objects: list[dict]) -> Violation | None:
    """Training runs on a single-writer claim: parallel trials, several nodes, a CronJob beside a sweep."""
    name = pvc["metadata"]["name"]
    runs = []
    for obj in objects:
        if obj.get("kind") not in BATCH or not isinstance(obj.get("metadata"), dict):
            continue
        claims = {(v.get("persistentVolumeClaim") or {}).get("claimName")
                  for view, _ in _views(obj) for v in _pod(view).get("volumes") or []}
        if name in claims:
            runs.append((f"{obj['kind']}/{obj['metadata'].get('name')}", _run_pods(obj)))
    if sum(n for _, n in runs) < 2:
        return None
    what = " and ".join(f"{ident} ({n} pod{'s' if n != 1 else ''} at once)" for ident, n in runs)
    stuck = ("the pods on other nodes stay in ContainerCreating (Multi-Attach error)" if mode == "ReadWriteOnce"
             else "all but one pod never start")
    return Violation("storage-single-writer", "PersistentVolumeClaim", name, "/spec/accessModes",
                     f"claim {name} is {mode} (attachable to {SINGLE_WRITER[mode]}) but {what} "
                     f"{'mount' if len(runs) > 1 else 'mounts'} it: {stuck}", "use accessMode: ReadWriteMany (or ReadOnlyMany for data that is "
                     "only read) for parallel trials or several workers")


def _service_target(service: dict, port, objects: list[dict]) -> int | None:
    """The container port number a Service port (by name or number) reaches."""
    spec = service["spec"]
    entry = next((p for p in spec.get("ports") or [] if port in (p.get("name"), p.get("port"))), None)
    if entry is None:
        return None
    target = entry.get("targetPort", entry.get("port"))
    if isinstance(target, int):
        return target
    for deployment in _of_kind(objects, "Deployment"):
        labels = (deployment["spec"].get("template") or {}).get("metadata", {}).get("labels") or {}
        if _labels_match(spec.get("selector") or {}, labels):
            for _, container in _containers(deployment):
                for p in container.get("ports") or []:
                    if p.get("name") == target:
                        return p.get("containerPort")
    return None


def _routed(ingress: dict, services: dict, objects: list[dict]) -> dict[int, list[tuple[str, str]]]:
    """Container port -> the (path, pathType) pairs an Ingress routes to it."""
    spec = ingress["spec"]
    pairs = [(p.get("backend") or {}, p.get("path", "/"), p.get("pathType", "Prefix"))
             for rule in spec.get("rules") or [] for p in (rule.get("http") or {}).get("paths") or []]
    if spec.get("defaultBackend"):
        pairs.append((spec["defaultBackend"], "/", "Prefix"))
    out: dict[int, list[tuple[str, str]]] = {}
    for backend, path, kind in pairs:
        ref = backend.get("service") or {}
        service, port = services.get(ref.get("name")), ref.get("port") or {}
        target = _service_target(service, port.get("name", port.get("number")), objects) if service else None
        if target is not None:
            out.setdefault(target, []).append((path, kind))
    return out


def _exposes(routes: list[tuple[str, str]], path: str) -> bool:
    for prefix, kind in routes:
        if path == prefix or (kind != "Exact" and (prefix == "/" or path.startswith(prefix.rstrip("/") + "/"))):
            return True
    return False


def _scraped(objects: list[dict], services: dict) -> list[tuple[str, str, str, int | None, str]]:
    """(kind, name, pointer, container port, path) of every metrics endpoint: ServiceMonitors and pod annotations."""
    out = []
    for monitor in _of_kind(objects, "ServiceMonitor"):
        wanted = (monitor["spec"].get("selector") or {}).get("matchLabels") or {}
        for service in services.values():
            if _labels_match(wanted, service["metadata"].get("labels") or {}):
                for i, endpoint in enumerate(monitor["spec"].get("endpoints") or []):
                    port = _service_target(service, endpoint.get("port"), objects)
                    out.append(("ServiceMonitor", monitor["metadata"]["name"], f"/spec/endpoints/{i}", port,
                                endpoint.get("path", "/metrics")))
    for deployment in _of_kind(objects, "Deployment"):
        notes = (deployment["spec"].get("template") or {}).get("metadata", {}).get("annotations") or {}
        if notes.get("prometheus.io/scrape") == "true" and str(notes.get("prometheus.io/port", "")).isdigit():
            out.append(("Deployment", deployment["metadata"]["name"], "/spec/template/metadata/annotations",
                        int(notes["prometheus.io/port"]), notes.get("prometheus.io/path", "/metrics")))
    return out


def _metrics_public(objects: list[dict]) -> list[Violation]:
    services = {s["metadata"]["name"]: s for s in _of_kind(objects, "Service")}
    out = []
    for ingress in _of_kind(objects, "Ingress"):
        routed = _routed(ingress, services, objects)
        for kind, name, pointer, port, path in _scraped(objects, services):
            if port in routed and _exposes(routed[port], path):
                out.append(Violation("metrics-public", kind, name, pointer,
                                     f"serves {path} on the port Ingress/{ingress['metadata']['name']} routes to: "
                                     "anyone who reaches the host can read the metrics",
                                     "give the metrics their own port (serving.metrics.port, e.g. 9090): only the "
                                     "monitoring namespace may reach it"))
    return out


def _storage_and_routes(objects: list[dict], settings: Settings) -> list[Violation]:
    out = []
    for pvc in _of_kind(objects, "PersistentVolumeClaim"):
        out += [v for v in (_claim_without_source(pvc), _single_writer(pvc, objects)) if v]
    out += _metrics_public(objects)
    return [v for v in out if v.rule not in settings.disabled]


def _grants(obj, meant: dict, add):
    """Exception annotations are the spec's to write: any other value was written by a raw patch."""
    built, wanted = _annotations(obj), _annotations(meant)
    for key in sorted(k for k in {*built, *wanted} if isinstance(k, str) and is_grant(k)):
        if built.get(key) != wanted.get(key):
            add("exception-annotation", "/metadata/annotations/" + key.replace("~", "~0").replace("/", "~1"),
                f"annotation {key} is not what the spec grants", "only the spec grants exceptions: give "
                "serving.security.reason or policies.exceptions with a reason, and drop the patch")


def _service_account(obj, meant: dict, add):
    """A raw patch must not hand the pods an API token, nor the namespace's shared default identity."""
    if obj["kind"] == "ServiceAccount":
        if obj.get("automountServiceAccountToken") is not False and meant.get("automountServiceAccountToken") is False:
            add("service-account", "/automountServiceAccountToken", "mounts an API token into every pod using it",
                "set serving.serviceAccount.automountToken in the spec if the model needs the Kubernetes API")
        return
    pod, wanted = _pod(obj), _pod(meant)
    if pod.get("automountServiceAccountToken") and not wanted.get("automountServiceAccountToken"):
        add("service-account", "/spec/template/spec/automountServiceAccountToken", "mounts an API token",
            "set serving.serviceAccount.automountToken in the spec if the model needs the Kubernetes API")
    account = pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"
    if account == "default" and account != (wanted.get("serviceAccountName") or "default"):
        add("service-account", "/spec/template/spec/serviceAccountName", "runs as the namespace's default "
            "ServiceAccount", "keep the model's own ServiceAccount (drop the patch)")


def _network(obj, meant: dict, add):
    """A raw patch may narrow the model's NetworkPolicy, never widen it."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    wanted = meant.get("spec") or {}
    hint = "set serving.networkPolicy.allowFromNamespaces in the spec instead of patching the NetworkPolicy"
    if spec.get("podSelector") != wanted.get("podSelector"):
        add("network-policy-open", "/spec/podSelector", "no longer selects the model's pods (a patch changed "
            "podSelector)", hint)
    types = spec.get("policyTypes")  # absent: Kubernetes restricts ingress anyway
    if "Ingress" in (wanted.get("policyTypes") or []) and isinstance(types, list) and "Ingress" not in types:
        add("network-policy-open", "/spec/policyTypes", "no longer restricts ingress", hint)
    allowed = [r for r in wanted.get("ingress") or [] if isinstance(r, dict)]
    for i, rule in enumerate(spec.get("ingress") or []):
        if not isinstance(rule, dict) or any(_within(rule, r) for r in allowed):
            continue
        peers = rule.get("from")
        if not peers or any(not p or p.get("namespaceSelector") == {} or p.get("podSelector") == {}
                            for p in peers if isinstance(p, dict)):
            what = "from any source" if not peers or {} in peers else "from every pod of a namespace or cluster"
        else:
            what = "from sources the spec does not list"
        if not rule.get("ports"):
            what += ", on every port"
        add("network-policy-open", f"/spec/ingress/{i}", f"ingress rule {i + 1} admits traffic {what}", hint)


def _within(rule: dict, allowed: dict) -> bool:
    """Whether an ingress rule admits no more than an allowed one: its sources and ports are among the
    allowed rule's (a missing or empty list admits everything)."""
    def inside(field: str) -> bool:
        outer, inner = allowed.get(field) or [], rule.get(field) or []
        return not outer or (bool(inner) and all(item in outer for item in inner))
    return inside("from") and inside("ports")


def _dig(obj, *keys):
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _moved(prefix: str) -> Where:
    """Pointer translation for a pod template found at prefix instead of /spec/template."""
    return lambda pointer: prefix + pointer.removeprefix("/spec/template") if pointer.startswith(
        "/spec/template") else pointer


Where = Callable[[str], str]  # a pointer into a view -> the pointer into the object it shows


def _train_job_view(obj: dict) -> list[tuple[dict, Where]]:
    """A TrainJob's node pods: the runtime patch's pod spec, with the trainer's image and resources as its
    container (pointers go back to /spec/trainer for those)."""
    patches = _dig(obj, "spec", "runtimePatches") or []
    trainer = _dig(obj, "spec", "trainer") or {}
    for i, patch in enumerate(patches):
        jobs = _dig(patch, "trainingRuntimeSpec", "template", "spec", "replicatedJobs") or []
        for j, job in enumerate(jobs):
            pod = _dig(job, "template", "spec", "template", "spec")
            if not isinstance(pod, dict) or job.get("name") != "node":
                continue
            at = (f"/spec/runtimePatches/{i}/trainingRuntimeSpec/template/spec/replicatedJobs/{j}"
                  "/template/spec/template")
            node: dict = next((c for c in pod.get("containers") or [] if c.get("name") == "node"), {})
            container = {**node, "name": "node", "image": trainer.get("image", ""),
                         "resources": trainer.get("resourcesPerNode") or {}}
            view = {"kind": obj["kind"], "metadata": obj["metadata"],
                    "spec": {"template": {"spec": {**pod, "containers": [container]}}}}

            def where(pointer: str, at=at) -> str:
                for field, real in (("image", "/spec/trainer/image"), ("resources", "/spec/trainer/resourcesPerNode")):
                    if pointer.startswith(f"/spec/template/spec/containers/0/{field}"):
                        return real
                return _moved(at)(pointer)

            return [(view, where)]
    return []


def _views(obj: dict) -> list[tuple[dict, Where]]:
    """(object shaped like a workload with spec.template, pointer translation) for each pod template of obj:
    CronJobs, Kubeflow TrainJobs and PyTorchJobs and Katib trial Jobs hold theirs elsewhere."""
    kind = str(obj.get("kind"))
    if kind in WORKLOADS:
        return [(obj, lambda pointer: pointer)]
    places: dict[str, list[tuple[str, ...]]] = {"CronJob": [("jobTemplate", "spec", "template")],
              "PyTorchJob": [("pytorchReplicaSpecs", role, "template") for role in
                             sorted(_dig(obj, "spec", "pytorchReplicaSpecs") or {})],
              "Experiment": [("trialTemplate", "trialSpec", "spec", "template")]}
    if kind == "TrainJob":
        return _train_job_view(obj)
    out = []
    for keys in places.get(kind, []):
        template = _dig(obj, "spec", *keys)
        if isinstance(template, dict):
            view = {"kind": kind, "metadata": obj.get("metadata", {}), "spec": {"template": template}}
            out.append((view, _moved("/spec/" + "/".join(keys))))
    return out


def evaluate(objects: list[dict], settings: Settings, gpu: dict,
             meant: dict[tuple[str, str], dict] | None = None) -> list[Violation]:
    """Violations on an environment's built objects, and on every pod template they hold (CronJobs,
    TrainJobs, PyTorchJobs, Katib trials). meant: the generated objects by (kind, name), before raw
    patches; given, a patch cannot grant itself an exception, widen the NetworkPolicy, or change the
    pods' identity."""
    out: list[Violation] = []

    def add_to(obj, where: Where):
        def add(rule, pointer, message, hint="", kind=None, severity=Severity.ERROR):
            if rule not in settings.disabled:
                out.append(Violation(rule, kind or obj["kind"], obj["metadata"]["name"], where(pointer), message,
                                     hint, severity))
        return add

    for original in objects:
        key = (str(original.get("kind")), str(original.get("metadata", {}).get("name")))
        wanted = None if meant is None else meant.get(key)
        if wanted is not None:
            add = add_to(original, lambda pointer: pointer)
            _grants(original, wanted, add)
            if original["kind"] in ("ServiceAccount", *WORKLOADS):
                _service_account(original, wanted, add)
            if original["kind"] == "NetworkPolicy":
                _network(original, wanted, add)
        for obj, where in _views(original):
            if not _pod(obj):
                continue
            add = add_to(obj, where)
            _replicas(obj, objects, settings, out, add)
            if obj is original and CANARY_OF in ((obj.get("metadata") or {}).get("labels") or {}):
                _canary_load(obj, objects, add)
            for path, container in _containers(obj):
                _images(path, container, settings, add)
                _resources(path, container, add)
                if obj["kind"] not in BATCH:
                    _probes(path, container, add)
            _security(obj, add, wanted if obj is original else None, settings.enforced)
            _gpu(obj, gpu, add)
            _gpu_rollout(obj, gpu, add)
            _progress_deadline(obj, add)
    return out + _storage_and_routes(objects, settings)
