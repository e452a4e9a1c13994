"""Where the model's weights come from: its PersistentVolumeClaim, or an init container fetching `model.uri`.

`attach` adds the volumes (and the init container) to the pod `workload.deployment` builds; the claim itself
is its own object, protected from GitOps pruning unless the spec opts out.
"""

from __future__ import annotations

from typing import Any

from mlgitops.kube.annotations import PRUNE_PROTECTION
from mlgitops.kube.quantity import add_bytes
from mlgitops.kube.quantity import text as quantity
from mlgitops.render.context import Context
from mlgitops.render.labels import metadata
from mlgitops.render.manifest import Manifest
from mlgitops.spec import pods

CLAIM_VOLUME = "model-storage"
FETCH_VOLUME = "model-fetch"
INITIALIZER = "storage-initializer"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"


def pvc_name(ctx: Context) -> str:
    return f"{ctx.name}-storage"


def persistent_volume_claim(ctx: Context) -> Manifest | None:
    storage = ctx.serving.get("storage")
    if not storage:
        return None
    spec: dict[str, Any] = {"accessModes": [storage["accessMode"]], "resources": {"requests": {"storage": quantity(storage["size"])}}}
    if "storageClassName" in storage:
        spec["storageClassName"] = storage["storageClassName"]
    source = storage.get("dataSource")
    if source:
        spec["dataSource"] = {"kind": source["kind"], "name": source["name"]}
        if source["kind"] == "VolumeSnapshot":
            spec["dataSource"]["apiGroup"] = SNAPSHOT_GROUP
    if "volumeName" in storage:
        spec["volumeName"] = storage["volumeName"]
    annotations = {} if storage["prune"] else dict(PRUNE_PROTECTION)
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": metadata(ctx, pvc_name(ctx), annotations=annotations), "spec": spec}
    fields = {"/spec/accessModes": "/spec/serving/storage/accessMode",
              "/spec/dataSource": "/spec/serving/storage/dataSource",
              "/spec/volumeName": "/spec/serving/storage/volumeName",
              "/metadata/annotations": "/spec/serving/storage/prune"}
    return Manifest(obj, "pvc.yaml", "/spec/serving/storage", fields)


def attach(ctx: Context, pod: dict[str, Any]) -> dict[str, str]:
    """Mount the claim and the fetched weights into the pod's first container; the fields they trace to."""
    storage = ctx.serving.get("storage")
    if storage:
        _attach_claim(ctx, storage, pod)
    fetch = ctx.spec["model"].get("fetch")
    if fetch is not None and ctx.storage_initializer:  # without an initializer the spec was refused
        return _attach_fetch(ctx, fetch, pod)
    return {}


def _attach_claim(ctx: Context, storage: dict[str, Any], pod: dict[str, Any]) -> None:
    mount = {"mountPath": storage["mountPath"], "name": CLAIM_VOLUME}
    if storage["readOnly"]:
        mount["readOnly"] = True
    pod["containers"][0]["volumeMounts"].append(mount)
    pod["volumes"].append({"name": CLAIM_VOLUME, "persistentVolumeClaim": {"claimName": pvc_name(ctx)}})


def _attach_fetch(ctx: Context, fetch: dict[str, Any], pod: dict[str, Any]) -> dict[str, str]:
    """The initializer fills an emptyDir the server mounts read-only (KServe's storage-initializer pattern)."""
    container, path = pod["containers"][0], fetch["mountPath"]
    pod["initContainers"] = [*pod.get("initContainers", []), _initializer(ctx, fetch)]
    container["volumeMounts"].append({"mountPath": path, "name": FETCH_VOLUME, "readOnly": True})
    container["env"].append({"name": pods.FETCH_ENV, "value": path})
    size = fetch.get("sizeLimit", ctx.spec["model"].get("size"))  # the weights' size, when fetch does not say
    empty = {"sizeLimit": quantity(size)} if size is not None else {}
    if empty:  # the weights live on the node's disk: the pod asks for the room (and its limit covers it)
        resources = container["resources"]
        for part in ("requests", "limits"):
            if part == "requests" or "ephemeral-storage" in resources[part]:
                held = resources[part].get("ephemeral-storage")
                resources[part]["ephemeral-storage"] = add_bytes(held, empty["sizeLimit"]) if held else empty["sizeLimit"]
    pod["volumes"].append({"emptyDir": empty, "name": FETCH_VOLUME})
    init = f"/spec/template/spec/initContainers/{len(pod['initContainers']) - 1}"
    return {init: "/spec/model/fetch", f"{init}/env": "/spec/model/fetch/env"}


def _fetch_env(fetch: dict[str, Any]) -> list[dict[str, Any]]:
    env = [{"name": k, "value": v} for k, v in sorted(fetch.get("env", {}).items())]
    for ref in fetch.get("secrets", []):
        key_ref = {"name": ref["secret"], "key": ref["key"]}
        if ref["optional"]:
            key_ref["optional"] = True
        env.append({"name": ref["env"], "valueFrom": {"secretKeyRef": key_ref}})
    return env


def _initializer(ctx: Context, fetch: dict[str, Any]) -> dict[str, Any]:
    """KServe's storage-initializer contract: arguments `<uri> <destination folder>`."""
    init = ctx.storage_initializer or {}
    resources, path = init["resources"], fetch["mountPath"]
    container = {
        "args": [ctx.spec["model"]["uri"], path],
        "image": init["image"],
        "imagePullPolicy": "IfNotPresent",
        "name": INITIALIZER,
        "resources": {"limits": dict(resources["limits"]), "requests": dict(resources["requests"])},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True, "runAsNonRoot": True},  # restricted, whatever the server's
        "terminationMessagePolicy": "FallbackToLogsOnError",  # a failed download shows in `kubectl describe pod`
        "volumeMounts": [{"mountPath": path, "name": FETCH_VOLUME}, {"mountPath": "/tmp", "name": "tmp"}],
    }
    env = _fetch_env(fetch)
    if env:
        container["env"] = env
    return container
