"""The sync engine registry: each engine renders its cluster objects and decodes its own paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlgitops.render.engines import CHOICES, ENGINES, owner
from mlgitops.render.sync import sync_objects
from mlgitops.render.units import ClusterPath, Unit
from mlgitops.spec.config import parse_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config():
    raw = (ROOT / "mlgitops.yaml").read_bytes() + b"sync:\n  engine: both\n"
    found, problems = parse_config("mlgitops.yaml", raw)
    assert found is not None, problems
    return found


def test_both_means_every_registered_engine(config):
    engines = {ClusterPath.parse(f"{o.folder}/{o.file}").engine for o in sync_objects(config, [("m", "models/m.yaml")])}
    assert engines == set(ENGINES)


@pytest.mark.parametrize("name", list(ENGINES))
def test_each_engine_renders_and_decodes_its_own_paths(config, name):
    engine = ENGINES[name]
    envs = config.environments
    placed = engine.objects(config, envs, [("m", "models/m.yaml")], frozenset({("m", envs[0].name)}))
    assert placed, name
    units = {owner(f"clusters/c/{name}/{file}") for file, _, _ in placed} - {None}
    if engine.unit_files:  # a file per unit, serving and training, decoded back to the model and environment
        assert {(o.model, o.env) for o in units} == {("m", e.name) for e in envs}
    else:
        assert units == set()
    assert engine.deletion(Unit("m", envs[0].name)), name
    assert engine.namespace_annotations()


def test_the_config_schema_names_every_registered_engine():
    schema = json.loads((ROOT / "schemas/config.schema.json").read_text())
    assert schema["properties"]["sync"]["properties"]["engine"]["enum"] == CHOICES
