"""`mlgitops import`: a pod template's main container -> the fields of a spec's `serving` or `training`.

Kept: image, command, args, env (strings, fieldRef/resourceFieldRef) and Secret references, resources (a
missing limit kept missing where every environment's policy allows it), probes, volumes, scheduling (a GPU
type's node label becomes `resources.gpuType`), the grace period and preStop command. What the spec has no
field for but Kubernetes can still be told (env from a ConfigMap, `envFrom`, `imagePullSecrets`, affinity, a
probe that is no HTTP GET) is carried as a strategic-merge patch of the Deployment (`spec.patches`), and
reported. A literal secret (by its name or its value, report/secrets.py) is refused: neither written nor
printed. What mlgitops itself adds (the reserved env, the thread and HOME defaults, the scratch volumes, its
hardening) is recognised and left out, so importing mlgitops' own output gives back its spec.

Every field read is recorded on the object (`Obj.use`) or reported (a finding covers its field): what is
left at the end is reported by `import_objects.leftovers`, so nothing is lost without a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgitops.kube.gpus import GPU_TYPE_LABELS
from mlgitops.kube.images import split_image
from mlgitops.kube.plaindata import whole_number
from mlgitops.report.findings import Finding, Severity
from mlgitops.report.secrets import arg_problems, env_problem
from mlgitops.spec import pods
from mlgitops.spec.import_objects import (
    CHANGED,
    DROPPED,
    Obj,
    Shape,
    as_list,
    as_map,
    dig,
    pointer,
    steps,
    use_shape,
)
from mlgitops.spec.model import SCHEMA
from mlgitops.spec.schema import load_schema, subschema

GPU_RESOURCE = "nvidia.com/gpu"
# the requests a spec that names none gets (the schema's defaults)
_DEFAULT_RESOURCES = {k: subschema(load_schema(SCHEMA), ("properties", "spec", "properties", "serving", "properties",
                                                          "resources", "properties", k))["default"]
                      for k in ("cpu", "memory")}
_PROBES = (("readinessProbe", "readiness"), ("livenessProbe", "liveness"), ("startupProbe", "startup"))
_PROBE_TIMINGS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold")
_SECURITY = ("runAsUser", "runAsGroup", "fsGroup")
# The ids mlgitops runs a pod as (serving.security's defaults, training's the same): no change when read back.
_OWN_IDS = {k: subschema(load_schema(SCHEMA), ("properties", "spec", "properties", "serving", "properties", "security",
                                               "properties", k))["default"] for k in _SECURITY}
# Fields whose value here is what Kubernetes or mlgitops sets anyway (`kubectl get -o yaml` prints them).
_CONTAINER_DEFAULTS = {"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                       "stdin": False, "tty": False}
_POD_DEFAULTS = {"dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "restartPolicy": "Always",
                 "enableServiceLinks": True, "hostNetwork": False, "hostPID": False, "hostIPC": False}
# The container hardening mlgitops writes (render/pod.py): the same values in the input are no change.
_HARDENED = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}
# What a patch may carry: the pod's fields (spec.template.spec) and the main container's.
_PATCHED_POD = ("imagePullSecrets", "affinity", "dnsConfig", "hostAliases", "topologySpreadConstraints")
_PATCHED_CONTAINER = ("envFrom", "workingDir")
PATCHED = "import-patched"
_OWN_PAUSE = 10  # seconds: serving.shutdown.preStopSleepSeconds' default
# The fields the import reads (import_objects.use_shape): any other is reported by the leftovers walk.
_REF = {"name": None, "key": None, "optional": None}
ENV_SHAPE: Shape = {"name": None, "value": None, "valueFrom": {"secretKeyRef": _REF, "fieldRef": None,
                                                               "resourceFieldRef": None}}
_POD_SECURITY: Shape = {"runAsUser": None, "runAsGroup": None, "fsGroup": None, "runAsNonRoot": None,
                        "seccompProfile": {"type": None}}
_CONTAINER_SECURITY: Shape = {**_POD_SECURITY, "readOnlyRootFilesystem": None, "allowPrivilegeEscalation": None,
                              "capabilities": {"drop": None}, "privileged": None}
_PRE_STOP: Shape = {"exec": {"command": None}, "sleep": {"seconds": None}}
_GPU_AFFINITY: Shape = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [{"key": None, "operator": None, "values": None}]}]}}}
LATER = "the spec has no field for it ({field}): add it by hand if the model needs it (docs/spec.md)"


@dataclass(frozen=True)
class PatchTarget:
    """The generated object a patch (spec.patches) carries a pod's extra fields to: its kind (a training object
    is targeted by kind alone, its name holding its run's hash), where its pod spec is, and the name of the
    container mlgitops gives the model (render/pod.py's, render/training.py's)."""

    kind: str
    pod: tuple[str, ...]
    container: str


DEPLOYMENT = PatchTarget("Deployment", ("spec", "template", "spec"), "model-server")


class Pod:
    """One pod template being read: the object, the template's pointer, and the findings so far."""

    def __init__(self, obj: Obj, pointer: str, findings: list[Finding], target: PatchTarget | None = None,
                 optional_limits: frozenset[str] = frozenset()):
        self.obj = obj
        self.pointer = pointer  # of the pod template's spec
        self.spec: dict[str, Any] = as_map(obj.get(*steps(pointer)))
        self.findings = findings
        self.index = main_index(self.spec)
        self.container: dict[str, Any] = self.containers[self.index] if self.containers else {}
        self.cpointer = f"{pointer}/containers/{self.index}"
        self.served: dict[str, Any] | None = None  # the container port the Service sends requests to
        self.metrics_port: int | None = None  # the port Prometheus scrapes, when not the serving one
        self.moved_cache = ""  # where a Hugging Face cache in root's home was moved to
        self.moved: dict[str, str] = {}  # mount paths that moved (or were dropped) -> where their files now go
        self.env_at: dict[str, str] = {}  # the main container's plain env names -> their pointers
        self.optional_limits = optional_limits  # limits every environment's policy lets a spec leave out
        self.target = target  # the generated object spec.patches can carry what the spec cannot to, if any
        self.patch_pod: dict[str, Any] = {}  # fields of spec.template.spec to carry as a patch
        self.patch_container: dict[str, Any] = {}  # fields of the model container to carry as a patch

    @property
    def containers(self) -> list[dict[str, Any]]:
        found = self.spec.get("containers")
        return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []

    def note(self, rule: str, pointer: str, message: str, hint: str = "",
             severity: Severity = Severity.WARNING, covers: bool = True) -> None:
        self.findings.append(self.obj.finding(rule, pointer, message, hint, severity, covers))

    def use(self, *pointers: str) -> None:
        self.obj.use(*pointers)

    def later(self, pointer: str, what: str, field: str) -> None:
        self.note(DROPPED, pointer, f"{what}: not carried over, " + LATER.format(field=field),
                  "carry it with a raw patch (spec.patches) if the model needs it")

    def carry(self, at: str, what: str, value: Any, container: bool = False) -> bool:
        """Carry a field the spec cannot say as a patch of the generated object; False where none can (a
        distributed run's pods), so the caller reports it instead."""
        if self.target is None:
            return False
        key = at.rsplit("/", 1)[-1]
        if container:
            self.patch_container[key] = value
        else:
            self.patch_pod[key] = value
        self.note(PATCHED, at, f"{what}: carried over as a patch of the {self.target.kind} (spec.patches): the spec "
                  "has no field for it", "keep it there, or drop the patch if mlgitops' own setting fits")
        return True

    def patches(self) -> list[dict[str, Any]]:
        """spec.patches: one strategic-merge patch of the target with what `carry` collected."""
        pod: dict[str, Any] = dict(self.patch_pod)
        if self.target is None or not (pod or self.patch_container):
            return []
        if self.patch_container:
            pod["containers"] = [{"name": self.target.container, **self.patch_container}]
        for key in reversed(self.target.pod):
            pod = {key: pod}
        return [{"target": {"kind": self.target.kind}, "merge": pod}]


def main_index(pod: dict[str, Any]) -> int:
    """The model's container: the one named like mlgitops' own, else the first with a port, else the first."""
    containers = as_list(pod.get("containers"))
    for i, c in enumerate(containers):
        if isinstance(c, dict) and c.get("name") in ("model-server", "trainer", "pytorch", "kserve-container"):
            return i
    for i, c in enumerate(containers):
        if isinstance(c, dict) and c.get("ports"):
            return i
    return 0


def container(pod: Pod, section: str) -> dict[str, Any]:
    """The section's fields from the main container and the pod around it."""
    c = pod.container
    out: dict[str, Any] = {}
    image = c.get("image")
    pod.use(f"{pod.cpointer}/name", f"{pod.cpointer}/image", f"{pod.cpointer}/imagePullPolicy")
    if isinstance(image, str) and image:
        out["image"] = image
        _image_tag(pod, image)
    for key in ("command", "args"):
        if isinstance(c.get(key), list):
            pod.use(f"{pod.cpointer}/{key}")
            out[key] = _safe_args(pod, f"{pod.cpointer}/{key}", key, [str(a) for a in c[key]])
    env, secrets = environment(pod, section)
    out.update({k: v for k, v in (("env", env), ("secrets", secrets)) if v})
    resources = _resources(pod)
    if resources:
        out["resources"] = resources
    out.update(_scheduling(pod, out.get("resources", {}), section))
    _defaults(pod)
    _carried(pod)
    return out


def _image_tag(pod: Pod, image: str) -> None:
    _, tag, digest = split_image(image)
    if not digest and (not tag or tag == "latest"):
        pod.note(CHANGED, f"{pod.cpointer}/image", f"image '{image}' has no version tag: every pull may run "
                 "another build, and check refuses it (image-latest)", "pin a release tag or a digest in the spec",
                 Severity.ERROR)


def _safe_args(pod: Pod, at: str, key: str, args: list[str]) -> list[str]:
    problems = arg_problems(args)
    refused = {i for i, *_ in problems}
    for i, rule, message, hint in problems:
        pod.note(rule, f"{at}/{i}", f"{key}[{i}]: {message}: left out (its value is neither written nor shown)",
                 hint, Severity.ERROR)
    return [a for i, a in enumerate(args) if i not in refused]


def environment(pod: Pod, section: str, c: dict[str, Any] | None = None, at: str = "",
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """env (strings and pod/resource fields) and secrets (secretKeyRef) of a container (the main one by
    default), minus what mlgitops sets itself."""
    c, at = (pod.container, pod.cpointer) if c is None else (c, at)
    env: dict[str, Any] = {}
    secrets: list[dict[str, Any]] = []
    skip = pods.reserved_env(section) | {pods.FETCH_ENV}
    for i, item in enumerate(as_list(c.get("env"))):
        if not isinstance(item, dict) or str(item.get("name")) in skip or _generated(item):
            # mlgitops sets it itself (what the item holds besides a variable's fields is still reported)
            if isinstance(item, dict):
                use_shape(pod.obj, f"{at}/env/{i}", item, ENV_SHAPE)
            else:
                pod.use(f"{at}/env/{i}")
            continue
        use_shape(pod.obj, f"{at}/env/{i}", item, ENV_SHAPE)
        _env_item(pod, f"{at}/env/{i}", item, env, secrets, main=c is pod.container)
    return env, secrets


def _generated(item: dict[str, Any]) -> bool:
    """A thread-count or HOME variable exactly as mlgitops sets it (from the CPU limit, or the request where
    there is no limit: render/pod.py)."""
    name, ref = item.get("name"), (as_map(item.get("valueFrom"))).get("resourceFieldRef")
    if name in pods.THREAD_VARS and isinstance(ref, dict):
        return ref.get("resource") in ("limits.cpu", "requests.cpu") and str(ref.get("divisor", "1")) == "1"
    return (name, item.get("value")) in pods.HOME_VARS


def _env_item(pod: Pod, at: str, item: dict[str, Any], env: dict[str, Any],
              secrets: list[dict[str, Any]], main: bool) -> None:
    name = str(item.get("name", ""))
    source = item.get("valueFrom")
    if not isinstance(source, dict):
        _plain_env(pod, at, name, item.get("value", ""), env)
    elif isinstance(source.get("secretKeyRef"), dict):
        ref = source["secretKeyRef"]
        secret = {"env": name, "secret": ref.get("name"), "key": ref.get("key")}
        secrets.append(secret | ({"optional": ref["optional"]} if isinstance(ref.get("optional"), bool) else {}))
    elif "fieldRef" in source or "resourceFieldRef" in source:
        kept = {k: dict(v) for k, v in source.items() if k in ("fieldRef", "resourceFieldRef") and isinstance(v, dict)}
        for ref in kept.values():
            ref.pop("apiVersion", None)
        env[name] = {"valueFrom": kept}
    elif not (main and _carry_env(pod, at, item)):
        pod.later(f"{at}/valueFrom", f"env '{name}' from a ConfigMap", "env from configMapKeyRef")


def _plain_env(pod: Pod, at: str, name: str, value: Any, env: dict[str, Any]) -> None:
    problem = env_problem(name, value)
    if problem:
        pod.note(problem[0], f"{at}/value", f"{problem[1]}: left out (its value is neither written nor shown)",
                 problem[2], Severity.ERROR)
    else:
        env[name] = str(value)
        pod.env_at.setdefault(name, at)  # the main container's env is read first (container(), then the others)


def _carry_env(pod: Pod, at: str, item: dict[str, Any]) -> bool:
    """An env variable from a ConfigMap key: the spec names Secrets only, a patch carries it (the strategic
    merge of `env` is by name)."""
    if pod.target is None:
        return False
    pod.patch_container.setdefault("env", []).append(item)
    pod.use(at)
    pod.note(PATCHED, f"{at}/valueFrom", f"env '{item.get('name')}' from a ConfigMap: carried over as a patch of "
             f"the {pod.target.kind} (spec.patches): the spec's env holds strings and Secret references")
    return True


def _resources(pod: Pod) -> dict[str, Any]:
    res = as_map(pod.container.get("resources"))
    requests, limits = as_map(res.get("requests")), as_map(res.get("limits"))
    at = f"{pod.cpointer}/resources"
    out: dict[str, Any] = {}
    for key, spec_key in (("cpu", "cpu"), ("memory", "memory"), ("ephemeral-storage", "ephemeralStorage")):
        _quantity(pod, at, key, spec_key, requests, limits, out)
    gpus = limits.get(GPU_RESOURCE, requests.get(GPU_RESOURCE))
    pod.use(f"{at}/limits/{pointer(GPU_RESOURCE)[1:]}", f"{at}/requests/{pointer(GPU_RESOURCE)[1:]}")
    if gpus is not None:
        count = whole_number(gpus)
        out["gpu"] = count if count is not None else gpus
    missing = [key for key in ("cpu", "memory") if key not in out]
    if missing:
        defaults = ", ".join(f"{key} {_DEFAULT_RESOURCES[key]}" for key in missing)
        pod.note(CHANGED, at, f"no {' or '.join(missing)} request: mlgitops' default{'s' if len(missing) > 1 else ''} "
                 f"appl{'y' if len(missing) > 1 else 'ies'} ({defaults}, as request and limit)", "set resources."
                 + " and resources.".join(missing) + " from what the server uses", covers=False)
    if "limits" in out:
        out["limits"] = out.pop("limits")
    return out


def _quantity(pod: Pod, at: str, key: str, spec_key: str, requests: dict[str, Any], limits: dict[str, Any],
              out: dict[str, Any]) -> None:
    request, limit = requests.get(key), limits.get(key)
    pod.use(f"{at}/requests/{key}", f"{at}/limits/{key}")
    if request is None and limit is None:
        return
    if request is None:
        out[spec_key] = limit  # Kubernetes does the same: a limit alone is also the request
        return
    out[spec_key] = request
    if limit is not None and str(limit) != str(request):
        out.setdefault("limits", {})[spec_key] = limit
    elif limit is None and key != "ephemeral-storage":
        _no_limit(pod, f"{at}/requests/{key}", key, spec_key, request, out)


def _no_limit(pod: Pod, at: str, key: str, spec_key: str, request: Any, out: dict[str, Any]) -> None:
    """A request without a limit: kept so (`limits.<key>: false`) where every environment's policy allows
    it (mlgitops.yaml policies.requiredLimits), else the limit becomes the request, and the report says so."""
    if key in pod.optional_limits:
        out.setdefault("limits", {})[spec_key] = False
        return
    pod.note(CHANGED, at, f"no {key} limit: mlgitops sets the limit to the request ({request}), as the "
             "environments' policies require (requiredLimits)", f"set resources.limits.{spec_key} if the "
             f"container may burst above it, or allow 'limits: {{{spec_key}: false}}' in mlgitops.yaml "
             "(policies.requiredLimits)", covers=False)


def _scheduling(pod: Pod, resources: dict[str, Any], section: str) -> dict[str, Any]:
    spec: dict[str, Any] = pod.spec
    out: dict[str, Any] = {}
    selector = {str(k): str(v) for k, v in as_map(spec.get("nodeSelector")).items()}
    pod.use(f"{pod.pointer}/nodeSelector", f"{pod.pointer}/tolerations")
    gpu_type = _gpu_type(pod, selector, resources)
    if gpu_type and resources:
        resources["gpuType"] = gpu_type
    if selector:
        out["nodeSelector"] = selector
    tolerations = [t for t in as_list(spec.get("tolerations")) if isinstance(t, dict)]
    if tolerations:
        out["tolerations"] = tolerations
    security = _security(pod, section)
    if security:
        out["security"] = security
    return out


def _gpu_type(pod: Pod, selector: dict[str, str], resources: dict[str, Any]) -> dict[str, str]:
    """resources.gpuType from a GPU type's node label (taken out of the selector), else from a node affinity;
    an instance type names a GPU only on a GPU pod."""
    gpu_type = {platform: selector.pop(label) for platform, label in GPU_TYPE_LABELS.items()
                if label in selector and (resources.get("gpu") or platform != "eks")}
    gpu_type = gpu_type or _affinity_gpu_type(pod, resources)
    if len(gpu_type) > 1:
        pod.note(CHANGED, f"{pod.pointer}/nodeSelector", f"the node selector names the GPU type by "
                 f"{len(gpu_type)} platforms' labels: resources.gpuType keeps one ({sorted(gpu_type)[0]})")
        gpu_type = dict([sorted(gpu_type.items())[0]])
    return gpu_type


def _affinity_gpu_type(pod: Pod, resources: dict[str, Any]) -> dict[str, str]:
    """A required node affinity that is only `<GPU type label> In [one value]` is `resources.gpuType`."""
    affinity = as_map(pod.spec.get("affinity"))
    terms = as_list(dig(affinity, "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                        "nodeSelectorTerms"))
    exprs = as_list(dig(terms, 0, "matchExpressions")) if len(terms) == 1 else []
    if set(affinity) != {"nodeAffinity"} or set(as_map(affinity["nodeAffinity"])) != {
            "requiredDuringSchedulingIgnoredDuringExecution"} or len(exprs) != 1:
        return {}
    expr = as_map(exprs[0])
    platform = next((p for p, label in GPU_TYPE_LABELS.items() if label == expr.get("key")), None)
    values = as_list(expr.get("values"))
    if platform is None or expr.get("operator") != "In" or len(values) != 1 or not resources.get("gpu"):
        return {}
    use_shape(pod.obj, f"{pod.pointer}/affinity", affinity, _GPU_AFFINITY)
    return {platform: str(values[0])}


def _security(pod: Pod, section: str) -> dict[str, Any]:
    pod_ctx = as_map(pod.spec.get("securityContext"))
    ctx = as_map(pod.container.get("securityContext"))
    use_shape(pod.obj, f"{pod.pointer}/securityContext", pod_ctx, _POD_SECURITY)
    use_shape(pod.obj, f"{pod.cpointer}/securityContext", ctx, _CONTAINER_SECURITY)
    merged = pod_ctx | ctx
    out = {k: merged[k] for k in _SECURITY if isinstance(merged.get(k), int) and merged[k] not in (0, _OWN_IDS[k])}
    if merged.get("runAsUser") == 0 or merged.get("runAsNonRoot") is False:
        pod.note(CHANGED, f"{pod.cpointer}/securityContext", "the container runs as root: mlgitops runs it as "
                 "a non-root user with a read-only root filesystem", "test the image as a non-root user; if it "
                 f"cannot run so, say why in {section}.security.reason")
    elif ctx.get("privileged") or as_map(ctx.get("capabilities")).get("add"):
        pod.note(CHANGED, f"{pod.cpointer}/securityContext", "privileged mode and added capabilities are "
                 "dropped: the restricted Pod Security Standard refuses them", "", Severity.ERROR)
    else:
        _hardening(pod, merged, section)
    return out


def _hardening(pod: Pod, merged: dict[str, Any], section: str) -> None:
    """Say what mlgitops' hardening changes for this container (a change the image may notice)."""
    changes = [k for k, v in _HARDENED.items() if merged.get(k) != v]
    if as_list(dig(merged, "capabilities", "drop")) != ["ALL"]:
        changes.append("capabilities dropped (ALL)")
    if dig(merged, "seccompProfile", "type") != "RuntimeDefault":
        changes.append("seccompProfile RuntimeDefault")
    if changes:
        pod.note(CHANGED, pod.cpointer, f"mlgitops hardens the container (restricted Pod Security Standard): "
                 f"{', '.join(changes)}; a write outside /tmp, {pods.HOME} and mounted volumes now fails",
                 f"try the image so once (docker run --read-only --user {_OWN_IDS['runAsUser']}); relax a setting "
                 f"with {section}.security and a reason", covers=False)


def _defaults(pod: Pod) -> None:
    """Fields whose value is Kubernetes' (or mlgitops') own: nothing to carry; any other value is reported
    by the leftovers walk."""
    for fields, at, where in ((_CONTAINER_DEFAULTS, pod.cpointer, pod.container), (_POD_DEFAULTS, pod.pointer,
                                                                                     pod.spec)):
        for key, value in fields.items():
            if where.get(key) == value:
                pod.use(f"{at}/{key}")
    if pod.spec.get("serviceAccount") == pod.spec.get("serviceAccountName"):
        pod.use(f"{pod.pointer}/serviceAccount")  # the deprecated alias kubectl prints beside it
    if pod.spec.get("topologySpreadConstraints") and pod.obj.get("metadata", "labels", "app.kubernetes.io/"
                                                                   "managed-by") == "mlgitops":
        pod.use(f"{pod.pointer}/topologySpreadConstraints")  # serving.topologySpread wrote them


def _carried(pod: Pod) -> None:
    """What the pod has that the spec cannot say: a patch where one can carry it, else a finding."""
    for key in _PATCHED_POD:
        at = f"{pod.pointer}/{key}"
        read = any(u == at or u.startswith(at + "/") for u in pod.obj.used)  # a GPU type's affinity
        if pod.spec.get(key) and not read and not pod.carry(at, key, pod.spec[key]):
            pod.later(at, key, key)
    for key in _PATCHED_CONTAINER:
        at = f"{pod.cpointer}/{key}"
        if pod.container.get(key) and not pod.carry(at, key, pod.container[key], container=True):
            pod.later(at, key, "envFrom: the spec names each variable" if key == "envFrom" else key)
    if pod.spec.get("hostNetwork"):
        pod.note(CHANGED, f"{pod.pointer}/hostNetwork", "hostNetwork is dropped: the restricted Pod Security "
                 "Standard refuses it", "", Severity.ERROR)


def probes(pod: Pod, port: int | None) -> dict[str, Any]:
    """health.readiness/liveness/startup from HTTP probes on the serving port; any other probe is carried as a
    patch (serving) or reported."""
    out: dict[str, Any] = {}
    for key, name in _PROBES:
        probe = pod.container.get(key)
        if not isinstance(probe, dict):
            continue
        read = _probe(pod, f"{pod.cpointer}/{key}", key, name, probe, port)
        if read is not None:
            out[name] = read
    if not all(name in out or key in pod.patch_container for key, name in _PROBES[:2]):
        pod.note(CHANGED, f"{pod.cpointer}", "no readiness or liveness probe: check requires both "
                 "(container-probes)", "add serving.health.readiness and .liveness paths", Severity.ERROR,
                 covers=False)
    return out


def _probe(pod: Pod, at: str, key: str, name: str, probe: dict[str, Any], port: int | None) -> Any:
    """One probe as the spec's health entry (a path, or a path and timings); None when it is no HTTP GET on the
    serving port, which is then carried as a patch or reported."""
    http = _http_get(probe)
    if http is None or not _same_port(pod, http.get("port"), port):
        what = f"{key} ({_handler(probe)})"
        if not pod.carry(at, what, _port_numbers(pod, probe), container=True):
            pod.later(at, what, "exec, tcpSocket and gRPC probes")
        return None
    pod.use(at)
    defaults = pods.PROBE_DEFAULTS[name]
    timings = {k: probe[k] for k in _PROBE_TIMINGS if isinstance(probe.get(k), int) and probe[k] != defaults.get(k)}
    _probe_rest(pod, at, probe, http)
    return {"path": http["path"], **timings} if timings else http["path"]


def _port_numbers(pod: Pod, probe: dict[str, Any]) -> dict[str, Any]:
    """A probe carried as a patch, its port names (`port: api`) replaced by their numbers: mlgitops names the
    container's ports its own way (the served one `http`), and a name no port has fails every probe."""
    numbers = {p.get("name"): p.get("containerPort") for p in as_list(pod.container.get("ports"))
               if isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("containerPort"), int)}
    out = dict(probe)
    for kind in ("httpGet", "tcpSocket", "grpc"):
        handler = probe.get(kind)
        if isinstance(handler, dict) and isinstance(handler.get("port"), str) and handler["port"] in numbers:
            out[kind] = {**handler, "port": numbers[handler["port"]]}
    return out


def _handler(probe: dict[str, Any]) -> str:
    kind = next((k for k in ("httpGet", "tcpSocket", "exec", "grpc") if k in probe), "no handler")
    return f"{kind} on another port" if kind == "httpGet" else kind


def _probe_rest(pod: Pod, at: str, probe: dict[str, Any], http: dict[str, Any]) -> None:
    """What an HTTP probe has besides its path, port and timings: headers, scheme, successThreshold."""
    rest = [k for k in http if k not in ("path", "port") and not (k == "scheme" and http[k] == "HTTP")]
    rest += [k for k in probe if k not in (*_PROBE_TIMINGS, "httpGet") and not (k == "successThreshold"
                                                                                 and probe[k] == 1)]
    if rest:
        pod.note(CHANGED, at, f"the probe's {', '.join(rest)}: not carried over (mlgitops probes the path on "
                 "the serving port over HTTP)", covers=False)


def _http_get(probe: dict[str, Any]) -> dict[str, Any] | None:
    """A probe's httpGet when it has a non-empty path (a string), else None."""
    http = probe.get("httpGet")
    if isinstance(http, dict) and isinstance(http.get("path"), str) and http["path"]:
        return http
    return None


def _same_port(pod: Pod, probe_port: Any, port: int | None) -> bool:
    if probe_port is None or probe_port == port or probe_port == "http":
        return True
    ports = as_list(pod.container.get("ports"))
    return str(probe_port) == str(port) or any(
        isinstance(p, dict) and p.get("name") == probe_port and str(p.get("containerPort")) == str(port)
        for p in ports)


def lifecycle(pod: Pod) -> dict[str, Any]:
    """serving.shutdown from the preStop hook and the grace period."""
    pre = as_map(dig(pod.container, "lifecycle", "preStop"))
    out = _pre_stop(pre)
    if out:
        use_shape(pod.obj, f"{pod.cpointer}/lifecycle/preStop", pre, _PRE_STOP)
    if out.get("preStop") == "sleep" and out.get("preStopSleepSeconds") == _OWN_PAUSE:
        out = {}  # mlgitops' own pause (Kubernetes 1.30 and later)
    grace = pod.spec.get("terminationGracePeriodSeconds")
    pod.use(f"{pod.pointer}/terminationGracePeriodSeconds")
    # the grace period mlgitops derives (the pause plus the drain time), or Kubernetes' own default: unsaid
    derived = out.get("preStopSleepSeconds", _OWN_PAUSE) + pods.DRAIN_SECONDS
    if isinstance(grace, int) and grace > 0 and grace != derived and (grace != 30 or pre):
        out["gracePeriodSeconds"] = grace
    return out


def _pre_stop(pre: dict[str, Any]) -> dict[str, Any]:
    """A preStop hook as the spec says it: a pause (exec `sleep N`, or the sleep action) or a command."""
    command = dig(pre, "exec", "command")
    seconds = dig(pre, "sleep", "seconds")
    if isinstance(command, list) and command[:1] == ["sleep"] and len(command) == 2 and str(command[1]).isdigit():
        return {"preStop": "exec", "preStopSleepSeconds": int(command[1])}
    if isinstance(command, list) and command:
        return {"preStopCommand": [str(c) for c in command]}
    if isinstance(seconds, int) and seconds > 0:
        return {"preStop": "sleep", "preStopSleepSeconds": seconds}
    return {}
