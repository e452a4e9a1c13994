"""`mlgitops import`: a pod's volumes and its other containers -> `storage`/`data`, `volumes`, `sharedMemory`,
`initContainers` and `sidecars`.

Each volume the model container mounts becomes one entry: /dev/shm (a memory-backed emptyDir) is
`sharedMemory`; the first claim the input also defines is `storage` (serving: mlgitops makes the claim) or
`data` (training); every other claim is an existing one by name, and configMap, secret, CSI and generic
ephemeral volumes keep their source (`volumes`). mlgitops' own scratch volumes (`tmp`, `home`) are recognised.
A sized disk-backed emptyDir elsewhere (a weights cache) becomes an ephemeral volume of its size. What the
spec cannot mount (hostPath, an unsized emptyDir outside /tmp and HOME, a projected volume, an NFS share) is a
finding at the volume.

Init containers and the pod's other containers become `initContainers` and `sidecars` (native sidecars:
init containers that keep running), hardened as the model container is.
"""

from __future__ import annotations

from typing import Any

from mlgitops.kube import quantity
from mlgitops.kube.quantity import format_bytes
from mlgitops.report.findings import Severity
from mlgitops.spec import pods
from mlgitops.spec.import_objects import CHANGED, DROPPED, Obj, Shape, as_list, as_map, dig, use_shape
from mlgitops.spec.import_pod import Pod, environment

# The fields the import reads (import_objects.use_shape): any other is reported by the leftovers walk.
_VOLUME: Shape = {
    "name": None, "persistentVolumeClaim": {"claimName": None, "readOnly": None}, "configMap": {"name": None},
    "secret": {"secretName": None}, "csi": {"driver": None, "readOnly": None, "volumeAttributes": None},
    "emptyDir": {"medium": None, "sizeLimit": None},
    "ephemeral": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": None}},
                                                   "storageClassName": None, "accessModes": None}}},
}
_CLAIM_TEMPLATE: Shape = {"metadata": {"name": None}, "spec": {"resources": {"requests": {"storage": None}},
                                                                 "storageClassName": None, "accessModes": None}}
_MOUNT: Shape = {"name": None, "mountPath": None, "readOnly": None, "subPath": None}
_SIDECAR_RESOURCES: Shape = {"requests": {"cpu": None, "memory": None}, "limits": {"cpu": None, "memory": None}}

_GENERATED_VOLUMES = ("tmp", "home")
_MI = 2**20
_OWN_NAMES = ("tmp", "home", "dshm", "data", "model-storage", "model-fetch")  # mlgitops' volume names
_SOURCES = ("persistentVolumeClaim", "configMap", "secret", "csi", "ephemeral")
_MOUNT_KEYS = ("name", "mountPath", "readOnly", "subPath")
_SIDECAR_KEYS = ("name", "image", "command", "args", "imagePullPolicy", "restartPolicy", "terminationMessagePath",
                 "terminationMessagePolicy")


def volumes(pod: Pod, claims: dict[str, Obj], section: str) -> dict[str, Any]:
    """The section's volume fields from the pod's volumes and the model container's mounts."""
    out: dict[str, Any] = {}
    mounts: dict[str, tuple[str, dict[str, Any]]] = {}
    for j, m in enumerate(as_list(pod.container.get("volumeMounts"))):
        if isinstance(m, dict):
            mounts.setdefault(str(m.get("name")), (f"{pod.cpointer}/volumeMounts/{j}", m))
    for i, vol in enumerate(as_list(pod.spec.get("volumes"))):
        if not isinstance(vol, dict):
            continue
        at = f"{pod.pointer}/volumes/{i}"
        mount_at, mount = mounts.get(str(vol.get("name")), ("", {}))
        if _volume(pod, at, vol, mount, claims, section, out):
            use_shape(pod.obj, at, vol, _VOLUME)
            use_shape(pod.obj, mount_at or at, mount, _MOUNT)
        elif mount_at:
            pod.obj.reported_with(mount_at)  # the finding about its volume names it too
    _claim_templates(pod, mounts, out)
    return out


def _claim_templates(pod: Pod, mounts: dict[str, tuple[str, dict[str, Any]]], out: dict[str, Any]) -> None:
    """A StatefulSet's volumeClaimTemplates the model container mounts (a per-pod weights disk): generic
    ephemeral volumes of the same size, class and access mode, a claim per pod as before, but made and deleted
    with the pod (a Deployment keeps no claim per pod name)."""
    if pod.obj.kind != "StatefulSet":
        return
    for i, template in enumerate(as_list(pod.obj.get("spec", "volumeClaimTemplates"))):
        name = dig(template, "metadata", "name")
        at = f"/spec/volumeClaimTemplates/{i}"
        if not isinstance(name, str) or name not in mounts:
            continue
        mount_at, mount = mounts[name]
        vol = {"name": name, "ephemeral": {"volumeClaimTemplate": {"spec": as_map(dig(template, "spec"))}}}
        entry = _entry(pod, at, vol, mount, "ephemeral")
        if entry is None:
            continue
        out.setdefault("volumes", []).append(entry)
        use_shape(pod.obj, at, template, _CLAIM_TEMPLATE)
        use_shape(pod.obj, mount_at, mount, _MOUNT)
        pod.note(CHANGED, at, f"volumeClaimTemplate '{name}' ({entry['ephemeral']['size']}) at {entry['mountPath']}"
                 ": carried as a generic ephemeral volume (a claim per pod, as before, but deleted with the pod: a "
                 "new pod starts with an empty disk)", "mount a claim shared by the pods (ReadOnlyMany, "
                 "volumes: [{claim: ...}]) if the weights must outlive a pod", covers=False)


def _volume(pod: Pod, at: str, vol: dict[str, Any], mount: dict[str, Any], claims: dict[str, Obj],
            section: str, out: dict[str, Any]) -> bool:
    """Map one volume into out; True when it was carried (with its mount), False when reported."""
    path = str(mount.get("mountPath", ""))
    empty = vol.get("emptyDir")
    if isinstance(empty, dict):
        return _empty_dir(pod, at, vol, mount, out)
    if not path:
        pod.later(at, f"volume '{vol.get('name')}' that the model container does not mount", "volumes of "
                  "other containers only")
        return False
    if isinstance(vol.get("persistentVolumeClaim"), dict) and _first_claim(vol, claims, section, out):
        out.update(_claim(pod, at, vol, mount, claims, section))
        return True
    source = next((k for k in _SOURCES if isinstance(vol.get(k), dict)), None)
    if source is None:
        why = ("the restricted Pod Security Standard refuses node paths" if "hostPath" in vol
               else "the spec mounts claims, ConfigMaps, Secrets, CSI and ephemeral volumes")
        pod.note(CHANGED, at, f"volume '{vol.get('name')}' ({_kind(vol)}) at {path}: not carried over: {why}",
                 "use a PersistentVolumeClaim (volumes: [{claim: ...}]) or a CSI driver", Severity.ERROR)
        return False
    entry = _entry(pod, at, vol, mount, source)
    if entry is not None:
        out.setdefault("volumes", []).append(entry)
    return entry is not None


def _kind(vol: dict[str, Any]) -> str:
    return next((k for k in vol if k != "name"), "unknown")


def _first_claim(vol: dict[str, Any], claims: dict[str, Obj], section: str, out: dict[str, Any]) -> bool:
    """Whether this claim becomes storage (serving: a claim the input defines) or data (training: any)."""
    name = dig(vol, "persistentVolumeClaim", "claimName")
    if section == "training":
        return "data" not in out
    return "storage" not in out and isinstance(name, str) and name in claims


def _empty_dir(pod: Pod, at: str, vol: dict[str, Any], mount: dict[str, Any], out: dict[str, Any]) -> bool:
    empty = vol["emptyDir"]
    path = str(mount.get("mountPath", ""))
    if path == "/dev/shm" or (empty.get("medium") == "Memory" and vol.get("name") == "dshm"):
        out["sharedMemory"] = empty.get("sizeLimit", pods.DEFAULT_SHM)
        if not empty.get("sizeLimit"):
            pod.note(CHANGED, at, f"/dev/shm without a size limit: mlgitops limits it to {pods.DEFAULT_SHM} (and "
                     "counts it in the memory limit)", "set serving.sharedMemory to what the server needs",
                     covers=False)
        return True
    if path in ("/tmp", pods.HOME) or (vol.get("name") in _GENERATED_VOLUMES and not path):
        return True
    size = empty.get("sizeLimit")
    if path and size and empty.get("medium") != "Memory":
        return _scratch_claim(pod, at, vol, mount, str(size), out)
    _dropped(pod, at, vol, path)
    return False


def _dropped(pod: Pod, at: str, vol: dict[str, Any], path: str) -> None:
    """An emptyDir the spec cannot mount: its files go to mlgitops' writable cache under HOME instead."""
    if path:
        pod.moved[path] = pods.home_cache(path)
    pod.note(CHANGED, at, f"emptyDir '{vol.get('name')}' at {path or 'no mount'}: not carried over: the spec's "
             f"writable scratch is /tmp and HOME ({pods.HOME}, sized by scratch.homeSize)", "point the server's "
             "cache at HOME (HF_HOME is under it) and size it with scratch.homeSize, or mount an ephemeral volume "
             "there (volumes: [{name: ..., ephemeral: {size: ...}, mountPath: ...}])")


def _scratch_claim(pod: Pod, at: str, vol: dict[str, Any], mount: dict[str, Any], size: str,
                   out: dict[str, Any]) -> bool:
    """A sized disk emptyDir (a weights cache, often tens of Gi) becomes a generic ephemeral volume of that size:
    scratch that lives and dies with the pod, as before, but not counted in the container's ephemeral-storage
    limit, which mlgitops sizes for /tmp, HOME and logs (an emptyDir that large would get the pod evicted)."""
    claim = {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": size}}}}}
    entry = _entry(pod, at, {"name": vol.get("name"), "ephemeral": claim}, mount, "ephemeral")
    if entry is None:
        return False
    out.setdefault("volumes", []).append(entry)
    pod.note(CHANGED, at, f"emptyDir '{vol.get('name')}' ({size}) at {entry['mountPath']}: carried as a generic "
             "ephemeral volume of that size (a claim of the cluster's default storage class, made and deleted with "
             "each pod), so mlgitops' ephemeral-storage limit does not evict the pod", "set its storageClassName "
             "to a fast local class if the cluster has one, or point the cache at HOME and set scratch.homeSize",
             covers=False)
    return True


def _entry(pod: Pod, at: str, vol: dict[str, Any], mount: dict[str, Any], source: str) -> dict[str, Any] | None:
    name = str(vol.get("name"))
    if name in _OWN_NAMES:
        pod.note(CHANGED, f"{at}/name", f"volume '{name}' is renamed '{name}-0': the name is mlgitops' own")
        name += "-0"
    entry: dict[str, Any] = {"name": name, "mountPath": _mount_path(pod, at, str(mount["mountPath"]))}
    body = vol[source]
    if source == "persistentVolumeClaim":
        entry["claim"] = body.get("claimName")
        pod.note(CHANGED, at, f"claim '{body.get('claimName')}' is mounted by name: it must exist in each "
                 "environment's namespace (mlgitops neither creates nor prunes it)", covers=False)
    elif source in ("configMap", "secret"):
        entry[source] = body.get("name" if source == "configMap" else "secretName")
    elif source == "csi":
        entry["csi"] = {k: body[k] for k in ("driver", "readOnly", "volumeAttributes") if k in body}
    else:
        entry["ephemeral"] = _ephemeral(pod, at, body)
    if isinstance(mount.get("subPath"), str) and mount["subPath"]:
        entry["subPath"] = mount["subPath"]
    files = source in ("configMap", "secret")  # read-only by default in the spec (and in fact, in Kubernetes)
    if isinstance(mount.get("readOnly"), bool) and mount["readOnly"] != files:
        entry["readOnly"] = mount["readOnly"]
    return entry


def _ephemeral(pod: Pod, at: str, body: dict[str, Any]) -> dict[str, Any]:
    claim = as_map(dig(body, "volumeClaimTemplate", "spec"))
    out: dict[str, Any] = {"size": dig(claim, "resources", "requests", "storage") or "10Gi"}
    if claim.get("storageClassName"):
        out["storageClassName"] = claim["storageClassName"]
    modes = as_list(claim.get("accessModes"))
    if modes:
        out["accessMode"] = modes[0]
    return out


def _claim(pod: Pod, at: str, vol: dict[str, Any], mount: dict[str, Any], claims: dict[str, Obj],
           section: str) -> dict[str, Any]:
    """`storage` (serving: mlgitops makes the claim the input defines) or `data` (training: an existing
    claim by name)."""
    name = str(vol["persistentVolumeClaim"].get("claimName", ""))
    read_only = bool(mount.get("readOnly") or vol["persistentVolumeClaim"].get("readOnly"))
    if section == "training":
        data = {"claim": name, "mountPath": str(mount.get("mountPath", "/data"))}
        return {"data": data | ({"readOnly": True} if read_only else {})}
    out: dict[str, Any] = {"mountPath": _mount_path(pod, at, str(mount.get("mountPath", "/models")))}
    if read_only:
        out["readOnly"] = True
    claim = claims[name]
    size = claim.get("spec", "resources", "requests", "storage")
    modes = as_list(claim.get("spec", "accessModes"))
    out.update({k: v for k, v in (("size", size), ("storageClassName", claim.get("spec", "storageClassName")),
                                  ("accessMode", modes[0] if modes else None),
                                  ("volumeName", claim.get("spec", "volumeName"))) if v is not None})
    claim.use("/spec/resources/requests/storage", "/spec/storageClassName", "/spec/accessModes",
              "/spec/volumeName", "/spec/volumeMode")
    return {"storage": out}


def _mount_path(pod: Pod, at: str, path: str) -> str:
    """A path in root's home moves to /cache/<last part>: pods run as a non-root user with HOME /home/model, so
    root's home is not theirs; a Hugging Face cache is then named by HF_HOME (set in env by the caller)."""
    if not path.startswith("/root/") and path != "/root":
        return path
    moved = "/cache/" + (path.rstrip("/").rsplit("/", 1)[-1].lstrip(".") or "data")
    pod.note(CHANGED, at, f"mount path {path} is in root's home: moved to {moved} (mlgitops runs the "
             f"container as a non-root user with HOME {pods.HOME})", f"point the server's cache variable at "
             f"{moved} (HF_HOME for a Hugging Face cache: import sets it when it is unset)", covers=False)
    pod.moved[path] = moved
    if moved.endswith("huggingface"):
        pod.moved_cache = moved
    return moved


def relocate_env(pod: Pod, out: dict[str, Any]) -> None:
    """Env values that name a mount path that moved, or that was dropped for mlgitops' own scratch, or a path
    under it, follow it: the root filesystem is read-only (render/pod.py), so a cache variable (HF_HOME) left at
    the old path would make the server fail at its first write. A value that becomes mlgitops' own default
    (pods.HOME_VARS) is left to mlgitops."""
    env = out.get("env", {})
    for name, value in list(env.items()):
        new = _relocated(pod.moved, value)
        if new is None or name not in pod.env_at:
            continue
        own = (name, new) in pods.HOME_VARS
        if own:
            del env[name]
        else:
            env[name] = new
        pod.note(CHANGED, f"{pod.env_at[name]}/value", f"env {name}={value}: the path moved with its mount to "
                 f"{new}" + (" (mlgitops sets it so by default)" if own else "") + ": the root filesystem is "
                 "read-only, so the old path cannot be written", covers=False)
    if "env" in out and not env:
        del out["env"]


def _relocated(moved: dict[str, str], value: Any) -> str | None:
    """Where an absolute path goes when it is a moved mount path or under one (the longest that matches)."""
    if not isinstance(value, str) or not value.startswith("/"):
        return None
    path = value.rstrip("/") or "/"
    for old in sorted(moved, key=len, reverse=True):
        base = old.rstrip("/") or "/"
        if path == base or path.startswith(base + "/"):
            return moved[old] + path[len(base):]
    return None


def extra_containers(pod: Pod, section: str) -> dict[str, Any]:
    """initContainers and sidecars from the pod's init containers and its containers beside the model's."""
    out: dict[str, Any] = {}
    for i, c in enumerate(as_list(pod.spec.get("initContainers"))):
        if isinstance(c, dict) and c.get("name") == "storage-initializer":  # model.fetch's own initializer
            pod.note(DROPPED, f"{pod.pointer}/initContainers/{i}", "the weights initializer (storage-initializer): "
                     "not carried over", "set model.fetch to download model.uri before the server starts")
        elif isinstance(c, dict):
            key = "sidecars" if c.get("restartPolicy") == "Always" else "initContainers"
            out.setdefault(key, []).append(_container(pod, f"{pod.pointer}/initContainers/{i}", c, section))
    for i, c in enumerate(as_list(pod.spec.get("containers"))):
        if isinstance(c, dict) and i != pod.index:
            at = f"{pod.pointer}/containers/{i}"
            pod.note(CHANGED, at, f"container '{c.get('name')}' becomes a native sidecar (an init container "
                     "that keeps running, Kubernetes 1.29+): it starts before the model server and stops after it",
                     covers=False)
            out.setdefault("sidecars", []).append(_container(pod, at, c, section))
    return out


def _container(pod: Pod, at: str, c: dict[str, Any], section: str) -> dict[str, Any]:
    out: dict[str, Any] = {k: c[k] for k in ("name", "image") if isinstance(c.get(k), str)}
    out |= {key: [str(a) for a in c[key]] for key in ("command", "args") if isinstance(c.get(key), list)}
    env, secrets = environment(pod, section, c, at)
    out.update({k: v for k, v in (("env", env), ("secrets", secrets)) if v})
    pod.use(*(f"{at}/{k}" for k in _SIDECAR_KEYS if k in c))
    out.update(_container_resources(pod, at, c))
    mounts = _container_mounts(pod, at, c)
    if mounts:
        out["volumeMounts"] = mounts
    return out


def _container_mounts(pod: Pod, at: str, c: dict[str, Any]) -> list[dict[str, Any]]:
    mounts = []
    for j, m in enumerate(as_list(c.get("volumeMounts"))):
        use_shape(pod.obj, f"{at}/volumeMounts/{j}", m, _MOUNT)
        if isinstance(m, dict) and m.get("mountPath") != "/tmp":  # mlgitops mounts /tmp itself
            mounts.append({k: m[k] for k in ("name", "mountPath", "readOnly") if k in m})
    return mounts


def _container_resources(pod: Pod, at: str, c: dict[str, Any]) -> dict[str, Any]:
    """An extra container's requests (its limits where it has only those): the spec's limits equal them."""
    resources = as_map(c.get("resources"))
    requests, limits = as_map(resources.get("requests")), as_map(resources.get("limits"))
    if "resources" in c:
        use_shape(pod.obj, f"{at}/resources", c["resources"], _SIDECAR_RESOURCES)
    if limits and requests and limits != requests:
        pod.note(CHANGED, f"{at}/resources/limits", f"container '{c.get('name')}': its limits become its requests "
                 "(a sidecar's limits equal its requests)", covers=False)
    picked = {k: (requests or limits)[k] for k in ("cpu", "memory") if k in (requests or limits)}
    return {"resources": picked} if picked else {}


def shared_memory_off(pod: Pod, out: dict[str, Any]) -> None:
    """The spec's memory is the container's own: mlgitops adds /dev/shm (memory-backed) to the request and the
    limit (render/workload.py, render/training.py), so it comes off the pod's figures here and the pod asks for
    the same in the end. Serving and training alike; said once, at the container's resources."""
    shm = quantity.value(out.get("sharedMemory"))
    resources = out.get("resources", {})
    changed = []
    for what, part in (("request", resources), ("limit", resources.get("limits", {}))):
        memory = quantity.value(part.get("memory"))
        if shm and memory is not None and memory > shm:
            before, part["memory"] = part["memory"], format_bytes(-((shm - memory) // _MI) * _MI)  # whole Mi, up
            changed.append(f"{what} {before} -> {part['memory']}")
    if changed:
        pod.note(CHANGED, f"{pod.cpointer}/resources", f"memory {', '.join(changed)}: /dev/shm "
                 f"({out['sharedMemory']}) is memory-backed and counted in the pod's memory, so the spec says the "
                 "container's own and mlgitops adds sharedMemory back to the request and the limit (the pod asks "
                 "for the same)", covers=False)
