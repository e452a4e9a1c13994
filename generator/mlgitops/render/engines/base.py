"""What every sync engine provides (Flux, Argo CD, ...): one module per engine, listed in ENGINES."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mlgitops.render.units import ClusterPath, Unit
from mlgitops.report.findings import Finding, Position
from mlgitops.spec.config import Config, Environment

PART_OF = {"app.kubernetes.io/managed-by": "mlgitops"}
LABEL_VALUE_MAX = 63  # a name the engine writes into a label value (Kubernetes' limit)
Locate = Callable[[str], tuple[str, Position]]  # model name -> where its name is written


@dataclass(frozen=True)
class SyncView:
    """What an engine's check of its objects sees: every object under clusters/ (by path), the unit
    folders the specs generate, the folders one or two levels below overlays/<env>/ on disk, and where
    each model's name is written."""

    objects: dict[str, dict[str, Any]]
    generated: set[str]
    on_disk: set[str]
    locate: Locate

    def names(self, folder: str, kind: str) -> set[str]:
        """The names of the objects of a kind under one engine's folder of a cluster (`<cluster>/<engine>`)."""
        return self._names_by_folder_and_kind.get((folder, kind), set())

    @functools.cached_property
    def _names_by_folder_and_kind(self) -> dict[tuple[str, str], set[str]]:
        """Indexed once per view: asking each object's check to scan every object made a check of N models
        quadratic (1,000 models: ~100 s of CPU)."""
        out: dict[tuple[str, str], set[str]] = {}
        for path, obj in self.objects.items():
            kind, metadata = obj.get("kind"), obj.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            if isinstance(kind, str) and isinstance(name, str):
                out.setdefault((ClusterPath.at(path).folder, kind), set()).add(name)
        return out
Models = list[tuple[str, str]]  # (model name, spec path)


@dataclass(frozen=True)
class UnitFacts:
    """What an engine needs to know of a serving unit's objects."""

    rollout: int = 0  # seconds its normal rollout may take (spec/pods.rollout_seconds)
    extras: bool = False  # it has objects whose CRD may be missing (labels.CRD_EXTRA: ServiceMonitor, HTTPRoute)


Facts = dict[tuple[str, str], UnitFacts]  # (model, environment) of every serving unit -> its facts (None: all serve)
Placed = list[tuple[str, dict[str, Any], str]]  # (file under clusters/<cluster>/<engine>/, object, source)


class Engine(Protocol):
    name: str
    unit_files: bool  # writes one file per unit (clusters/<cluster>/<engine>/<env>/[training/]<model>.yaml)
    needs_git_url: bool  # its objects name the repository (`git.url` required)
    init_note: str  # what `mlgitops init` tells a user to do with clusters/<cluster>/<engine>

    def namespace_annotations(self) -> dict[str, str]:
        """What keeps a shared Namespace out of prune and applies it first."""

    def objects(self, config: Config, envs: list[Environment], models: Models,
                training: frozenset[tuple[str, str]], facts: Facts | None = None) -> Placed:
        """The engine's objects for one cluster: per unit (models' files) and shared (config's)."""

    def deletion(self, unit: Unit) -> str:
        """What the engine does when the unit's folder leaves Git, as the PR guard words it."""

    def check(self, path: str, obj: dict[str, Any], view: SyncView) -> list[Finding]:
        """Findings on one of its objects under clusters/ (beyond schemas): what it points at exists."""
