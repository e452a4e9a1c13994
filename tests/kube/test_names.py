"""The name rules of the kinds mlgitops generates, from one table (kube/names.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from mlgitops.kube import names

ROOT = Path(__file__).resolve().parents[2]


def test_the_model_schema_holds_the_model_name_rule_of_the_table():
    field = json.loads((ROOT / "schemas/model.schema.json").read_text())["properties"]["metadata"]["properties"]["name"]
    assert field["pattern"] == names.MODEL_NAME.pattern and field["maxLength"] == names.MODEL_NAME.max_length


@pytest.mark.parametrize(("kind", "name", "refused"), [
    ("Service", "3d-trainer", "must be a DNS-1035 label"),  # the API server refuses it: it starts with a digit
    ("Deployment", "3d-trainer", None),  # a DNS-1123 subdomain may
    ("Namespace", "ml.prod", "must be a DNS-1123 label"),
    ("ConfigMap", "ml.prod", None),
    ("CronJob", "x" * 53, "at most 52 characters"),
    ("Service", "x" * 64, "at most 63 characters"),
])
def test_each_kind_has_its_rule(kind, name, refused):
    problem = names.problem(kind, name)
    assert (problem is None) if refused is None else (refused in str(problem))


def test_every_object_of_the_example_tree_has_a_name_its_kind_allows():
    checked = 0
    for path in sorted((ROOT / "base").rglob("*.yaml")) + sorted((ROOT / "clusters").rglob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        if obj.get("kind") and obj.get("metadata", {}).get("name"):
            assert names.problem(obj["kind"], obj["metadata"]["name"]) is None, path
            checked += 1
    assert checked > 30
