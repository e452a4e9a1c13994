"""`mlgitops validate` and `mlgitops schemas export` from the command line: inputs, exit codes, layout."""

from __future__ import annotations

import io
import json
import os
import sys

import jsonschema_rs
import pytest
import yaml
from conftest import ROOT, examples, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.manifests import parse_stream

CORPUS = ROOT / "tests/cases/manifests"
SERVICE_ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"


def test_help_names_the_no_strict_flag(capsys):
    run = run_cli(capsys, "validate", "--help")
    assert run.code == 0 and "--no-strict" in run.out and "--ignore-missing-schemas" in run.out


def test_valid_input_exits_0_and_invalid_exits_1(capsys):
    assert run_cli(capsys, "validate", str(CORPUS / "valid-deployment.yaml")).code == 0
    assert run_cli(capsys, "validate", str(CORPUS / "wrong-type.yaml")).code == 1


def test_usage_and_environment_errors_exit_2_without_a_traceback(capsys):
    run = run_cli(capsys, "validate", "--kubernetes-version", "1.12.0", str(CORPUS / "valid.json"))
    assert run.code == 2 and "available versions: 1.25.0" in run.err and "Traceback" not in run.err
    run = run_cli(capsys, "validate", "nowhere.yaml")
    assert run.code == 2 and "no such file or folder: nowhere.yaml" in run.err
    assert run_cli(capsys, "validate", "--format", "xml", "x.yaml").code == 2


def test_standard_input_is_read_for_a_dash(capsys, monkeypatch):
    with open(CORPUS / "multi-mixed.yaml") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        run = run_cli(capsys, "validate", "--format", "json", "-")
    resources = json.loads(run.out)["resources"]
    assert [(r["file"], r["verdict"]) for r in resources] == [("<stdin>", "valid"), ("<stdin>", "invalid"),
                                                             ("<stdin>", "error")]


def test_folders_are_walked_for_yaml_yml_and_json_in_sorted_order(capsys, tmp_path):
    for name in ("b/deep/z.yml", "b/a.YAML", "a.json", "notes.txt", "c.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('{"apiVersion": "v1", "kind": "ServiceAccount"}' if name.endswith("json")
                                     else SERVICE_ACCOUNT)
    run = run_cli(capsys, "validate", "--format", "json", str(tmp_path))
    files = [os.path.relpath(r["file"], tmp_path) for r in json.loads(run.out)["resources"]]
    assert files == ["a.json", "b/a.YAML", "b/deep/z.yml", "c.yaml"]


def test_an_unreadable_file_is_an_error_result_and_the_others_are_still_checked(capsys, tmp_path):
    (tmp_path / "latin1.yaml").write_bytes(b"kind: caf\xe9\n")
    (tmp_path / "sa.yaml").write_text(SERVICE_ACCOUNT)
    run = run_cli(capsys, "validate", str(tmp_path / "latin1.yaml"), str(tmp_path / "sa.yaml"))
    assert run.code == 1
    assert "latin1.yaml: cannot read: not UTF-8 (byte 0xe9 at offset 9) (k8s-read)" in run.out
    assert run.out.endswith("2 resources in 2 files: 1 valid, 0 invalid, 1 error, 0 skipped\n")


def test_skip_accepts_comma_separated_kinds(capsys):
    run = run_cli(capsys, "validate", "--skip", "ServiceAccount,v1/Service", "--format", "json",
                  str(CORPUS / "multi-mixed.yaml"))
    assert [r["verdict"] for r in json.loads(run.out)["resources"]] == ["skipped", "skipped", "error"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    target = tmp_path_factory.mktemp("schemas")
    from mlgitops.cli import main
    assert main(["schemas", "export", str(target), "--kubernetes-version", "1.33.0"]) == 0
    return target


@pytest.mark.slow
def test_export_writes_kubeconforms_layout(exported):
    assert sorted(os.listdir(exported)) == ["v1.33.0-standalone", "v1.33.0-standalone-strict"]
    strict = exported / "v1.33.0-standalone-strict"
    assert (strict / "deployment-apps-v1.json").is_file() and (strict / "service-v1.json").is_file()
    assert (strict / "servicemonitor-monitoring-v1.json").is_file()
    names = set(os.listdir(strict))
    assert names == set(os.listdir(exported / "v1.33.0-standalone"))


def test_exported_schemas_stand_alone(exported):
    for name in ("deployment-apps-v1.json", "customresourcedefinition-apiextensions-v1.json",
                 "servicemonitor-monitoring-v1.json"):
        text = (exported / "v1.33.0-standalone-strict" / name).read_text()
        schema = json.loads(text)
        assert "$schema" not in schema and "$id" not in schema
        refs = [part.split('"')[0] for part in text.split('"$ref":"')[1:]]
        assert refs and all(r.startswith("#/definitions/") and r[14:] in schema["definitions"] for r in refs)


def _resources(case: dict):
    strict = "--no-strict" not in case.get("flags", [])
    for doc in parse_stream((CORPUS / case["file"]).read_text(), case["file"], strict):
        data = doc.data
        if isinstance(data, dict) and str(data.get("kind", "")).lower() == "list":
            yield from ((strict, item) for item in data.get("items") or [])
        elif isinstance(data, dict):
            yield strict, data


def test_exported_schemas_give_the_built_in_verdicts_under_draft_4_as_kubeconform_compiles_them(exported):
    cases = json.loads((CORPUS / "expected.json").read_text())
    checked = 0
    for case in cases:
        for strict, obj in _resources(case):
            api_version, kind = obj.get("apiVersion"), obj.get("kind")
            if not (isinstance(api_version, str) and isinstance(kind, str)):
                continue
            folder = exported / f"v1.33.0-standalone{'-strict' if strict else ''}"
            path = folder / f"{kind.lower()}{kubeschemas.kind_suffix(api_version)}.json"
            built_in = kubeschemas.schema_set("1.33.0", strict).validator(api_version, kind)
            assert path.is_file() == (built_in is not None), path
            if built_in is not None:
                draft4 = jsonschema_rs.Draft4Validator(json.loads(path.read_text()), validate_formats=True)
                assert draft4.is_valid(obj) == built_in.is_valid(obj), (case["file"], kind)
                checked += 1
    assert checked > 30


def test_export_refuses_an_unknown_version_before_writing_anything(capsys, tmp_path):
    run = run_cli(capsys, "schemas", "export", str(tmp_path / "out"), "--kubernetes-version", "1.33.0",
                  "--kubernetes-version", "2.0")
    assert run.code == 2 and not (tmp_path / "out").exists()


# --- inside a repository: its kubernetesVersion and schemas/crds/; --schema-location ---------------

FLOW_SCHEMA = "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata:\n  name: f\n" \
              "spec:\n  priorityLevelConfiguration:\n    name: x\n"  # served up to Kubernetes 1.31
SCALED_OBJECT = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: s\nspec:\n" \
                "  scaleTargetRef:\n    name: d\n  triggers:\n  - type: cpu\n"
SCALED_OBJECT_SCHEMA = {
    "type": "object", "required": ["apiVersion", "kind", "spec"],
    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                   "spec": {"type": "object", "required": ["scaleTargetRef", "triggers"], "additionalProperties": False,
                            "properties": {"scaleTargetRef": {"type": "object"}, "triggers": {"type": "array"}}}}}


def _repository(root, version: str = '"1.30"'):
    root.mkdir(parents=True, exist_ok=True)
    (root / "mlgitops.yaml").write_text((ROOT / "mlgitops.yaml").read_text().replace(
        'kubernetesVersion: "1.33.0"', f"kubernetesVersion: {version}"))
    (root / "manifests").mkdir()
    (root / "manifests/flow.yaml").write_text(FLOW_SCHEMA)
    (root / "manifests/scaled.yaml").write_text(SCALED_OBJECT)
    return root


def _catalogue(folder):
    (folder / "keda.sh").mkdir(parents=True)
    (folder / "keda.sh/scaledobject_v1alpha1.json").write_text(json.dumps(SCALED_OBJECT_SCHEMA))
    return folder


def _verdicts(run) -> list[str]:
    return [r["verdict"] for r in json.loads(run.out)["resources"]]


def test_inside_a_repository_its_kubernetes_version_is_the_default_and_an_explicit_one_wins(capsys, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.chdir(_repository(tmp_path / "repo") / "manifests")
    assert _verdicts(run_cli(capsys, "validate", "--format", "json", "flow.yaml")) == ["valid"]
    run = run_cli(capsys, "validate", "--kubernetes-version", "1.33", "flow.yaml")
    assert run.code == 1 and "in the built-in schemas (Kubernetes 1.33.0)" in run.out


def test_outside_a_repository_the_default_version_is_used(capsys, tmp_path, monkeypatch):
    (tmp_path / "flow.yaml").write_text(FLOW_SCHEMA)
    monkeypatch.chdir(tmp_path)
    assert _verdicts(run_cli(capsys, "validate", "--format", "json", "flow.yaml")) == ["error"]


def test_a_broken_config_is_an_environment_error_naming_it(capsys, tmp_path, monkeypatch):
    root = _repository(tmp_path / "repo", "1.30")  # a number: the config says to quote it
    monkeypatch.chdir(root)
    run = run_cli(capsys, "validate", "manifests/flow.yaml")
    assert run.code == 2 and f"{root}/mlgitops.yaml:" in run.err and "give --kubernetes-version" in run.err
    assert run_cli(capsys, "validate", "--kubernetes-version", "1.30", "manifests/flow.yaml").code == 0


def test_the_repositorys_schemas_crds_are_searched(capsys, tmp_path, monkeypatch):
    root = _repository(tmp_path / "repo")
    monkeypatch.chdir(root)
    run = run_cli(capsys, "validate", "manifests/scaled.yaml")
    assert run.code == 1 and "or add" not in run.out and "schemas/crds/<group>/<kind>_<version>.json" in run.out
    _catalogue(root / "schemas/crds")
    assert _verdicts(run_cli(capsys, "validate", "--format", "json", "manifests")) == ["valid", "valid"]


SCHEMA_WARNING = ":1:1: is a symlink: a schema in schemas/crds/ is read only from a regular file there, never " \
                 "through a link (schema-file)"


@pytest.mark.parametrize("where", ["inside", "outside", "dangling", "group-folder"])
def test_a_symlink_in_schemas_crds_is_a_warning_at_the_file_and_never_read(capsys, tmp_path, monkeypatch, where):
    root = _repository(tmp_path / "repo")
    monkeypatch.chdir(root)
    real = _catalogue(root / "vendor" if where == "inside" else tmp_path / "elsewhere") / "keda.sh"
    crds = root / "schemas/crds"
    crds.mkdir(parents=True)
    if where == "group-folder":
        (crds / "keda.sh").symlink_to(real)
        link = "schemas/crds/keda.sh"
    else:
        (crds / "keda.sh").mkdir()
        (crds / "keda.sh/scaledobject_v1alpha1.json").symlink_to(
            real / "scaledobject_v1alpha1.json" if where != "dangling" else tmp_path / "gone.json")
        link = "schemas/crds/keda.sh/scaledobject_v1alpha1.json"
    run = run_cli(capsys, "validate", "manifests/scaled.yaml")
    assert link + SCHEMA_WARNING in run.out
    assert "[ScaledObject/s] (k8s-no-schema)" in run.out and run.code == 1  # the link's schema is never used


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_a_schema_that_is_no_regular_file_never_hangs(capsys, tmp_path, monkeypatch, target):
    """In the repository's schemas/crds/, a warning at the file; behind --schema-location, an environment error."""
    root = _repository(tmp_path / "repo")
    monkeypatch.chdir(root)
    schema = root / "schemas/crds/keda.sh/scaledobject_v1alpha1.json"
    schema.parent.mkdir(parents=True)
    if target == "fifo":
        os.mkfifo(schema)
    else:
        schema.symlink_to(target)
    run = run_cli(capsys, "validate", "manifests/scaled.yaml")
    assert run.code == 1 and "schemas/crds/keda.sh/scaledobject_v1alpha1.json:1:1: is " in run.out
    given = run_cli(capsys, "validate", "--schema-location", str(root / "schemas/crds/{{.Group}}/"
                    "{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"), "manifests/scaled.yaml")
    assert given.code == 2 and "is not a regular file" in given.err


def test_schema_locations_take_kubeconforms_templates_and_default(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.yaml").write_text(SCALED_OBJECT + "---\n" + SERVICE_ACCOUNT)
    template = str(_catalogue(tmp_path / "catalogue")) + "/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
    both = run_cli(capsys, "validate", "--format", "json", "--schema-location", "default",
                   "--schema-location", template, "m.yaml")
    assert (both.code, _verdicts(both)) == (0, ["valid", "valid"])
    alone = run_cli(capsys, "validate", "--format", "json", "--schema-location", template, "m.yaml")
    assert _verdicts(alone) == ["valid", "error"]  # as in kubeconform: without `default`, no built-in schemas


def test_an_http_schema_location_is_a_usage_error(capsys):
    run = run_cli(capsys, "validate", "--schema-location", "https://example.com/{{.ResourceKind}}.json",
                  str(CORPUS / "valid.json"))
    assert run.code == 2 and "only local paths can be read (validation is offline)" in run.err


def test_schemas_export_is_a_schema_location(capsys, exported, tmp_path):
    (tmp_path / "svc.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  typo: 1\n")
    run = run_cli(capsys, "validate", "--format", "json", "--kubernetes-version", "1.33.0",
                  "--schema-location", str(exported), str(tmp_path / "svc.yaml"))
    assert _verdicts(run) == ["invalid"]


# --- inputs that used to crash: a clear error verdict at file:line -----------------------------------

def test_a_kind_of_300_characters_is_an_error_verdict_not_file_name_too_long(capsys, tmp_path):
    (tmp_path / "long.yaml").write_text(f"apiVersion: v1\nkind: {'A' * 300}\nmetadata:\n  name: x\n")
    run = run_cli(capsys, "validate", str(tmp_path / "long.yaml"))
    assert run.code == 1 and f"{tmp_path}/long.yaml:1:1: no schema for v1 AAA" in run.out


def test_a_service_nested_300_levels_in_block_style_is_an_error_at_its_line(capsys, tmp_path):
    nested = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(300))
    (tmp_path / "deep.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n" + nested)
    run = run_cli(capsys, "validate", str(tmp_path / "deep.yaml"))
    assert run.code == 1
    assert f"{tmp_path}/deep.yaml:205:401: the document nests deeper than 200 levels (k8s-yaml)" in run.out


def test_a_control_character_is_an_error_where_it_is(capsys, tmp_path):
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\x01\n")
    run = run_cli(capsys, "validate", str(tmp_path / "cm.yaml"))
    assert run.code == 1 and f"{tmp_path}/cm.yaml:6:7: character U+0001 is not allowed in YAML" in run.out


# --- fuzzing: whatever the input, a verdict and an exit code, never a traceback ---------------------

def _validate_stdin(capsys, monkeypatch, data: bytes) -> int:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code = run_cli(capsys, "validate", "--format", "json", "-").code
    return code


_SEED = (CORPUS / "valid-deployment.yaml").read_bytes()


@pytest.mark.slow
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(_SEED)), st.binary(max_size=8)), max_size=6))
def test_byte_level_fuzz_gives_an_exit_code_not_a_traceback(capsys, monkeypatch, edits):
    data = bytearray(_SEED)
    for at, chunk in edits:
        data[at:at + len(chunk) % 3] = chunk
    assert _validate_stdin(capsys, monkeypatch, bytes(data)) in (0, 1, 2)


_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["v1", "apps/v1", "Service", "Deployment", "List", "A" * 300]))
_TREE = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                     max_leaves=25)
_RESOURCE = st.fixed_dictionaries({"apiVersion": st.sampled_from(["v1", "apps/v1", "x/v1", "", "a/b/c"]),
                                   "kind": st.sampled_from(["Service", "Deployment", "List", "ConfigMap", "A" * 300,
                                                            "../x", ""])},
                                  optional={"metadata": _TREE, "spec": _TREE, "items": _TREE, "data": _TREE})


@pytest.mark.slow
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_RESOURCE, min_size=1, max_size=3), st.booleans())
def test_tree_level_fuzz_gives_an_exit_code_not_a_traceback(capsys, monkeypatch, resources, flow):
    text = "---\n".join(yaml.safe_dump(r, default_flow_style=flow, allow_unicode=True) for r in resources)
    assert _validate_stdin(capsys, monkeypatch, text.encode("utf-8", "surrogatepass")) in (0, 1, 2)


def test_templates_see_the_kubernetes_version_as_written_and_the_configs_minor_as_its_release(capsys, tmp_path,
                                                                                            monkeypatch):
    monkeypatch.chdir(_repository(tmp_path / "repo"))  # kubernetesVersion: "1.30", i.e. 1.30.0
    _catalogue(tmp_path / "schemas/v1.30.0")
    template = str(tmp_path) + "/schemas/{{ .NormalizedKubernetesVersion }}/{{ .Group }}/" \
                               "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    run = run_cli(capsys, "validate", "--schema-location", template, "manifests/scaled.yaml")
    assert run.code == 0
    run = run_cli(capsys, "validate", "--kubernetes-version", "1.30", "--schema-location", template,
                  "manifests/scaled.yaml")
    assert run.code == 1 and "/schemas/{{ .NormalizedKubernetesVersion }}/" in run.out  # v1.30, as kubeconform


# --- a kustomization folder is validated as what it builds ---

DEPLOYMENT = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n"
              "  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n"
              "        image: nginx:1.27\n")


def _overlay(root, patch: str, resources: str = "- ../base\n"):
    (root / "base").mkdir()
    (root / "base/deployment.yaml").write_text(DEPLOYMENT)
    (root / "base/kustomization.yaml").write_text("resources:\n- deployment.yaml\n")
    (root / "prod").mkdir()
    (root / "prod/replicas-patch.yaml").write_text(patch)
    (root / "prod/kustomization.yaml").write_text(f"namespace: ml-prod\nresources:\n{resources}"
                                                  "patches:\n- path: replicas-patch.yaml\n")
    return root / "prod"


PATCH = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n"


def test_a_kustomization_folder_is_validated_as_what_it_builds_not_file_by_file(capsys, tmp_path):
    """The patch alone is no Deployment (no selector, no template) and kustomization.yaml has no schema:
    file by file both would be errors. Built, the folder is one valid Deployment in its namespace."""
    overlay = _overlay(tmp_path, PATCH.format(replicas=3))
    run = run_cli(capsys, "validate", "--format", "json", str(overlay))
    assert run.code == 0, run.out
    resources = json.loads(run.out)["resources"]
    assert [(r["file"], r["kind"], r["verdict"]) for r in resources] == [
        (f"{overlay} (kustomize build)", "Deployment", "valid")]
    assert run_cli(capsys, "validate", str(overlay / "replicas-patch.yaml")).code == 1  # what it was before


def test_what_a_kustomization_builds_is_held_to_its_schema(capsys, tmp_path):
    overlay = _overlay(tmp_path, PATCH.format(replicas='"three"'))
    run = run_cli(capsys, "validate", str(overlay))
    assert run.code == 1 and f"{overlay} (kustomize build)" in run.out and "replicas" in run.out


@pytest.mark.parametrize("resources", ["- ../no-such-base\n", "- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0\n"],
                         ids=["missing", "remote-never-fetched"])
def test_a_kustomization_that_does_not_build_is_an_error_naming_the_folder(capsys, tmp_path, resources):
    overlay = _overlay(tmp_path, PATCH.format(replicas=3), resources)
    run = run_cli(capsys, "validate", str(overlay), str(tmp_path / "base/deployment.yaml"))
    assert run.code == 1
    assert f"kustomize cannot build {overlay}" in run.out and "(build)" in run.out
    assert "1 valid" in run.out  # the other sources are still validated


def test_a_generated_overlay_validates_as_the_cluster_gets_it(capsys, generated):
    run = run_cli(capsys, "validate", str(generated / "overlays/prod/fraud-detector"))
    assert run.code == 0 and "0 invalid, 0 errors" in run.out
