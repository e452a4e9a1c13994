"""A serving section's `initContainers` and `sidecars`, hardened as the model container is: the same security
context, a writable /tmp (the root filesystem is read-only), requests equal to limits, the pull policy of the tag.

Sidecars are Kubernetes native sidecars (KEP-753: an init container with `restartPolicy: Always`, beta and on by
default from 1.29): they start before the model container, stop after it, and do not keep a Job's pod alive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mlgitops.kube.quantity import text as quantity
from mlgitops.render.pod import image_pull_policy

Container = dict[str, Any]


def hardened(spec: dict[str, Any], security: dict[str, Any], immutable_tag: str,
             env: list[dict[str, Any]]) -> Container:
    """One container from its spec entry; security is the model container's securityContext."""
    res = spec["resources"]
    amounts = {"cpu": quantity(res["cpu"]), "memory": quantity(res["memory"])}
    container: Container = {
        "name": spec["name"],
        "image": spec["image"],
        "imagePullPolicy": image_pull_policy(spec["image"], immutable_tag),
        "resources": {"limits": dict(amounts), "requests": dict(amounts)},
        "securityContext": dict(security, capabilities={"drop": ["ALL"]}),
        "volumeMounts": [{"mountPath": "/tmp", "name": "tmp"}]
                        + [dict(m) for m in spec.get("volumeMounts", []) if m["mountPath"].rstrip("/") != "/tmp"],
    }
    if env:
        container["env"] = env
    for key in ("command", "args"):
        if key in spec:
            container[key] = list(spec[key])
    return container


def init_containers(serving: Mapping[str, Any], security: dict[str, Any], immutable_tag: str,
                    env_of: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> list[Container]:
    """The pod's initContainers from the spec, in order: the init containers, then the sidecars."""
    inits = [hardened(c, security, immutable_tag, env_of(c)) for c in serving.get("initContainers", [])]
    sidecars = [{**hardened(c, security, immutable_tag, env_of(c)), "restartPolicy": "Always"}
                for c in serving.get("sidecars", [])]
    return inits + sidecars


def origins(serving: Mapping[str, Any], offset: int) -> dict[str, str]:
    """Object pointer -> spec pointer of the spec's init containers and sidecars, placed from index offset."""
    entries = [f"/spec/serving/initContainers/{i}" for i in range(len(serving.get("initContainers", [])))]
    entries += [f"/spec/serving/sidecars/{i}" for i in range(len(serving.get("sidecars", [])))]
    out: dict[str, str] = {}
    for index, spec_pointer in enumerate(entries, start=offset):
        out[f"/spec/template/spec/initContainers/{index}"] = spec_pointer
        out[f"/spec/template/spec/initContainers/{index}/image"] = f"{spec_pointer}/image"
    return out
