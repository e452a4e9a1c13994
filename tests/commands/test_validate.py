"""`mlgitops validate` and `mlgitops schemas export` from the command line: inputs, exit codes, layout."""

from __future__ import annotations

import json
import os
import sys

import jsonschema_rs
import pytest
from conftest import ROOT, run_cli
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


def test_export_writes_kubeconforms_layout(exported):
    assert sorted(os.listdir(exported)) == ["v1.33.0-standalone", "v1.33.0-standalone-strict"]
    strict = exported / "v1.33.0-standalone-strict"
    assert (strict / "deployment-apps-v1.json").is_file() and (strict / "service-v1.json").is_file()
    assert (strict / "servicemonitor-monitoring-v1.json").is_file()
    names = {n for n in os.listdir(strict)}
    assert names == {n for n in os.listdir(exported / "v1.33.0-standalone")}


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
