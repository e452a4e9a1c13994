"""The change plan of `mlgitops diff`: a row per object created, changed (which fields), deleted or renamed."""

from __future__ import annotations

import pytest
from mlgitops.check import change_plan
from mlgitops.check.change_plan import Place, Places, Row
from mlgitops.render.units import Unit

PROD = Place("prod", "prod", "m", prod=True)


def deployment(name: str = "m", image: str = "r/m:1", replicas: int = 2, namespace: str = "ml-prod") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "main", "image": image, "env": [{"name": "MODEL_NAME", "value": name}]}]}}}}


def service(name: str = "m") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ml-prod"},
            "spec": {"selector": {"app": name}}}


def claim(name: str, volume: str, namespace: str = "ml-prod") -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": namespace},
            "spec": {"volumeName": volume}}


def rows(old: list[dict], new: list[dict], rename=None) -> list[tuple[str, str]]:
    return [(r.obj, r.what()) for r in change_plan.rows(PROD, old, new, rename)]


def test_a_created_object_is_a_created_row():
    assert rows([deployment()], [deployment(), service()]) == [("Service ml-prod/m", "created")]


def test_a_deleted_object_is_a_deleted_row():
    assert rows([deployment(), service()], [deployment()]) == [("Service ml-prod/m", "deleted")]


def test_a_changed_object_names_the_fields_that_changed():
    assert rows([deployment()], [deployment(image="r/m:2", replicas=3)]) == [
        ("Deployment ml-prod/m", "changed: spec.replicas, spec.template.spec.containers[main].image")]


def test_an_equal_object_has_no_row():
    assert rows([deployment(), service()], [service(), deployment()]) == []


def test_list_items_with_names_are_named_others_are_numbered():
    old = {"kind": "X", "metadata": {"name": "x"}, "spec": {"args": ["a", "b"], "ports": [{"name": "http", "port": 1}]}}
    new = {"kind": "X", "metadata": {"name": "x"}, "spec": {"args": ["a", "c"], "ports": [{"name": "http", "port": 2}]}}
    assert change_plan.changed_fields(old, new) == ["spec.args[1]", "spec.ports[http].port"]


def test_many_fields_are_counted_past_six():
    fields = [f"spec.f{i}" for i in range(9)]
    assert change_plan.fields_text(fields) == "spec.f0, spec.f1, spec.f2, spec.f3, spec.f4, spec.f5 (+3 more)"


def test_a_renamed_model_pairs_each_object_with_its_successor():
    assert rows([deployment("a"), service("a")], [deployment("b", image="r/m:2"), service("b")], ("a", "b")) == [
        ("Deployment ml-prod/b", ("renamed Deployment ml-prod/a → Deployment ml-prod/b; changed: "
                                  "spec.template.spec.containers[main].image")),
        ("Service ml-prod/b", "renamed Service ml-prod/a → Service ml-prod/b")]


def test_renames_are_found_by_content_and_unrelated_models_are_not():
    before = {"overlays/prod/a": [deployment("a"), service("a")], "overlays/prod/gone": [
        {"kind": "ConfigMap", "metadata": {"name": "gone"}, "data": {f"k{i}": str(i) for i in range(20)}}]}
    after = {"overlays/prod/b": [deployment("b"), service("b")], "overlays/prod/new": [deployment("new", "q/z:9", 7)]}
    assert change_plan.renames(before, after) == {"a": "b"}
    assert change_plan.renamed_overlay("overlays/prod/a/training", {"a": "b"}) == "overlays/prod/b/training"


def test_a_name_inside_a_longer_word_is_not_renamed():
    assert change_plan.renamed_text("a a-canary ml-prod/a ab ba", "a", "b") == "b b-canary ml-prod/b ab ba"


def test_places_mark_prod_and_put_shared_cluster_files_in_every_environment_of_the_cluster():
    places = Places({"dev": "shared", "staging": "shared", "prod": "prod"}, frozenset({"prod"}))
    assert places.of_unit(Unit("m", "prod")) == Place("prod", "prod", "m", True)
    assert places.of_unit(Unit("m", "dev", "training")) == Place("shared", "dev (training)", "m", False)
    assert places.of_cluster_file("clusters/shared/flux/dev/m.yaml") == Place("shared", "dev", "m", False)
    assert places.of_cluster_file("clusters/shared/flux/gitrepository.yaml") == Place("shared", "dev, staging", "")
    # a hand-written file in a folder that looks like a unit's is the cluster's
    assert places.of_cluster_file("clusters/prod/flux/kube-system/pod.yaml") == Place("prod", "prod", "", True)


def test_the_text_table_marks_prod_rows_and_counts():
    table = [Row(PROD, "Deployment ml-prod/m", "changed", ("spec.replicas",)),
             Row(Place("dev", "dev", ""), "Namespace ml-dev", "created")]
    assert change_plan.text_table(table).splitlines() == [
        "# change plan (! = prod)",
        "#    cluster  environment  model  object                change",
        "# !  prod     prod         m      Deployment ml-prod/m  changed: spec.replicas",
        "#    dev      dev          -      Namespace ml-dev      created"]
    assert change_plan.counts(table) == "1 created, 1 changed (1 in prod)"


def test_the_markdown_table_escapes_pipes_and_is_cut_with_a_count():
    table = [Row(PROD, f"ConfigMap ml-prod/c{i}", "changed", ("data.a|b",)) for i in range(5)]
    text = change_plan.markdown_table(table, 2)
    assert "| **prod** | prod | prod | m | `ConfigMap ml-prod/c0` | changed: data.a\\|b |" in text
    assert text.count("ConfigMap") == 2 and "… and 3 more rows" in text


@pytest.mark.parametrize("held, conflict", [
    (claim("a-storage", "pv-1"), True),  # the old name's claim, kept by prune protection
    (claim("m-storage", "pv-1", "ml-staging"), True),  # another environment on the same cluster
    (claim("a-storage", "pv-2"), False),  # another volume
    (claim("m-storage", "pv-1"), False),  # the claim itself
], ids=["kept-claim", "other-environment", "other-volume", "itself"])
def test_a_new_claim_conflicts_with_a_claim_holding_its_volume_on_the_same_cluster(held, conflict):
    new = change_plan.claims(PROD, [claim("m-storage", "pv-1")])
    holders = change_plan.claims(PROD, [held], "kept")
    elsewhere = change_plan.claims(Place("other", "dev", "m"), [held])
    assert bool(change_plan.volume_conflicts(new, holders)) is conflict
    assert change_plan.volume_conflicts(new, elsewhere) == []


def test_a_value_that_held_the_old_name_and_did_not_change_is_no_change_of_a_rename():
    """The image r/a:1 holds the name `a`: unchanged after the rename, it is not listed."""
    old, new = deployment("a", image="r/a:1"), deployment("b", image="r/a:1")
    assert rows([old], [new], ("a", "b")) == [("Deployment ml-prod/b",
                                               "renamed Deployment ml-prod/a → Deployment ml-prod/b")]
