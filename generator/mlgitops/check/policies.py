"""Policy rules on the objects an environment receives: pure functions from objects to violations.

Each violation names its rule, the object, and a JSON pointer into the object; `check` traces the
pointer back through the generator's source map to the spec line the author must change.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlgitops.kube import gpus, podsecurity, workloads
from mlgitops.kube.annotations import CANARY_OF, SECURITY_EXCEPTION, is_grant
from mlgitops.kube.images import VERSION_TAG, split_image
from mlgitops.report.findings import Severity
from mlgitops.report.secrets import arg_problems, env_problem

PRODUCTION_NAMES = ("prod", "production")
# the kinds that are their own pod template (/spec/template): a patch may change their identity
WORKLOADS = {kind for kind, w in workloads.KINDS.items() if w.paths == (workloads.TEMPLATE,)}

@dataclass(frozen=True)
class Settings:
    production: bool
    min_replicas: int
    require_pdb: bool
    image_pinning: str
    immutable_tag: str
    disabled: frozenset[str]
    required_limits: frozenset[str] = frozenset({"cpu", "memory"})  # policies.requiredLimits
    enforced: str = "restricted"  # the Pod Security Standard the environment's namespace enforces
    kubernetes: str = "1.33"  # the version whose Pod Security controls admission applies (mlgitops.yaml)
    weights_pinning: str = "none"  # what weights-pinned says about mutable weights: error, warning or none

    @classmethod
    def for_environment(cls, name: str, policies: dict, pod_security: str = "restricted",
                        kubernetes: str = "1.33") -> Settings:
        production = policies.get("production", name in PRODUCTION_NAMES)
        return cls(
            enforced=pod_security,
            kubernetes=kubernetes,
            production=production,
            min_replicas=policies.get("minReplicas", 2 if production else 1),
            require_pdb=policies.get("requirePodDisruptionBudget", production),
            image_pinning=policies.get("imagePinning", "immutable-tag" if production else "none"),
            immutable_tag=policies.get("immutableTagPattern", VERSION_TAG),
            disabled=frozenset(policies.get("disabled", [])),
            weights_pinning=policies.get("weightsPinning", "warning" if production else "none"),
            required_limits=frozenset(policies.get("requiredLimits", ("cpu", "memory"))),
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
        _pdb(obj, objects, pointer, kind, add)


def _pdb(obj, objects, pointer: str, kind: str, add):
    """A PodDisruptionBudget that selects the Deployment's pods."""
    labels = obj["spec"]["template"].get("metadata", {}).get("labels", {})
    if not any(o["kind"] == "PodDisruptionBudget" and _selects(o, labels) for o in objects):
        add("pdb-required", pointer, "has no PodDisruptionBudget",
            "run at least 2 replicas: mlgitops then writes one", kind=kind)


def _route_weight(route: dict, canary: str) -> int | None:
    """The weight an HTTPRoute gives the canary's Service (None: not an HTTPRoute, or none given)."""
    for rule in _dig(route, "spec", "rules") or [] if route.get("kind") == "HTTPRoute" else []:
        for ref in (rule.get("backendRefs") or []) if isinstance(rule, dict) else []:
            if ref.get("name") == canary and isinstance(ref.get("weight"), int):
                weight: int = ref["weight"]
                return weight
    return None


def _canary_weight(objects: list[dict], canary: str) -> int | None:
    """The percent of requests an HTTPRoute or an ingress-nginx canary Ingress sends to the canary's Service."""
    for o in objects:
        weight = _route_weight(o, canary)
        if weight is not None:
            return weight
        notes = _annotations(o) if o.get("kind") == "Ingress" else {}
        if notes.get("nginx.ingress.kubernetes.io/canary") == "true" and str(
                notes.get("nginx.ingress.kubernetes.io/canary-weight", "")).isdigit():
            return int(notes["nginx.ingress.kubernetes.io/canary-weight"])
    return None


def _most_replicas(deployment: dict, objects: list[dict]):
    """A Deployment's replicas, or its HorizontalPodAutoscaler's maximum."""
    name, pods = deployment["metadata"]["name"], deployment["spec"].get("replicas", 1)
    for hpa in _of_kind(objects, "HorizontalPodAutoscaler"):
        ref = hpa["spec"].get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name") == name:
            pods = hpa["spec"].get("maxReplicas", pods)
    return pods


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
    pods = _most_replicas(deployments[stable], objects)
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


def _resources(path, container, add, required_limits: frozenset[str] = frozenset({"cpu", "memory"})):
    res = container.get("resources") or {}
    for part, wanted in (("requests", ("cpu", "memory")), ("limits", sorted(required_limits))):
        missing = [r for r in wanted if r not in (res.get(part) or {})]
        if missing:
            add("container-resources", f"{path}/resources", f"container '{container.get('name')}' has no "
                f"{' or '.join(missing)} {part}", "" if part == "requests" else
                "give the limit, or allow its absence in mlgitops.yaml (policies.requiredLimits)")


def _probes(path, container, add):
    missing = [p for p in ("readinessProbe", "livenessProbe") if p not in container]
    if missing and "/initContainers/" not in path:
        add("container-probes", f"{path}/{missing[0]}", f"container '{container.get('name')}' has no "
            f"{' or '.join(p.removesuffix('Probe') for p in missing)} probe",
            "add serving.health.readiness and serving.health.liveness")


def _annotations(obj: dict | None) -> dict:
    annotations = (obj or {}).get("metadata", {}).get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def _security(obj, add, meant: dict | None, settings: Settings):
    """Pod Security as admission evaluates it (kube/podsecurity.py), at the environment's Kubernetes version: a pod
    must meet restricted unless the spec gives a reason (or excepts the rule), and always the level the
    namespace enforces, which no reason changes."""
    template = _dig(obj, "spec", "template") or {}
    excepted = bool(_annotations(meant if meant is not None else obj).get(SECURITY_EXCEPTION)) or \
        "pod-security" in settings.disabled
    level = settings.enforced if excepted else "restricted"
    version = podsecurity.minor(settings.kubernetes)
    for problem in podsecurity.evaluate(template, level, version):
        where = f"Pod Security admission ({settings.enforced}, Kubernetes {version[0]}.{version[1]})"
        if excepted:
            add("pod-security-admission", "/spec/template" + problem.pointer, f"the namespace enforces the "
                f"{settings.enforced} Pod Security Standard, so the pods the spec excepts are refused at admission "
                f"and never run: {problem.text()}", "set podSecurity: baseline on this environment in mlgitops.yaml "
                "(audit and warn stay restricted), or remove the relaxation" if settings.enforced == "restricted"
                else "remove the relaxation: no reason admits what the namespace's level refuses")
        else:
            refused = _refused(problem, template, settings, version)
            add("pod-security", "/spec/template" + problem.pointer, f"{where} refuses the pods: {problem.text()}"
                if refused else f"breaks the restricted Pod Security Standard: {problem.text()}",
                "remove the relaxation, or give serving.security.reason")


def _refused(problem: podsecurity.Problem, template: dict, settings: Settings, version: tuple[int, int]) -> bool:
    return settings.enforced == "restricted" or problem.control in {
        p.control for p in podsecurity.evaluate(template, settings.enforced, version)}


def _gpu(obj, gpu: dict, add):
    pod = _pod(obj)
    resource = gpu["resource"]
    if not any(resource in ((c.get("resources") or {}).get("limits") or {}) for _, c in _containers(obj)):
        return
    _gpu_tolerated(pod, gpu, add)
    _gpu_nodes(pod, gpu.get("nodeSelector") or {}, add)


def _gpu_tolerated(pod: dict, gpu: dict, add):
    """A GPU pod tolerates the GPU nodes' taint."""
    keys = {t.get("key") for t in gpu["tolerations"]}
    tolerated = any((t.get("operator") == "Exists" and not t.get("key")) or t.get("key") in keys
                    for t in pod.get("tolerations") or [])
    if not tolerated:
        add("gpu-scheduling", "/spec/template/spec/tolerations", "requests GPUs but does not tolerate the GPU taint",
            f"tolerate {', '.join(sorted(k for k in keys if k))} (the default for GPU models)")


def _gpu_nodes(pod: dict[str, Any], wanted: dict[str, str], add: Callable[..., None]) -> None:
    """Requesting the GPU resource confines a pod to GPU nodes: a selector is needed only where mlgitops.yaml
    configures one, and a pod keeps it unless it chooses its GPU by a platform's type label or node affinity."""
    selector = pod.get("nodeSelector") or {}
    selects = all(selector.get(k) == v for k, v in wanted.items()) or gpus.selects_gpu_type(selector)
    if not selects and not (pod.get("affinity") or {}).get("nodeAffinity"):
        labels = ", ".join(f"{k}={v}" for k, v in wanted.items())
        add("gpu-scheduling", "/spec/template/spec/nodeSelector", f"requests GPUs but does not select GPU nodes "
            f"({labels})", "keep the GPU node selector of mlgitops.yaml, or choose a GPU type with "
            "resources.gpuType (" + ", ".join(gpus.GPU_TYPE_LABELS) + ")")


# Accelerator resource names the device plugins advertise (the one table: extend it in mlgitops.yaml with
# gpu.knownResources). From the plugins' docs: NVIDIA k8s-device-plugin (nvidia.com/gpu, MIG strategy
# "mixed": nvidia.com/mig-<profile>, time-slicing renamed: nvidia.com/gpu.shared), ROCm k8s-device-plugin
# (amd.com/gpu), Intel device plugins (gpu.intel.com/i915, gpu.intel.com/xe), Habana (habana.ai/gaudi),
# AWS Neuron (aws.amazon.com/neuron, neuroncore, neurondevice), GKE TPUs (google.com/tpu).
KNOWN_ACCELERATORS = ("nvidia.com/gpu", "nvidia.com/gpu.shared", "nvidia.com/mig-*", "amd.com/gpu",
                      "gpu.intel.com/i915", "gpu.intel.com/xe", "habana.ai/gaudi", "aws.amazon.com/neuron",
                      "aws.amazon.com/neuroncore", "aws.amazon.com/neurondevice", "google.com/tpu")
_ACCELERATOR_WORDS = re.compile(r"gpu|tpu|neuron|gaudi|mig-|i915|accelerat", re.IGNORECASE)


def _known(name: str, known: tuple[str, ...]) -> bool:
    return any(name == k or (k.endswith("*") and name.startswith(k[:-1])) for k in known)


def _looks_like_accelerator(name: str) -> bool:
    domain = name.partition("/")[0]
    vendors = {k.partition("/")[0] for k in KNOWN_ACCELERATORS}
    return "/" in name and (domain in vendors or bool(_ACCELERATOR_WORDS.search(name)))


def _unknown_accelerators(container: dict, known: tuple[str, ...]) -> list[str]:
    """The accelerator-like resource names a container asks for that no known device plugin advertises."""
    res = container.get("resources") or {}
    names = {n for part in ("limits", "requests") for n in (res.get(part) or {})}
    return sorted(n for n in names if _looks_like_accelerator(n) and not _known(n, known))


def _gpu_names(path, container, gpu: dict, add):
    """An accelerator resource no device plugin advertises (`nvidia.com/gpus`): the pod never schedules."""
    known = KNOWN_ACCELERATORS + tuple(gpu.get("knownResources") or ())
    for name in _unknown_accelerators(container, known):
        close = difflib.get_close_matches(name, [k for k in known if not k.endswith("*")], n=1)
        add("gpu-resource-name", f"{path}/resources", f"container '{container.get('name')}' asks for '{name}', "
            "which no known device plugin advertises: the pod would stay Pending",
            (f"did you mean '{close[0]}'? " if close else "") + "or list it under gpu.knownResources in mlgitops.yaml")


# Seconds a GPU model typically needs to load before it answers liveness: pulling a multi-GB image and
# copying the weights into GPU memory takes minutes, not the 30 s the Kubernetes default liveness budget
# (3 failures x 10 s) allows. Used where the spec declares no startup probe.
TYPICAL_GPU_LOAD_SECONDS = 120


def _liveness_before_load(path, container, gpu: dict, add):
    """Liveness can kill a pod before it has loaded: a GPU container with a liveness probe, no startup probe,
    and a liveness budget below the typical load time."""
    probe = container.get("livenessProbe")
    if not isinstance(probe, dict) or container.get("startupProbe") or "/initContainers/" in path:
        return
    if gpu["resource"] not in ((container.get("resources") or {}).get("limits") or {}):
        return
    budget = workloads.probe_seconds(probe)
    if budget < TYPICAL_GPU_LOAD_SECONDS:
        add("liveness-before-load", f"{path}/livenessProbe", f"container '{container.get('name')}' serves a GPU model "
            f"but its liveness probe restarts it after {budget} s, and GPU models typically load for "
            f"{TYPICAL_GPU_LOAD_SECONDS} s or more: the pod can be killed again and again before it is ready",
            "add serving.health.startup (e.g. {path: /healthz, periodSeconds: 10, failureThreshold: 60}: "
            "liveness waits until it succeeds)", severity=Severity.WARNING)


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
        budget = workloads.probe_seconds(probe) if isinstance(probe, dict) else 0
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


def _shared_by_deployments(name: str, mode: str, users: list[dict]) -> Violation:
    """A single-writer claim that two Deployments (a canary beside the stable version) mount."""
    names = " and ".join(f"Deployment/{d['metadata']['name']}" for d in users)
    stuck = ("one of them stays in ContainerCreating (Multi-Attach error) unless both land on the same node"
             if mode == "ReadWriteOnce" else "only one of them ever starts")
    return Violation("storage-single-writer", "PersistentVolumeClaim", name, "/spec/accessModes",
                     f"claim {name} is {mode} (attachable to {SINGLE_WRITER[mode]}) but {names} both mount it: "
                     f"{stuck}", "use ReadOnlyMany or ReadWriteMany for the weights a canary shares with the "
                     "stable version, or fetch them per pod with model.fetch")


def _mounting(claim: str, objects: list[dict]) -> list[dict]:
    """The Deployments whose pods mount a claim."""
    return [d for d in _of_kind(objects, "Deployment")
            if claim in {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in _pod(d).get("volumes") or []}]


def _single_writer(pvc: dict, objects: list[dict]) -> Violation | None:
    modes = pvc["spec"].get("accessModes") or []
    if not modes or any(m not in SINGLE_WRITER for m in modes):
        return None
    name = pvc["metadata"]["name"]
    users = _mounting(name, objects)
    if len(users) > 1:  # a canary beside the stable version mounts the same claim: two pods at least
        return _shared_by_deployments(name, modes[0], users)
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


def _single_writer_runs(pvc: dict, mode: str, objects: list[dict]) -> Violation | None:
    """Training runs on a single-writer claim: parallel trials, several nodes, a CronJob beside a sweep."""
    name = pvc["metadata"]["name"]
    runs = []
    for obj in objects:
        if not _completes(obj) or not isinstance(obj.get("metadata"), dict):
            continue
        claims = {(v.get("persistentVolumeClaim") or {}).get("claimName")
                  for view, _ in _views(obj) for v in _pod(view).get("volumes") or []}
        if name in claims:
            runs.append((f"{obj['kind']}/{obj['metadata'].get('name')}", workloads.most_pods(obj)))
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


def _backends(spec: dict) -> list[tuple[dict, str, str]]:
    """(backend, path, pathType) for each path of an Ingress, and its default backend at /."""
    pairs = [(p.get("backend") or {}, p.get("path", "/"), p.get("pathType", "Prefix"))
             for rule in spec.get("rules") or [] for p in (rule.get("http") or {}).get("paths") or []]
    if spec.get("defaultBackend"):
        pairs.append((spec["defaultBackend"], "/", "Prefix"))
    return pairs


def _routed(ingress: dict, services: dict, objects: list[dict]) -> dict[int, list[tuple[str, str]]]:
    """Container port -> the (path, pathType) pairs an Ingress routes to it."""
    out: dict[int, list[tuple[str, str]]] = {}
    for backend, path, kind in _backends(ingress["spec"]):
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


def _monitored(objects: list[dict], services: dict) -> list[tuple[str, str, str, int | None, str]]:
    """(kind, name, pointer, container port, path) of every endpoint a ServiceMonitor scrapes."""
    out = []
    for monitor in _of_kind(objects, "ServiceMonitor"):
        wanted = (monitor["spec"].get("selector") or {}).get("matchLabels") or {}
        for service in services.values():
            if _labels_match(wanted, service["metadata"].get("labels") or {}):
                for i, endpoint in enumerate(monitor["spec"].get("endpoints") or []):
                    port = _service_target(service, endpoint.get("port"), objects)
                    out.append(("ServiceMonitor", monitor["metadata"]["name"], f"/spec/endpoints/{i}", port,
                                endpoint.get("path", "/metrics")))
    return out


def _scraped(objects: list[dict], services: dict) -> list[tuple[str, str, str, int | None, str]]:
    """(kind, name, pointer, container port, path) of every metrics endpoint: ServiceMonitors and pod annotations."""
    out = _monitored(objects, services)
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
    if pod.get("automountServiceAccountToken") is not False and wanted.get("automountServiceAccountToken") is False:
        add("service-account", "/spec/template/spec/automountServiceAccountToken", "mounts an API token",
            "set serving.serviceAccount.automountToken in the spec if the model needs the Kubernetes API")
    account = pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"
    own = wanted.get("serviceAccountName") or wanted.get("serviceAccount") or "default"
    if account != own:
        add("service-account", "/spec/template/spec/serviceAccountName", "runs as the namespace's default "
            "ServiceAccount" if account == "default" else f"runs as ServiceAccount {account}, not the model's own "
            f"({own}): its token and permissions come with it", "keep the model's own ServiceAccount (drop the "
            "patch); the spec's serving.serviceAccount says which one the pods use")


def _patched_secrets(obj, meant: dict, add):
    """A literal secret a raw patch writes into a container's env or args, in one step or several (add an env
    entry, then fill its value): the built pods hold it, so it is in Git. The value is never repeated."""
    wanted = {c.get("name"): c for _, c in _containers(meant)}
    for path, container in _containers(obj):
        was = wanted.get(container.get("name")) or {}
        _patched_env(path, container.get("env"), was.get("env") or [], add)
        for field in ("command", "args"):
            _patched_args(f"{path}/{field}", container.get(field), was.get(field) or [], add)


def _patched_env(path: str, env, was_env: list, add) -> None:
    """Only a patch's entries are judged: an entry as the generator meant it passed the spec's checks."""
    for i, entry in enumerate(env if isinstance(env, list) else []):
        if not isinstance(entry, dict) or entry in was_env:
            continue
        problem = env_problem(entry.get("name"), entry.get("value"))
        if problem:
            add(problem[0], f"{path}/env/{i}/value", problem[1], problem[2])


def _patched_args(path: str, args, old: list, add) -> None:
    """The arguments a patch wrote or changed (none when they are as meant)."""
    if args == old:
        return
    for i, rule, message, hint in arg_problems(args):
        if i >= len(old) or old[i] != args[i]:
            add(rule, f"{path}/{i}", message, hint)


def _against_meant(obj: dict, wanted: dict, add) -> None:
    """What a raw patch may not do to an object the generator meant: grant an exception, change the pods'
    identity or token, write a secret, widen the NetworkPolicy."""
    _grants(obj, wanted, add)
    if obj["kind"] in ("ServiceAccount", *WORKLOADS):
        _service_account(obj, wanted, add)
    if obj["kind"] in WORKLOADS:
        _patched_secrets(obj, wanted, add)
    if obj["kind"] == "NetworkPolicy":
        _network(obj, wanted, add)


NETWORK_HINT = "set serving.networkPolicy in the spec (allowFromNamespaces, denyEgressTo) instead of patching the NetworkPolicy"


def _network(obj, meant: dict, add):
    """A raw patch may narrow the model's NetworkPolicy, never widen it."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    wanted = meant.get("spec") or {}
    _network_scope(spec, wanted, add)
    _network_rules(spec, wanted, add)


def _network_scope(spec: dict, wanted: dict, add):
    """The pods it selects and the directions it restricts."""
    if spec.get("podSelector") != wanted.get("podSelector"):
        add("network-policy-open", "/spec/podSelector", "no longer selects the model's pods (a patch changed "
            "podSelector)", NETWORK_HINT)
    types = spec.get("policyTypes")  # absent: Kubernetes restricts ingress anyway
    for kind in ("Ingress", "Egress"):  # egress: the spec's denyEgressTo (the cloud metadata endpoints)
        if kind in (wanted.get("policyTypes") or []) and isinstance(types, list) and kind not in types:
            add("network-policy-open", "/spec/policyTypes", f"no longer restricts {kind.lower()}", NETWORK_HINT)


def _network_rules(spec: dict, wanted: dict, add):
    """Each ingress rule admits no more than one the spec meant."""
    allowed = [r for r in wanted.get("ingress") or [] if isinstance(r, dict)]
    for i, rule in enumerate(spec.get("ingress") or []):
        if not isinstance(rule, dict) or any(_within(rule, r) for r in allowed):
            continue
        what = _admits(rule.get("from"))
        if not rule.get("ports"):
            what += ", on every port"
        add("network-policy-open", f"/spec/ingress/{i}", f"ingress rule {i + 1} admits traffic {what}", NETWORK_HINT)


def _admits(peers) -> str:
    """Whom an ingress rule's `from` admits, in words."""
    if not peers or any(not p or p.get("namespaceSelector") == {} or p.get("podSelector") == {}
                        for p in peers if isinstance(p, dict)):
        return "from any source" if not peers or {} in peers else "from every pod of a namespace or cluster"
    return "from sources the spec does not list"


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


def _views(obj: dict) -> list[tuple[dict, workloads.Where]]:
    """(object shaped like a workload with spec.template, pointer translation) for each pod template of obj:
    CronJobs, Kubeflow TrainJobs and PyTorchJobs and Katib trial Jobs hold theirs elsewhere."""
    return [(t.view, t.where) for t in workloads.pod_templates(obj) if not t.runtime]


def _completes(obj: dict) -> bool:
    """Whether obj runs to completion (no probes then)."""
    kind = workloads.entry(obj)
    return kind is not None and kind.completes


# Variables that name where a program writes its cache or state (Hugging Face, PyTorch, the XDG base
# directories, HOME itself): on a read-only root filesystem they must name a writable mount. Install locations
# (CUDA_HOME, JAVA_HOME) are read, not written, so a bare *_HOME is not enough.
_WRITTEN_HOMES = ("HOME", "HF_HOME", "TORCH_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME")


def _under(path: str, mounts: list[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def _cache_path(item) -> str:
    """The absolute path a cache or home variable names, else ""."""
    name, value = str(_dig(item, "name") or ""), _dig(item, "value")
    cache = name in _WRITTEN_HOMES or "CACHE" in name
    return value if cache and isinstance(value, str) and value.startswith("/") else ""


def _writable_paths(path, container, add):
    """With a read-only root filesystem, a cache or home variable that names an absolute path on no mount of
    the container points the program's first write at the read-only root (HF_HOME: the first weights download)."""
    if not _dig(container, "securityContext", "readOnlyRootFilesystem"):
        return
    mounts = [str(m.get("mountPath", "")) for m in container.get("volumeMounts") or []
              if isinstance(m, dict) and not m.get("readOnly")]
    for i, item in enumerate(container.get("env") or []):
        name, value = str(_dig(item, "name") or ""), _cache_path(item)
        if value and not _under(value, mounts):
            add("env-read-only-path", f"{path}/env/{i}/value", f"container '{container.get('name')}': env "
                f"{name}={value} is on the read-only root filesystem (no writable volume is mounted there)",
                "point it under HOME (/home/model) or /tmp, or mount a volume there", severity=Severity.WARNING)


def _probe_ports(path, container, add):
    """A probe's port given by name must be a name of the container's own ports (a raw patch written for another
    container, or ports renamed since): the kubelet resolves it there or fails the probe."""
    names = {p.get("name") for p in container.get("ports") or [] if isinstance(p, dict)}
    for key in ("readinessProbe", "livenessProbe", "startupProbe"):
        for kind in ("httpGet", "tcpSocket"):
            port = _dig(container.get(key), kind, "port")
            if isinstance(port, str) and not port.isdigit() and port not in names:
                known = ", ".join(sorted(str(n) for n in names if n)) or "none"
                add("probe-port", f"{path}/{key}/{kind}/port", f"container '{container.get('name')}': {key} "
                    f"names port '{port}', which the container does not declare (its ports: {known}): the probe "
                    "fails every time", "name one of the container's ports, or give the port number")


def _container_rules(obj: dict, settings: Settings, gpu: dict, add) -> None:
    """The rules on each container of a pod template: images, resources, accelerator names, probes, cache paths
    on a read-only root."""
    for path, container in _containers(obj):
        _images(path, container, settings, add)
        _writable_paths(path, container, add)
        _resources(path, container, add, settings.required_limits)
        _gpu_names(path, container, gpu, add)
        if not _completes(obj):
            _probes(path, container, add)
            _liveness_before_load(path, container, gpu, add)
        _probe_ports(path, container, add)


def evaluate(objects: list[dict], settings: Settings, gpu: dict,
             meant: dict[tuple[str, str], dict] | None = None) -> list[Violation]:
    """Violations on an environment's built objects, and on every pod template they hold (CronJobs,
    TrainJobs, PyTorchJobs, Katib trials). meant: the generated objects by (kind, name), before raw
    patches; given, a patch cannot grant itself an exception, widen the NetworkPolicy, or change the
    pods' identity."""
    out: list[Violation] = []

    def add_to(obj, where: workloads.Where):
        def add(rule, pointer, message, hint="", kind=None, severity=Severity.ERROR):
            if rule not in settings.disabled:
                out.append(Violation(rule, kind or obj["kind"], obj["metadata"]["name"], where(pointer), message,
                                     hint, severity))
        return add

    for original in objects:
        key = (str(original.get("kind")), str(original.get("metadata", {}).get("name")))
        wanted = None if meant is None else meant.get(key)
        if wanted is not None:
            _against_meant(original, wanted, add_to(original, lambda pointer: pointer))
        for obj, where in _views(original):
            if not _pod(obj):
                continue
            add = add_to(obj, where)
            _replicas(obj, objects, settings, out, add)
            if obj is original and CANARY_OF in ((obj.get("metadata") or {}).get("labels") or {}):
                _canary_load(obj, objects, add)
            _container_rules(obj, settings, gpu, add)
            _security(obj, add, wanted if obj is original else None, settings)
            _gpu(obj, gpu, add)
            _gpu_rollout(obj, gpu, add)
            _progress_deadline(obj, add)
    return out + _storage_and_routes(objects, settings)
