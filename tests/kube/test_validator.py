"""Verdicts for parsed objects (the API `check` uses) and the schema lookup behind them."""

from __future__ import annotations

import pytest
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.manifests import parse_stream
from mlgitops.kube.validator import Options, validate_documents, validate_objects
from mlgitops.report.findings import FatalError, Position
from mlgitops.report.verdicts import Verdict, to_findings


def cm(**data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "ml"},
            "data": data}


def verdicts(objects, **options) -> list[str]:
    return [r.verdict.value for r in validate_objects(objects, Options(**options))]


def test_a_result_names_its_object_and_document():
    [result] = validate_objects([cm(a="1")], source="overlays/prod/m1")
    assert (result.source, result.document, result.kind, result.api_version, result.name, result.namespace) == \
        ("overlays/prod/m1", 0, "ConfigMap", "v1", "settings", "ml")
    assert result.verdict is Verdict.VALID and result.object == "ConfigMap/settings"


def test_generate_name_is_shown_the_way_kubeconform_shows_it():
    job = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"generateName": "run-"}}
    assert validate_objects([job])[0].name == "run-{{ generateName }}"


def test_an_unknown_field_points_at_the_field_itself():
    [result] = validate_objects([{**cm(), "spec": {}}])
    assert (result.verdict, result.rule) == (Verdict.INVALID, "k8s-schema")
    assert [p.path for p in result.problems] == ["/spec"]
    assert verdicts([{**cm(), "spec": {}}], strict=False) == ["valid"]


def test_missing_kind_then_missing_api_version_then_no_schema_are_errors():
    objects = [{"apiVersion": "v1"}, {"kind": "ConfigMap"}, {"apiVersion": "x.io/v1", "kind": "Thing"}, [1], "text"]
    results = validate_objects(objects)
    assert [r.rule for r in results] == ["k8s-missing-kind", "k8s-missing-apiversion", "k8s-no-schema",
                                         "k8s-not-object", "k8s-not-object"]
    assert {r.verdict for r in results} == {Verdict.ERROR}


def test_skip_by_kind_or_api_version_and_kind_and_ignore_missing_schemas():
    thing = {"apiVersion": "x.io/v1", "kind": "Thing"}
    assert verdicts([thing, cm()], skip=frozenset({"Thing"})) == ["skipped", "valid"]
    assert verdicts([thing, cm()], skip=frozenset({"x.io/v1/Thing", "v1/ConfigMap"})) == ["skipped", "skipped"]
    assert verdicts([thing], ignore_missing_schemas=True) == ["skipped"]


def test_a_list_is_judged_item_by_item_with_paths_into_the_list():
    listing = {"apiVersion": "v1", "kind": "List", "items": [cm(a="1"), None, cm(a=2)]}
    results = validate_objects([listing])
    assert [(r.verdict.value, r.item) for r in results] == [("valid", 0), ("invalid", 2)]
    assert results[1].problems[0].path == "/items/2/data/a"


def test_schema_problems_get_the_line_and_column_of_the_offending_field():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  a: 1\n  b: x\nspec: {}\n"
    results = validate_documents(parse_stream("# first\n---\n" + text, "cm.yaml"))
    findings = to_findings(results)
    assert [(f.file, f.position, f.message.split(":")[0], f.object) for f in findings] == [
        ("cm.yaml", Position(8, 3), "/data/a", "ConfigMap/s"), ("cm.yaml", Position(10, 1), "/spec", "ConfigMap/s")]


def test_the_servicemonitor_schema_is_strict_and_relaxed_without_strict():
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m"},
               "spec": {"endpoints": [{"port": "metrics", "interval": "30s", "extra": 1}], "selector": {}}}
    assert verdicts([monitor]) == ["invalid"]
    assert verdicts([monitor], strict=False) == ["valid"]


@pytest.mark.parametrize(("given", "used"), [("1.33.0", "1.33.0"), ("1.33", "1.33.0"), ("v1.30.7", "1.30.0")])
def test_any_patch_release_of_a_shipped_minor_uses_its_schemas(given, used):
    assert kubeschemas.schema_version(given) == used


def test_an_unknown_kubernetes_version_is_fatal_and_lists_the_versions():
    with pytest.raises(FatalError) as info:
        kubeschemas.schema_version("1.12.0")
    assert "1.25.0" in info.value.hint and "1.37.0" in info.value.hint


@pytest.mark.parametrize(("api_version", "kind", "name"), [
    ("v1", "Service", "service-v1.json"), ("apps/v1", "Deployment", "deployment-apps-v1.json"),
    ("networking.k8s.io/v1", "Ingress", "ingress-networking-v1.json"), ("v1", "../../etc", None)])
def test_kubernetes_schema_files_are_named_the_way_kubeconform_names_them(api_version, kind, name):
    assert kubeschemas.k8s_file_name(api_version, kind) == name


def test_crd_schema_files_are_named_by_kind_full_group_and_version():
    assert kubeschemas.crd_file_name("monitoring.coreos.com/v1", "ServiceMonitor") == \
        "servicemonitor-monitoring.coreos.com-v1.json"
    assert kubeschemas.crd_file_name("v1", "ServiceMonitor") is None
    assert set(kubeschemas.crd_schemas()) == {
        "servicemonitor-monitoring.coreos.com-v1.json", "kustomization-kustomize.toolkit.fluxcd.io-v1.json",
        "gitrepository-source.toolkit.fluxcd.io-v1.json", "applicationset-argoproj.io-v1alpha1.json",
        "appproject-argoproj.io-v1alpha1.json", "httproute-gateway.networking.k8s.io-v1.json",
        "trainjob-trainer.kubeflow.org-v1alpha1.json",
        "pytorchjob-kubeflow.org-v1.json", "experiment-kubeflow.org-v1beta1.json",
        "prometheusrule-monitoring.coreos.com-v1.json"}


def test_the_crd_fingerprint_changes_with_any_crd_file_and_only_then(tmp_path, monkeypatch):
    """check's cache keys name the CRD schemas by their files' bytes (parsing them cost ~0.3 s of a warm check)."""
    monkeypatch.setattr(kubeschemas, "_crd_root", lambda: tmp_path)
    (tmp_path / "a-x.io-v1.json").write_text('{"type": "object"}')
    (tmp_path / "b-x.io-v1.json").write_text('{"type": "string"}')
    (tmp_path / "notes.md").write_text("not a schema")

    def fingerprint() -> str:
        kubeschemas.crd_fingerprint.cache_clear()
        return kubeschemas.crd_fingerprint()

    first = fingerprint()
    assert fingerprint() == first
    (tmp_path / "notes.md").write_text("still not a schema")
    assert fingerprint() == first
    seen = {first}
    for change in ('{"type": "object", "x": 1}', '{"type": "object"} '):
        (tmp_path / "a-x.io-v1.json").write_text(change)
        seen.add(fingerprint())
    (tmp_path / "a-x.io-v1.json").rename(tmp_path / "c-x.io-v1.json")
    seen.add(fingerprint())
    (tmp_path / "c-x.io-v1.json").unlink()
    seen.add(fingerprint())
    assert len(seen) == 5
    kubeschemas.crd_fingerprint.cache_clear()


def test_schemas_are_compiled_once_per_kind():
    schemas = kubeschemas.SchemaSet("1.33.0", strict=True)
    assert schemas.validator("v1", "ConfigMap") is schemas.validator("v1", "ConfigMap")
    assert kubeschemas.schema_set("1.33.0", True) is kubeschemas.schema_set("1.33.0", True)
