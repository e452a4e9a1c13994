"""The parts of a model's pod that make it behave in a real cluster: draining, writable scratch space,
/dev/shm, thread pools sized to the CPU limit, spreading, priority and runtime classes, pull policy.

Each function returns plain data that `workload.deployment` places into the pod or its container.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from mlgitops.kube.images import split_image
from mlgitops.render.context import Context
from mlgitops.spec import pods

CONTAINER = "model-server"
HOME = pods.HOME
THREAD_VARS = pods.THREAD_VARS
HOME_VARS = pods.HOME_VARS
MATCH_LABEL_KEYS_MINOR = 27  # matchLabelKeys in topologySpreadConstraints: beta, on by default, from 1.27
DRAIN_SECONDS = pods.DRAIN_SECONDS
SPREAD_KEYS = (("zone", "topology.kubernetes.io/zone"), ("node", "kubernetes.io/hostname"))


def default_env(ctx: Context) -> list[dict[str, Any]]:
    """Thread counts from the CPU limit (a resourceFieldRef rounds up: 500m -> 1) and a writable HOME;
    a name the spec sets itself (in env or secrets) is left to the spec."""
    return section_env(ctx.serving, CONTAINER)


def section_env(section: Mapping[str, Any], container: str) -> list[dict[str, Any]]:
    """default_env for the container of any spec section (serving, training)."""
    taken = set(section.get("env", {})) | {s["env"] for s in section.get("secrets", [])}
    # without a CPU limit (limits.cpu: false) limits.cpu reads the node's cores: the request sizes them then
    limits = (section.get("resources") or {}).get("limits") or {}
    bound = "requests.cpu" if limits.get("cpu") is False else "limits.cpu"
    cpu = {"resourceFieldRef": {"containerName": container, "divisor": "1", "resource": bound}}
    env = [{"name": name, "valueFrom": cpu} for name in THREAD_VARS]
    env += [{"name": name, "value": value} for name, value in HOME_VARS]
    return [e for e in env if e["name"] not in taken]


def spec_env(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"name": name, "value": value}
    source = {kind: dict(ref) for kind, ref in value["valueFrom"].items()}
    if "divisor" in source.get("resourceFieldRef", {}):
        source["resourceFieldRef"]["divisor"] = str(source["resourceFieldRef"]["divisor"])
    return {"name": name, "valueFrom": source}


def pre_stop(ctx: Context) -> dict[str, Any] | None:
    shutdown = ctx.serving["shutdown"]
    if "preStopCommand" in shutdown:  # the spec's own drain command replaces the pause
        return {"exec": {"command": list(shutdown["preStopCommand"])}}
    kind = shutdown.get("preStop") or ("sleep" if ctx.kubernetes_minor >= pods.SLEEP_ACTION_MINOR else "none")
    seconds = shutdown["preStopSleepSeconds"]
    if kind == "sleep":
        return {"sleep": {"seconds": seconds}}
    if kind == "exec":
        return {"exec": {"command": ["sleep", str(seconds)]}}
    return None


def grace_period(ctx: Context) -> int:
    shutdown = ctx.serving["shutdown"]
    return cast("int", shutdown.get("gracePeriodSeconds", shutdown["preStopSleepSeconds"] + DRAIN_SECONDS))


def volumes(ctx: Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The scratch volumes and their mounts: size-limited /tmp and HOME, memory-backed /dev/shm."""
    scratch = ctx.serving["scratch"]
    vols = [{"emptyDir": {"sizeLimit": str(scratch["tmpSize"])}, "name": "tmp"},
            {"emptyDir": {"sizeLimit": pods.home_size(ctx.spec)}, "name": "home"}]
    mounts = [{"mountPath": "/tmp", "name": "tmp"}, {"mountPath": HOME, "name": "home"}]
    shm = pods.shared_memory(ctx.spec)
    if shm:
        vols.append({"emptyDir": {"medium": "Memory", "sizeLimit": shm}, "name": "dshm"})
        mounts.append({"mountPath": "/dev/shm", "name": "dshm"})
    return vols, mounts


def topology_spread(ctx: Context) -> list[dict[str, Any]]:
    """Soft zone and node spreading of the pods of one rollout, where more than one pod can run. Before
    Kubernetes 1.27 matchLabelKeys is off, so old and new pods of a rollout are balanced together."""
    if ctx.max_pods < 2:
        return []
    spread = ctx.serving["topologySpread"]
    extra = {"matchLabelKeys": ["pod-template-hash"]} if ctx.kubernetes_minor >= MATCH_LABEL_KEYS_MINOR else {}
    return [{"labelSelector": {"matchLabels": ctx.selector}, **extra, "maxSkew": 1, "topologyKey": key,
             "whenUnsatisfiable": spread[name]}
            for name, key in SPREAD_KEYS if spread[name] != "Off"]


def classes(ctx: Context) -> dict[str, Any]:
    """priorityClassName and (GPU pods) runtimeClassName: the spec's, else the environment's."""
    out = {}
    priority = ctx.serving.get("priorityClassName", ctx.scheduling.get("priorityClassName"))
    runtime = ctx.serving.get("runtimeClassName",
                              ctx.scheduling.get("gpuRuntimeClassName") if ctx.gpu_pods else None)
    if priority:
        out["priorityClassName"] = priority
    if runtime:
        out["runtimeClassName"] = runtime
    return out


def pull_policy(ctx: Context) -> str:
    """IfNotPresent for a digest or a version tag; Always for a tag that may move (latest, main, dev)."""
    if "imagePullPolicy" in ctx.serving:
        return ctx.serving["imagePullPolicy"]
    return image_pull_policy(ctx.serving["image"], ctx.immutable_tag)


def image_pull_policy(image: str, immutable_tag: str) -> str:
    """IfNotPresent for an image pinned by digest or by a tag matching immutable_tag, else Always."""
    _, tag, digest = split_image(image)
    if digest or re.match(immutable_tag, tag or ""):
        return "IfNotPresent"
    return "Always"
