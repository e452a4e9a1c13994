"""The deployable unit's codec: every folder kind builds and parses back; other paths are not units."""

from __future__ import annotations

import pytest
from mlgitops.render.engines import owner
from mlgitops.render.units import ClusterPath, Owner, Unit, base_dir, base_model, overlay_folders

UNITS = [Unit("fraud", "prod"), Unit("fraud", "prod", "training"), Unit("a-b", "dev")]


@pytest.mark.parametrize("unit", UNITS, ids=str)
def test_a_units_folder_parses_back_to_the_unit(unit):
    assert Unit.parse(unit.folder) == unit
    assert Unit.of_file(unit.kustomization) == (unit, "kustomization.yaml")
    assert Unit.at(unit.folder) == unit


def test_folders_are_the_documented_layout():
    assert Unit("m", "dev").folder == "overlays/dev/m"
    assert Unit("m", "dev", "training").folder == "overlays/dev/m/training"
    assert base_dir("m") == "base/m" and base_model("base/m/deployment.yaml") == "m"


@pytest.mark.parametrize("path", ["overlays/dev", "overlays/dev/m/extra", "base/m", "clusters/c/flux/dev/m",
                                  "overlays//m", "models/m.yaml", "overlays/dev/m/training/x"])
def test_paths_that_are_not_units_are_refused(path):
    assert Unit.parse(path) is None
    with pytest.raises(ValueError):
        Unit.at(path)


def test_a_file_below_a_units_folder_is_not_directly_in_it():
    assert Unit.of_file("overlays/dev/m/training/sub/x.yaml") is None
    assert Unit.of_file("overlays/dev/m/training/job.yaml") == (Unit("m", "dev", "training"), "job.yaml")


@pytest.mark.parametrize("unit", UNITS, ids=str)
def test_a_units_own_sync_file_decodes_to_the_unit(unit):
    where = ClusterPath.parse(f"clusters/east/flux/{unit.sync_file()}")
    assert where is not None and where.folder == "east/flux"
    assert where.unit() == unit
    if not unit.training:  # a serving unit's second sync object (its CRD extras) is the same unit's
        extras = ClusterPath.parse(f"clusters/east/flux/{unit.extras_sync_file()}")
        assert extras is not None and extras.unit() == unit


def test_owner_of_generated_files():
    assert owner("base/m/service.yaml") == Owner("m", None)
    assert owner("overlays/prod/m/kustomization.yaml") == Owner("m", "prod")
    assert owner("clusters/c/flux/prod/training/m.yaml") == Owner("m", "prod")
    assert owner("clusters/c/flux/prod/extras/m.yaml") == Owner("m", "prod")  # its CRD extras' Kustomization
    assert owner("clusters/c/flux/namespace-ml-prod.yaml") is None
    assert owner("clusters/c/argocd/prod/m.yaml") is None  # Argo CD writes no file per unit
    assert owner("mlgitops.yaml") is None


def test_overlay_folders_are_the_model_and_sub_folders_on_disk():
    paths = ["overlays/dev/m/kustomization.yaml", "overlays/dev/m/training/job.yaml", "overlays/dev/x.yaml",
             "overlays/dev/bad/kustomization.yaml"]
    assert overlay_folders(paths, {"bad"}) == {"overlays/dev/m", "overlays/dev/m/training"}


def test_a_serving_units_slo_files_sit_in_its_folder_apart_from_kustomize():
    assert Unit("m", "prod").slo_file("rules.yaml") == "overlays/prod/m/slo/rules.yaml"
