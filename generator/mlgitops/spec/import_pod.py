"""`mlgitops import`: a pod template's main container -> the fields of a spec's `serving` or `training`.

Kept: image, command, args, env (strings, fieldRef/resourceFieldRef) and Secret references, resources, HTTP
probes, /dev/shm, scheduling, the grace period. A literal secret (by its name or its value, report/secrets.py)
is refused: neither written nor printed. What the spec cannot say, or says differently, is a finding on the
field it came from. What mlgitops itself adds (the reserved env, the thread and HOME defaults, the scratch
volumes) is recognised and left out, so importing mlgitops' own output gives back its spec.
"""

from __future__ import annotations

from typing import Any

from mlgitops.kube.images import split_image
from mlgitops.report.findings import Finding, Severity
from mlgitops.report.secrets import arg_problems, env_problem
from mlgitops.spec import pods
from mlgitops.spec.import_objects import CHANGED, DROPPED, Obj, as_list, as_map

GPU_RESOURCE = "nvidia.com/gpu"
_PROBES = (("readinessProbe", "readiness"), ("livenessProbe", "liveness"), ("startupProbe", "startup"))
_PROBE_TIMINGS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold")
_GENERATED_VOLUMES = ("tmp", "home")
_SECURITY = ("runAsUser", "runAsGroup", "fsGroup")
LATER = "the importer does not carry this over yet ({field}): add it to the spec by hand (docs/spec.md)"


class Pod:
    """One pod template being read: the object, the template's pointer, and the findings so far."""

    def __init__(self, obj: Obj, pointer: str, findings: list[Finding]):
        self.obj = obj
        self.pointer = pointer  # of the pod template's spec
        self.spec: dict[str, Any] = as_map(obj.get(*_steps(pointer)))
        self.findings = findings
        self.index = main_index(self.spec)
        self.container: dict[str, Any] = self.containers[self.index] if self.containers else {}
        self.cpointer = f"{pointer}/containers/{self.index}"
        self.moved_cache = ""  # where a Hugging Face cache in root's home was moved to

    @property
    def containers(self) -> list[dict[str, Any]]:
        found = self.spec.get("containers")
        return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []

    def note(self, rule: str, pointer: str, message: str, hint: str = "",
             severity: Severity = Severity.WARNING) -> None:
        self.findings.append(self.obj.finding(rule, pointer, message, hint, severity))

    def later(self, pointer: str, what: str, field: str) -> None:
        self.note(DROPPED, pointer, f"{what}: not carried over, " + LATER.format(field=field),
                  "carry it by hand with a raw patch (environments.<env>.patches) until the field lands")


def _steps(pointer: str) -> list[str | int]:
    return [int(s) if s.isdigit() else s for s in pointer.strip("/").split("/")] if pointer else []


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
    if isinstance(image, str) and image:
        out["image"] = image
        _image_tag(pod, image)
    for key in ("command", "args"):
        if isinstance(c.get(key), list):
            out[key] = _safe_args(pod, key, [str(a) for a in c[key]])
    env, secrets = environment(pod, section)
    out.update({k: v for k, v in (("env", env), ("secrets", secrets)) if v})
    resources = _resources(pod)
    if resources:
        out["resources"] = resources
    out.update(_scheduling(pod))
    _others(pod)
    return out


def _image_tag(pod: Pod, image: str) -> None:
    _, tag, digest = split_image(image)
    if not digest and (not tag or tag == "latest"):
        pod.note(CHANGED, f"{pod.cpointer}/image", f"image '{image}' has no version tag: every pull may run "
                 "another build, and check refuses it (image-latest)", "pin a release tag or a digest in the spec",
                 Severity.ERROR)


def _safe_args(pod: Pod, key: str, args: list[str]) -> list[str]:
    problems = arg_problems(args)
    refused = {i for i, *_ in problems}
    for i, rule, message, hint in problems:
        pod.note(rule, f"{pod.cpointer}/{key}/{i}", f"{key}[{i}]: {message}: left out (its value is neither "
                 "written nor shown)", hint, Severity.ERROR)
    return [a for i, a in enumerate(args) if i not in refused]


def environment(pod: Pod, section: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """env (strings and pod/resource fields) and secrets (secretKeyRef), minus what mlgitops sets itself."""
    env: dict[str, Any] = {}
    secrets: list[dict[str, Any]] = []
    items = as_list(pod.container.get("env"))
    skip = pods.reserved_env(section) | {pods.FETCH_ENV}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or str(item.get("name")) in skip or _generated(item):
            continue
        _env_item(pod, f"{pod.cpointer}/env/{i}", item, env, secrets)
    if pod.container.get("envFrom"):
        pod.note(DROPPED, f"{pod.cpointer}/envFrom", "envFrom (every key of a ConfigMap or Secret) is not "
                 "carried over: the spec names each variable", "list each variable in env, or in secrets for a "
                 "Secret's keys")
    return env, secrets


def _generated(item: dict[str, Any]) -> bool:
    """A thread-count or HOME variable exactly as mlgitops sets it."""
    name, ref = item.get("name"), (as_map(item.get("valueFrom"))).get("resourceFieldRef")
    if name in pods.THREAD_VARS and isinstance(ref, dict):
        return ref.get("resource") == "limits.cpu" and str(ref.get("divisor", "1")) == "1"
    return (name, item.get("value")) in pods.HOME_VARS


def _env_item(pod: Pod, pointer: str, item: dict[str, Any], env: dict[str, Any],
              secrets: list[dict[str, Any]]) -> None:
    name = str(item.get("name", ""))
    source = item.get("valueFrom")
    if not isinstance(source, dict):
        value = item.get("value", "")
        problem = env_problem(name, value)
        if problem:
            pod.note(problem[0], f"{pointer}/value", f"{problem[1]}: left out (its value is neither written "
                     "nor shown)", problem[2], Severity.ERROR)
        else:
            env[name] = str(value)
    elif isinstance(source.get("secretKeyRef"), dict):
        ref = source["secretKeyRef"]
        secret = {"env": name, "secret": ref.get("name"), "key": ref.get("key")}
        secrets.append(secret | ({"optional": ref["optional"]} if isinstance(ref.get("optional"), bool) else {}))
    elif "fieldRef" in source or "resourceFieldRef" in source:
        kept = {k: v for k, v in source.items() if k in ("fieldRef", "resourceFieldRef")}
        for ref in kept.values():
            if isinstance(ref, dict):
                ref.pop("apiVersion", None)
        env[name] = {"valueFrom": kept}
    else:
        pod.later(f"{pointer}/valueFrom", f"env '{name}' from a ConfigMap", "env from configMapKeyRef")


def _resources(pod: Pod) -> dict[str, Any]:
    res = as_map(pod.container.get("resources"))
    requests, limits = as_map(res.get("requests")), as_map(res.get("limits"))
    pointer = f"{pod.cpointer}/resources"
    out: dict[str, Any] = {}
    for key, spec_key in (("cpu", "cpu"), ("memory", "memory"), ("ephemeral-storage", "ephemeralStorage")):
        _quantity(pod, pointer, key, spec_key, requests, limits, out)
    gpus = limits.get(GPU_RESOURCE, requests.get(GPU_RESOURCE))
    if gpus is not None:
        out["gpu"] = int(str(gpus)) if str(gpus).isdigit() else gpus
    missing = [key for key in ("cpu", "memory") if key not in out]
    if missing:
        pod.note(CHANGED, pointer, f"no {' or '.join(missing)} request: mlgitops' defaults apply (cpu 500m, "
                 "memory 1Gi, as request and limit)", "set resources." + " and resources.".join(missing)
                 + " from what the server uses")
    if "limits" in out:
        out["limits"] = out.pop("limits")
    return out


def _quantity(pod: Pod, pointer: str, key: str, spec_key: str, requests: dict[str, Any], limits: dict[str, Any],
              out: dict[str, Any]) -> None:
    request, limit = requests.get(key), limits.get(key)
    if request is None and limit is None:
        return
    if request is None:
        out[spec_key] = limit  # Kubernetes does the same: a limit alone is also the request
        return
    out[spec_key] = request
    if limit is not None and str(limit) != str(request):
        out.setdefault("limits", {})[spec_key] = limit
    elif limit is None and key != "ephemeral-storage":
        pod.note(CHANGED, f"{pointer}/requests/{key}", f"no {key} limit: mlgitops sets the limit to the request "
                 f"({request})", "set resources.limits." + spec_key + " if the container may burst above it; "
                 "requests without limits: " + LATER.format(field="optional limits"))


def _scheduling(pod: Pod) -> dict[str, Any]:
    spec: dict[str, Any] = pod.spec
    out: dict[str, Any] = {}
    if isinstance(spec.get("nodeSelector"), dict) and spec["nodeSelector"]:
        out["nodeSelector"] = {str(k): str(v) for k, v in spec["nodeSelector"].items()}
    tolerations = [t for t in as_list(spec.get("tolerations")) if isinstance(t, dict)]
    if tolerations:
        out["tolerations"] = tolerations
    security = _security(pod)
    if security:
        out["security"] = security
    return out


def _security(pod: Pod) -> dict[str, Any]:
    pod_ctx = as_map(pod.spec.get("securityContext"))
    ctx = as_map(pod.container.get("securityContext"))
    merged = pod_ctx | ctx
    out = {k: merged[k] for k in _SECURITY if isinstance(merged.get(k), int) and merged[k] not in (0, 1000)}
    if merged.get("runAsUser") == 0 or merged.get("runAsNonRoot") is False:
        pod.note(CHANGED, f"{pod.cpointer}/securityContext", "the container runs as root: mlgitops runs it as "
                 "uid 1000 with a read-only root filesystem", "test the image as a non-root user; if it cannot "
                 "run so, say why in serving.security.reason")
    if ctx.get("privileged") or as_map(ctx.get("capabilities")).get("add"):
        pod.note(CHANGED, f"{pod.cpointer}/securityContext", "privileged mode and added capabilities are "
                 "dropped: the restricted Pod Security Standard refuses them", "", Severity.ERROR)
    return out


def _others(pod: Pod) -> None:
    """What the pod has that the spec cannot carry, one finding each."""
    for key, field in (("initContainers", "init containers"), ("hostNetwork", "hostNetwork"),
                       ("affinity", "affinity"), ("imagePullSecrets", "imagePullSecrets")):
        if pod.spec.get(key):
            pod.later(f"{pod.pointer}/{key}", key, field)
    if len(pod.containers) > 1:
        pod.later(f"{pod.pointer}/containers", f"{len(pod.containers) - 1} more container(s) beside "
                  f"'{pod.container.get('name')}'", "sidecars")
    lifecycle = as_map(pod.container.get("lifecycle"))
    if lifecycle.get("postStart") or dig_exec(lifecycle):
        pod.later(f"{pod.cpointer}/lifecycle", "a postStart or exec preStop hook", "lifecycle hooks")


def dig_exec(lifecycle: dict[str, Any]) -> bool:
    pre = lifecycle.get("preStop")
    return isinstance(pre, dict) and "exec" in pre


def probes(pod: Pod, port: int | None) -> dict[str, Any]:
    """health.readiness/liveness/startup from HTTP probes on the serving port; anything else a finding."""
    out: dict[str, Any] = {}
    for key, name in _PROBES:
        probe = pod.container.get(key)
        if not isinstance(probe, dict):
            continue
        http = _http_get(probe)
        if http is None:
            pod.later(f"{pod.cpointer}/{key}", f"{key} (not an HTTP GET)", "exec, tcpSocket and gRPC probes")
            continue
        if not _same_port(pod, http.get("port"), port):
            pod.note(CHANGED, f"{pod.cpointer}/{key}/httpGet/port", f"{key} checked port {http.get('port')}: "
                     "mlgitops probes the serving port")
        defaults = pods.PROBE_DEFAULTS[name]
        timings = {k: probe[k] for k in _PROBE_TIMINGS if isinstance(probe.get(k), int) and probe[k] != defaults.get(k)}
        out[name] = {"path": http["path"], **timings} if timings else http["path"]
    if "readiness" not in out or "liveness" not in out:
        pod.note(CHANGED, f"{pod.cpointer}", "no HTTP readiness or liveness probe: check requires both "
                 "(container-probes)", "add serving.health.readiness and .liveness paths", Severity.ERROR)
    return out


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


def volumes(pod: Pod, claims: dict[str, Obj]) -> dict[str, Any]:
    """/dev/shm (sharedMemory) and one claim (storage); every other volume a finding naming why."""
    out: dict[str, Any] = {}
    mounts = {str(m.get("name")): m for m in as_list(pod.container.get("volumeMounts")) if isinstance(m, dict)}
    for i, vol in enumerate(as_list(pod.spec.get("volumes"))):
        if not isinstance(vol, dict) or (vol.get("name") in _GENERATED_VOLUMES and _scratch(vol)):
            continue
        _volume(pod, f"{pod.pointer}/volumes/{i}", vol, mounts.get(str(vol.get("name")), {}), claims, out)
    return out


def _scratch(vol: dict[str, Any]) -> bool:
    return isinstance(vol.get("emptyDir"), dict)


def _volume(pod: Pod, pointer: str, vol: dict[str, Any], mount: dict[str, Any], claims: dict[str, Obj],
            out: dict[str, Any]) -> None:
    path = str(mount.get("mountPath", ""))
    empty = vol.get("emptyDir")
    if isinstance(empty, dict) and path == "/dev/shm":
        out["sharedMemory"] = empty.get("sizeLimit", pods.DEFAULT_SHM)
    elif isinstance(empty, dict) and path in ("/tmp", pods.HOME):
        return
    elif isinstance(vol.get("persistentVolumeClaim"), dict) and "storage" not in out:
        out["storage"] = _storage(pod, pointer, vol, mount, claims)
    elif "hostPath" in vol:
        pod.note(CHANGED, pointer, f"hostPath volume '{vol.get('name')}' is left out: the restricted Pod "
                 "Security Standard refuses node paths", "use a PersistentVolumeClaim (serving.storage)",
                 Severity.ERROR)
    else:
        pod.later(pointer, f"volume '{vol.get('name')}' ({_volume_type(vol)}) at {path or 'no mount'}", "volumes")


def _volume_type(vol: dict[str, Any]) -> str:
    return next((k for k in vol if k != "name"), "unknown")


def _mount_path(pod: Pod, pointer: str, path: str) -> str:
    """A path in root's home moves to /cache/<last part>: pods run as uid 1000 with HOME /home/model, so root's
    home is not theirs; a Hugging Face cache is then named by HF_HOME (set in env by the caller's spec)."""
    if not path.startswith("/root/") and path != "/root":
        return path
    moved = "/cache/" + (path.rstrip("/").rsplit("/", 1)[-1].lstrip(".") or "data")
    pod.note(CHANGED, pointer, f"mount path {path} is in root's home: moved to {moved} (mlgitops runs the "
             f"container as uid 1000 with HOME {pods.HOME})", f"point the server's cache variable at {moved} "
             "(HF_HOME for a Hugging Face cache: import sets it when it is unset)")
    if moved.endswith("huggingface"):
        pod.moved_cache = moved
    return moved


def _storage(pod: Pod, pointer: str, vol: dict[str, Any], mount: dict[str, Any],
             claims: dict[str, Obj]) -> dict[str, Any]:
    name = str(vol["persistentVolumeClaim"].get("claimName", ""))
    out: dict[str, Any] = {"mountPath": _mount_path(pod, pointer, str(mount.get("mountPath", "/models")))}
    if mount.get("readOnly") or vol["persistentVolumeClaim"].get("readOnly"):
        out["readOnly"] = True
    claim = claims.get(name)
    if claim is None:
        pod.note(CHANGED, pointer, f"claim '{name}' is not in the input: mlgitops creates a claim of its own "
                 "(10Gi unless storage.size says otherwise)", "an existing claim by name: "
                 + LATER.format(field="volumes (existing claims)"))
        return out
    size = claim.get("spec", "resources", "requests", "storage")
    modes = as_list(claim.get("spec", "accessModes"))
    out.update({k: v for k, v in (("size", size), ("storageClassName", claim.get("spec", "storageClassName")),
                                  ("accessMode", modes[0] if modes else None)) if v is not None})
    return out
