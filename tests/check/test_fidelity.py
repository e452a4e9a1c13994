"""Every overlay, built alone by the real kustomize, is exactly what the generator meant it to be."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT
from mlgitops.kube import kustomize
from mlgitops.spec.repo import Repo
from mlgitops.tree.generation import build
from mlgitops.tree.layout import intended

RESULT = build(Repo(ROOT))
# every serving overlay (a training-only example, models/demand-forecast.yaml, has none: tests/check/test_training_only_check.py)
CASES = [(m, env) for m in RESULT.models for env in RESULT.config.env_names if intended(m, RESULT.config, env)]


def built(env: str, name: str) -> dict:
    out = kustomize.build(ROOT / "overlays" / env / name)
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def without_raw_patches(objects: dict) -> dict:
    """The example's raw prod patch edits topologySpreadConstraints; compare everything else."""
    for obj in objects.values():
        obj.get("spec", {}).get("template", {}).get("spec", {}).pop("topologySpreadConstraints", None)
    return objects


@pytest.mark.slow
@pytest.mark.parametrize("model,env", CASES, ids=[f"{env}/{m.name}" for m, env in CASES])
def test_overlay_builds_to_the_intended_manifests(model, env):
    objects = built(env, model.name)
    want = {m.key: m.obj for m in intended(model, RESULT.config, env)}
    if model.patches.get(env):
        objects, want = without_raw_patches(objects), without_raw_patches(want)
    assert objects == want


def test_the_raw_patch_is_applied_last():
    objects = built("prod", "fraud-detector")
    spread = objects[("Deployment", "fraud-detector")]["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "topology.kubernetes.io/zone"
