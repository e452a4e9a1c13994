"""What every sync engine provides (Flux, Argo CD, ...): one module per engine, listed in ENGINES."""

from __future__ import annotations

from typing import Protocol

from mlgitops.render.units import Unit
from mlgitops.spec.config import Config, Environment

PART_OF = {"app.kubernetes.io/managed-by": "mlgitops"}
Models = list[tuple[str, str]]  # (model name, spec path)
Placed = list[tuple[str, dict, str]]  # (file under clusters/<cluster>/<engine>/, object, source)


class Engine(Protocol):
    name: str
    unit_files: bool  # writes one file per unit (clusters/<cluster>/<engine>/<env>/[training/]<model>.yaml)
    needs_git_url: bool  # its objects name the repository (`git.url` required)
    init_note: str  # what `mlgitops init` tells a user to do with clusters/<cluster>/<engine>

    def namespace_annotations(self) -> dict[str, str]:
        """What keeps a shared Namespace out of prune and applies it first."""

    def objects(self, config: Config, envs: list[Environment], models: Models,
                training: frozenset[tuple[str, str]]) -> Placed:
        """The engine's objects for one cluster: per unit (models' files) and shared (config's)."""

    def deletion(self, unit: Unit) -> str:
        """What the engine does when the unit's folder leaves Git, as the PR guard words it."""
