"""Where every model stands, per environment, from the specs alone: version, image, pods, GPUs. Pure.

One row per (model, environment), plain data for `mlgitops status` to print. Flags what a release
manager must see before merging: an environment running a version its predecessor (the previous
environment of mlgitops.yaml) never ran, going by the spec's history.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mlgitops.kube import weights
from mlgitops.kube.images import split_image
from mlgitops.spec.config import Config
from mlgitops.spec.model import BASE, Model, serves
from mlgitops.spec.training import trains


@dataclass(frozen=True)
class Row:
    model: str
    environment: str
    version: str
    image: str  # the full reference
    image_short: str  # name:tag, or name@ a short digest: for tables
    pods: str  # "3", or "2-10" under an HPA
    max_pods: int
    gpus: int  # GPUs per pod x the most pods
    canary: str = ""
    weights: str = ""  # the weights the pods load: model.uri with {version} resolved ("" baked into the image)
    weights_pinned: str = ""  # how their content is pinned: digest, commit, immutable; "" mutable (kube/weights.py)
    canary_version: str = ""
    canary_weights: str = ""
    canary_weights_pinned: str = ""
    drift: bool = False  # the committed tree differs from what the specs generate, for this environment
    flags: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flags": list(self.flags)}


def short_image(image: str) -> str:
    name, tag, digest = split_image(image)
    if digest:
        return f"{name.rsplit('/', 1)[-1]}@{digest.removeprefix('sha256:')[:12]}"
    return f"{name.rsplit('/', 1)[-1]}:{tag or 'latest'}"


def _pods(serving: dict[str, Any]) -> tuple[str, int]:
    scaling = serving.get("autoscaling")
    if scaling:
        return f"{scaling.get('minReplicas', 1)}-{scaling['maxReplicas']}", int(scaling["maxReplicas"])
    replicas = int(serving.get("replicas", 1))
    return str(replicas), replicas


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"[0-9]+", version))


def _older(a: str, b: str) -> bool:
    """a is an older version than b, comparing their numbers (1.9 < 1.10); False when either has none."""
    return bool(_numbers(a)) and bool(_numbers(b)) and _numbers(a) < _numbers(b)


def _skipped_stage(model: Model, before: str, env: str, version: str, canary: dict[str, Any] | None,
                   history: dict[tuple[str, str], set[str]] | None) -> list[str]:
    """Flags for versions env runs that the environment before it never ran (now or in its history)."""
    flags = []
    ran = set(history.get((model.name, before), set())) if history else set()
    ran.add(str(model.effective[before]["spec"]["model"]["version"]))
    earlier_canary = (model.effective[before]["spec"].get("serving") or {}).get("canary")
    if earlier_canary:  # a canary runs its version too
        ran.add(str(earlier_canary["version"]))
    if version not in ran:
        flags.append(f"{env} runs {version}, which {before} never ran")
    if canary and str(canary["version"]) not in ran:
        flags.append(f"the {env} canary runs {canary['version']}, which {before} never ran")
    return flags


def lineage(spec: dict[str, Any]) -> dict[str, str]:
    """The weights an environment's pods (and its canary's) load, and how their content is pinned."""
    model = spec["model"]
    immutable, uri = bool(model.get("immutable")), str(model.get("uri") or "")
    out = {"weights": uri, "weights_pinned": weights.pinned(uri, immutable)}
    canary = spec["serving"].get("canary")
    if canary:
        canary_uri = str(canary.get("uri") or uri)
        out.update(canary_version=str(canary["version"]), canary_weights=canary_uri,
                   canary_weights_pinned=weights.pinned(canary_uri, immutable))
    return out


def rows(models: list[Model], config: Config, drifted: set[tuple[str, str]],
         history: dict[tuple[str, str], set[str]] | None = None) -> list[Row]:
    """history: (model, environment) -> every version that environment's spec ever said (git log)."""
    out = []
    envs = config.env_names
    for model in sorted(models, key=lambda m: m.name):
        if not serves(model.effective[BASE]["spec"]):
            out += _training_rows(model, config, drifted)
            continue
        for i, env in enumerate(envs):
            spec = model.effective[env]["spec"]
            serving = spec["serving"]
            pods, most = _pods(serving)
            gpu = int((serving.get("resources") or {}).get("gpu") or 0)
            version = str(spec["model"]["version"])
            canary = serving.get("canary")
            flags = _skipped_stage(model, envs[i - 1], env, version, canary, history) if i > 0 else []
            shown = ""
            if canary:
                shown = f"{canary['version']} ({canary['weight']}%)"
                most_canary = int(canary.get("replicas", 1))
                gpu_total = gpu * (most + most_canary)
                if _older(str(canary["version"]), version):
                    flags.append(f"the {env} canary {canary['version']} is older than its stable version {version}")
            else:
                gpu_total = gpu * most
            out.append(Row(model.name, env, version, serving["image"], short_image(serving["image"]), pods, most,
                           gpu_total, canary=shown, drift=(model.name, env) in drifted, flags=tuple(flags),
                           **lineage(spec)))
    return out


def _training_rows(model: Model, config: Config, drifted: set[tuple[str, str]]) -> list[Row]:
    """A training-only model: a row per environment that trains, with its training image; no pod serves (pods
    "-"), so no weights are loaded (status adds the GPUs its runs take)."""
    out = []
    for env in config.env_names:
        spec = model.effective[env]["spec"]
        if not trains(spec, model.effective[BASE]["spec"], config.env_names, env):
            continue
        image = spec["training"]["image"]
        out.append(Row(model.name, env, str(spec["model"]["version"]), image, short_image(image), "-", 0, 0,
                       drift=(model.name, env) in drifted))
    return out
