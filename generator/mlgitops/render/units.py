"""The deployable unit — a model in an environment, serving or training — and the one codec for the paths
of the generated tree. Every module that builds or takes apart a path of `base/`, `overlays/` or
`clusters/` asks this one; nothing else splits such a path.

    base/<model>/<file>                                     the model's base (every environment's)
    overlays/<env>/<model>/<file>                           a serving unit's folder
    overlays/<env>/<model>/training/<file>                  a training unit's folder (its own kustomization)
    clusters/<cluster>/<engine>/<file>                      one sync engine's objects for one cluster
    clusters/<cluster>/<engine>/<env>/[training/]<model>.yaml   a unit's own sync object (engines that write one)
    clusters/<cluster>/<engine>/<env>/extras/<model>.yaml   a serving unit's second sync object (its CRD extras)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

BASE, OVERLAYS, CLUSTERS = "base", "overlays", "clusters"
SERVING: Final = "serving"
TRAINING: Final = "training"
EXTRAS: Final = "extras"  # a serving unit's objects whose CRD may be missing, synced apart (Flux)
SLO: Final = "slo"  # a serving unit's plain SLO rule file and promtool tests: not kustomize resources
Kind = Literal["serving", "training"]
KUSTOMIZATION = "kustomization.yaml"
# Every field a serving overlay's kustomization holds as generate writes it (tree/overlay.py build). With these
# alone, kustomize's namespace transformer runs after the patches and before nothing that can move an object
# (kustomize api/internal/target/kusttarget.go: PatchStrategicMerge, Patch, then Namespace, ..., ImageTag, and
# Replacement last, which only a `replacements:` field configures), so every namespaced object it builds is in
# the overlay's namespace.
OVERLAY_FIELDS: Final = frozenset({"apiVersion", "kind", "namespace", "resources", "labels", "images", "patches"})


@dataclass(frozen=True, order=True)
class Unit:
    """A model in an environment, serving or training: what one kustomization deploys."""

    model: str
    env: str
    kind: Kind = SERVING

    @property
    def training(self) -> bool:
        return self.kind == TRAINING

    @property
    def folder(self) -> str:
        serving = f"{OVERLAYS}/{self.env}/{self.model}"
        return f"{serving}/{TRAINING}" if self.training else serving

    @property
    def kustomization(self) -> str:
        return f"{self.folder}/{KUSTOMIZATION}"

    @property
    def base_reference(self) -> str:
        """The model's base as a serving overlay's kustomization names it (relative to its folder)."""
        return f"../../../{base_dir(self.model)}"

    def file(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def slo_file(self, name: str) -> str:
        """A file of the serving unit's SLO folder (the overlay's kustomization does not list it)."""
        return f"{self.folder}/{SLO}/{name}"

    def sync_file(self) -> str:
        """Its own sync object's file, relative to clusters/<cluster>/<engine>/."""
        return f"{self.env}/{TRAINING}/{self.model}.yaml" if self.training else f"{self.env}/{self.model}.yaml"

    def extras_sync_file(self) -> str:
        """A serving unit's second sync object (its CRD extras), relative to clusters/<cluster>/<engine>/."""
        return f"{self.env}/{EXTRAS}/{self.model}.yaml"

    @classmethod
    def parse(cls, folder: str) -> Unit | None:
        """overlays/<env>/<model>[/training] -> its unit; None for any other path."""
        parts = folder.split("/")
        if len(parts) == 3 and parts[0] == OVERLAYS and all(parts):
            return cls(parts[2], parts[1])
        if len(parts) == 4 and parts[0] == OVERLAYS and parts[3] == TRAINING and all(parts):
            return cls(parts[2], parts[1], TRAINING)
        return None

    @classmethod
    def at(cls, folder: str) -> Unit:
        """The unit of a folder known to be one (ValueError otherwise)."""
        unit = cls.parse(folder)
        if unit is None:
            raise ValueError(f"not a unit's folder: {folder}")
        return unit

    @classmethod
    def of_file(cls, path: str) -> tuple[Unit, str] | None:
        """A file directly in a unit's folder -> (its unit, the file name); None for any other path."""
        folder, _, name = path.rpartition("/")
        unit = cls.parse(folder)
        return (unit, name) if unit and name else None


def serving_folder_pattern(env: str) -> str:
    """The Go path.Match pattern of an environment's serving folders (Argo CD's git directory generator)."""
    return f"{OVERLAYS}/{env}/*"


def training_folder_pattern(env: str) -> str:
    return f"{OVERLAYS}/{env}/*/{TRAINING}"


def path_segments(path: str) -> list[str]:
    """A folder's segments (Argo CD's `.path.segments`)."""
    return path.split("/")


def path_match(pattern: str, path: str) -> bool:
    """Go's path.Match, as Argo CD's git directory generator uses it: `*` never crosses a `/`."""
    parts, want = path.split("/"), pattern.split("/")
    return len(parts) == len(want) and all(fnmatch.fnmatchcase(p, w) for p, w in zip(parts, want, strict=True))


def is_hidden(path: str) -> bool:
    """Whether any segment is a dotfile or dot-folder (Argo CD's directory generator skips those)."""
    return any(part.startswith(".") for part in path.split("/"))


def base_dir(model: str) -> str:
    return f"{BASE}/{model}"


def base_model(path: str) -> str | None:
    """base/<model>/<...> -> model."""
    parts = path.split("/")
    return parts[1] if parts[0] == BASE and len(parts) > 2 else None


def base_of_file(path: str) -> tuple[str, str] | None:
    """A file under base/<model>/ -> (model, path); None otherwise."""
    model = base_model(path)
    return (model, path) if model else None


@dataclass(frozen=True)
class Owner:
    """Whose a generated file is: a model, and its environment (None: every environment, the base)."""

    model: str
    env: str | None


def overlay_owner(path: str) -> Owner | None:
    """overlays/<env>/<model>/<...> -> (model, env)."""
    parts = path.split("/")
    return Owner(parts[2], parts[1]) if parts[0] == OVERLAYS and len(parts) > 3 else None


def is_overlay_path(path: str) -> bool:
    return path.startswith(f"{OVERLAYS}/")


def is_cluster_path(path: str) -> bool:
    return path.startswith(f"{CLUSTERS}/")


def is_kustomize_path(path: str) -> bool:
    """Under base/ or overlays/: the folders kustomize builds."""
    return path.startswith((f"{BASE}/", f"{OVERLAYS}/"))


def overlay_folders(paths: Iterable[str], skip_models: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """Every folder one or two levels below overlays/<env>/ that holds something (the folders an Argo CD
    git directory generator could match), except those of skip_models."""
    out = set()
    for path in paths:
        parts = path.split("/")
        if parts[0] != OVERLAYS or len(parts) < 4 or parts[2] in skip_models:
            continue
        out.add("/".join(parts[:3]))
        if len(parts) >= 5:
            out.add("/".join(parts[:4]))
    return out


def model_folders(paths: Iterable[str]) -> set[str]:
    """overlays/<env>/<x>/<y> prefixes of every path under overlays/ (for cache keys of what is on disk)."""
    return {"/".join(path.split("/")[:4]) for path in paths if is_overlay_path(path)}


def cluster_root(cluster: str) -> str:
    return f"{CLUSTERS}/{cluster}"


def cluster_folder(cluster: str, engine: str) -> str:
    return f"{cluster_root(cluster)}/{engine}"


def cluster_folder_of(path: str) -> str:
    """clusters/<cluster>/<engine> of a file below it (what one engine applies to one cluster); a
    shorter path is its own folder."""
    return "/".join(path.split("/")[:3])


def cluster_of(path: str) -> str:
    """The <cluster> of a path under clusters/<cluster>/ (a file right under clusters/ is its own)."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == CLUSTERS else path


@dataclass(frozen=True)
class ClusterPath:
    """clusters/<cluster>/<engine>/<rest>."""

    cluster: str
    engine: str
    rest: str

    @property
    def folder(self) -> str:
        """<cluster>/<engine>: each engine's set for a cluster is applied alone."""
        return f"{self.cluster}/{self.engine}"

    @classmethod
    def at(cls, path: str) -> ClusterPath:
        """The parts of a path known to be under clusters/ (ValueError otherwise)."""
        where = cls.parse(path)
        if where is None:
            raise ValueError(f"not under clusters/<cluster>/<engine>/: {path}")
        return where

    @classmethod
    def parse(cls, path: str) -> ClusterPath | None:
        parts = path.split("/", 3)
        return cls(parts[1], parts[2], parts[3]) if len(parts) == 4 and parts[0] == CLUSTERS else None

    def unit(self) -> Unit | None:
        """The unit whose own sync object this is: <env>/<model>.yaml or <env>/training/<model>.yaml."""
        parts = self.rest.split("/")
        if len(parts) == 2:
            return Unit(parts[1].removesuffix(".yaml"), parts[0])
        if len(parts) == 3 and parts[1] == TRAINING:
            return Unit(parts[2].removesuffix(".yaml"), parts[0], TRAINING)
        if len(parts) == 3 and parts[1] == EXTRAS:
            return Unit(parts[2].removesuffix(".yaml"), parts[0])
        return None


def owner(path: str, unit_file_engines: Iterable[str]) -> Owner | None:
    """The model (and environment) a generated file belongs to; None for what every model shares
    (namespaces, sources, ApplicationSets). unit_file_engines: the engines that write a file per unit."""
    model = base_model(path)
    if model is not None:
        return Owner(model, None)
    found = overlay_owner(path)
    if found is not None:
        return found
    where = ClusterPath.parse(path)
    unit = where.unit() if where and where.engine in unit_file_engines else None
    return Owner(unit.model, unit.env) if unit else None
