"""Verdicts for parsed objects (the API `check` uses) and the schema lookup behind them."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.kube import schemalocations
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.manifests import Document, parse_document, parse_stream, split_stream
from mlgitops.kube.validator import Options, validate_documents, validate_objects, validate_text
from mlgitops.report.findings import FatalError, Position
from mlgitops.report.verdicts import Result, Verdict, to_findings


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


def test_a_number_past_float64_is_text_as_go_reads_it_not_infinity():
    """kustomize writes a quantity "1e400" unquoted (yaml.v3 finds no float in it), and go-yaml v2 reads the
    text back: a valid quantity (resource.ParseQuantity caps only binary suffixes; the API server checks
    cpu for a negative value alone), and a replicas no integer. yaml-rs read infinity: a schema error (and
    check's fidelity finding "built Infinity")."""
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: i\n"
           "    resources:\n      limits:\n        cpu: 1e400\n      requests:\n        cpu: .5e400\n")
    deployment = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 1e400\n"
                  "  selector:\n    matchLabels:\n      a: b\n  template:\n    metadata:\n      labels:\n"
                  "        a: b\n    spec:\n      containers:\n      - name: c\n        image: i\n")
    results = validate_text(pod + "---\n" + deployment, "m.yaml")
    assert [r.verdict.value for r in results] == ["valid", "invalid"]
    assert [(p.path, p.message, p.line) for p in results[1].problems] == [
        ("/spec/replicas", '"1e400" is not of types "null", "integer"', 20)]


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


def test_a_valid_result_made_the_fast_way_is_the_result_the_constructor_makes():
    fast = Result.valid("f.yaml", 3, 12, "ConfigMap", "v1", "settings", "ml", item=2)
    made = Result("f.yaml", 3, 12, Verdict.VALID, "ConfigMap", "v1", "settings", "ml", item=2)
    assert fast == made and hash(fast) == hash(made) and repr(fast) == repr(made)
    assert vars(fast) == {f.name: getattr(made, f.name) for f in dataclasses.fields(Result)}  # every field, no more
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.line = 1  # type: ignore[misc]


# Documents of every kind the judge tells apart: valid, invalid, a List (with valid, invalid and null items, or
# items that are no list), no schema, a kind to skip, not an object, missing ids, empty, a syntax error, a
# duplicate key, spellings only the exact reader reads as Go does, a generateName.
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n  namespace: ml\ndata:\n  a: x\n"
DOCUMENTS = [
    CM, CM.replace("a: x", "a: 1"), CM + "spec: {}\n", CM.replace("a: x", "a: yes"), CM.replace("a: x", "a: 012"),
    CM.replace("name: s", "generateName: run-"), CM.replace("kind: ConfigMap", "kind: List"),
    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- null\n"
    "- apiVersion: v1\n  kind: ConfigMap\n  data: {a: 1}\n",
    "apiVersion: v1\nkind: list\nitems: 3\n", "apiVersion: v1\nkind: LIST\n",
    "apiVersion: x.io/v1\nkind: Thing\nmetadata:\n  name: t\n", "kind: ConfigMap\n", "apiVersion: v1\n",
    "- a\n- b\n", "just text\n", "", "# only a comment\n", "null\n", "a: [1\n", CM + "data: {}\n",
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: &n sa\n  labels: {x: *n}\n", "\n\n" + CM,
]
OPTIONS = [Options(), Options(strict=False), Options(skip=frozenset({"Thing", "v1/ConfigMap"})),
           Options(ignore_missing_schemas=True)]


@pytest.mark.parametrize("options", OPTIONS, ids=["default", "not-strict", "skip", "ignore-missing"])
@settings(max_examples=examples(60), deadline=None)
@given(docs=st.lists(st.sampled_from(DOCUMENTS), min_size=1, max_size=12),
       separator=st.sampled_from(["---\n", "--- # c\n", "---\n\n"]))
def test_a_text_gets_the_verdicts_of_its_documents_judged_one_by_one(options, docs, separator):
    text = "".join(separator + doc for doc in docs)
    assert validate_text(text, "f.yaml", options) == validate_documents(_one_by_one(text, options.strict), options)


def _one_by_one(text: str, strict: bool = True) -> list[Document]:
    """Each document parsed on its own (no screen, no stream): what validate_text must agree with."""
    return [parse_document(chunk, "f.yaml", i, line, strict) for i, (line, chunk) in enumerate(split_stream(text))]


def test_a_list_is_judged_item_by_item_even_where_a_schema_for_list_is_given(tmp_path):
    """A document of kind List stands for its items: validate_text's fast path never judges it as one resource."""
    (tmp_path / "list.json").write_text("{}")  # a schema for `List` that accepts anything
    options = Options(locations=(schemalocations.parse(str(tmp_path) + "/{{ .ResourceKind }}.json"),
                                 schemalocations.BUILTIN))
    text = "apiVersion: v1\nkind: List\nitems:\n- " + CM.replace("\n", "\n  ").rstrip() + "\n"
    results = validate_text(text, "f.yaml", options)
    assert [(r.kind, r.verdict, r.item) for r in results] == [("ConfigMap", Verdict.VALID, 0)]
    assert results == validate_documents(_one_by_one(text), options)
