"""The sync engine registry: each engine renders its cluster objects and decodes its own paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlgitops.render.engines import CHOICES, ENGINES, argocd, flux, owner
from mlgitops.render.engines.base import SyncView
from mlgitops.render.sync import sync_objects
from mlgitops.render.units import ClusterPath, Unit
from mlgitops.report.findings import Position
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


def _view(objects: dict, generated: set[str], on_disk: set[str] = frozenset()) -> SyncView:  # type: ignore[assignment]
    return SyncView(objects, generated, set(on_disk), lambda model: ("models/m.yaml", Position(1, 1)))


def test_flux_checks_that_a_kustomization_syncs_a_generated_unit(config):
    env = config.environments[0]
    obj = flux.flux_kustomization(config, env, "m")
    path = f"clusters/c/flux/{Unit('m', env.name).sync_file()}"
    view = _view({path: obj}, {Unit("m", env.name).folder})
    assert ENGINES["flux"].check(path, obj, view) == []
    found = ENGINES["flux"].check(path, obj, _view({path: obj}, set()))
    message = f"Kustomization m-{env.name} syncs overlays/{env.name}/m, which no spec generates"
    assert [f.message for f in found] == [message]


def test_flux_checks_that_depends_on_names_a_kustomization_of_the_same_cluster(config):
    env = config.environments[0]
    a, b = flux.flux_kustomization(config, env, "a"), flux.flux_kustomization(config, env, "b")
    a["spec"]["dependsOn"] = [{"name": b["metadata"]["name"]}]
    path_a, path_b = (f"clusters/c/flux/{Unit(m, env.name).sync_file()}" for m in ("a", "b"))
    generated = {Unit("a", env.name).folder, Unit("b", env.name).folder}
    assert ENGINES["flux"].check(path_a, a, _view({path_a: a, path_b: b}, generated)) == []
    elsewhere = f"clusters/other/flux/{Unit('b', env.name).sync_file()}"  # the same name, another cluster
    found = ENGINES["flux"].check(path_a, a, _view({path_a: a, elsewhere: b}, generated))
    assert [f.message for f in found] == [f"Kustomization a-{env.name} depends on b-{env.name}, which cluster "
                                          "c/flux does not have"]
    nameless = {"kind": "Kustomization", "metadata": {}}  # a hand-written object without a name: no crash
    found = ENGINES["flux"].check(path_a, a, _view({path_a: a, "clusters/c/flux/x.yaml": nameless}, generated))
    assert len(found) == 1


def test_argocd_checks_that_its_applicationset_matches_only_generated_folders(config):
    env = config.environments[0]
    obj = argocd.application_set(config, env)
    path = f"clusters/c/argocd/applicationset-{env.name}.yaml"
    unit = Unit("m", env.name)
    assert ENGINES["argocd"].check(path, obj, _view({path: obj}, {unit.folder}, {unit.folder})) == []
    stray = f"overlays/{env.name}/stray"
    found = ENGINES["argocd"].check(path, obj, _view({path: obj}, {unit.folder}, {unit.folder, stray}))
    assert [f.file for f in found] == [stray]
    assert ENGINES["flux"].check(path, obj, _view({path: obj}, set())) == []  # not a Flux object


def test_a_flux_timeout_is_the_configs_unless_the_rollout_needs_more(config):
    assert config.sync["timeout"] == "15m"
    assert flux.timeout(config, 300) == "15m"  # a 5-minute rollout: the config's
    assert flux.timeout(config, 9000) == "151m"  # six GPU pods one at a time, 1,500 s each, + a minute to apply
    env = config.environments[0]
    assert flux.flux_training_kustomization(config, env, "m")["spec"]["timeout"] == "15m"  # wait: false
