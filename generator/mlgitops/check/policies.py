"""Policy rules on the objects an environment receives: pure functions from objects to violations.

Each violation names its rule, the object, and a JSON pointer into the object; `check` traces the
pointer back through the generator's source map to the spec line the author must change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mlgitops.kube.annotations import SECURITY_EXCEPTION
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

    @classmethod
    def for_environment(cls, name: str, policies: dict) -> Settings:
        production = policies.get("production", name in PRODUCTION_NAMES)
        return cls(
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
    if count < settings.min_replicas:
        add("min-replicas", pointer, f"runs {count} pod{'s' * (count != 1)}; this environment needs at least "
            f"{settings.min_replicas}", "raise replicas (or autoscaling.minReplicas)", kind=kind)
    if settings.require_pdb:
        labels = obj["spec"]["template"].get("metadata", {}).get("labels", {})
        if not any(o["kind"] == "PodDisruptionBudget" and _selects(o, labels) for o in objects):
            add("pdb-required", pointer, "has no PodDisruptionBudget",
                "run at least 2 replicas: mlgitops then writes one", kind=kind)


def _images(path, container, settings, add):
    image = container.get("image", "")
    _, tag, digest = split_image(image)
    if not digest and (not tag or tag == "latest"):
        add("image-latest", f"{path}/image", f"image '{image}' is {'untagged' if not tag else 'tagged :latest'}",
            "pin a version tag or a digest")
        return
    if settings.image_pinning == "digest" and not digest:
        add("image-pinned", f"{path}/image", f"image '{image}' is not pinned by digest", "use name@sha256:…")
    elif settings.image_pinning == "immutable-tag" and not digest and not re.match(settings.immutable_tag, tag or ""):
        add("image-pinned", f"{path}/image", f"image tag '{tag}' is not an immutable version",
            f"use a tag matching {settings.immutable_tag}, or a digest")


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


def _security(obj, add):
    pod = _pod(obj)
    if obj["metadata"].get("annotations", {}).get(SECURITY_EXCEPTION):
        return
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
    for pointer, text in problems:
        add("pod-security", pointer, f"breaks the restricted Pod Security Standard: {text}",
            "remove the relaxation, or give serving.security.reason")


def _gpu(obj, gpu: dict, add):
    pod = _pod(obj)
    resource = gpu["resource"]
    if not any(resource in ((c.get("resources") or {}).get("limits") or {}) for _, c in _containers(obj)):
        return
    keys = {t.get("key") for t in gpu["tolerations"]}
    tolerated = any(t.get("operator") == "Exists" and not t.get("key") or t.get("key") in keys
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


def evaluate(objects: list[dict], settings: Settings, gpu: dict) -> list[Violation]:
    out: list[Violation] = []
    for original in objects:
        for obj, where in _views(original):
            if not _pod(obj):
                continue

            def add(rule, pointer, message, hint="", kind=None, obj=obj, where=where):
                if rule not in settings.disabled:
                    out.append(Violation(rule, kind or obj["kind"], obj["metadata"]["name"], where(pointer), message,
                                         hint))

            _replicas(obj, objects, settings, out, add)
            for path, container in _containers(obj):
                _images(path, container, settings, add)
                _resources(path, container, add)
                if obj["kind"] not in BATCH:
                    _probes(path, container, add)
            _security(obj, add)
            _gpu(obj, gpu, add)
    return out
