"""The sync engines, by the name `sync.engine` gives them. A new engine is one module and one entry here."""

from __future__ import annotations

from mlgitops.render.engines import argocd, flux
from mlgitops.render.engines.base import Engine
from mlgitops.render.units import Owner
from mlgitops.render.units import owner as _owner

ENGINES: dict[str, Engine] = {e.name: e for e in (flux.ENGINE, argocd.ENGINE)}
BOTH = "both"  # sync.engine: every engine
CHOICES = [*ENGINES, BOTH]  # the values of sync.engine (config.schema.json's enum)


def named(choice: str) -> list[Engine]:
    """The engines a value of sync.engine means."""
    return list(ENGINES.values()) if choice == BOTH else [ENGINES[choice]]


def owner(path: str) -> Owner | None:
    """The model (and environment) a generated file belongs to, the engines' own sync files included."""
    return _owner(path, [name for name, engine in ENGINES.items() if engine.unit_files])
