"""`mlgitops validate --format text|json|github|junit|sarif`: exact output on a small fixture."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
from conftest import run_cli

OK = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: scorer\n---\napiVersion: x.io/v1\nkind: Widget\n" \
     "metadata:\n  name: w\n"
BAD = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  threads: 4\n---\nmetadata:\n' \
      '  name: "a, b: 100%"\n'


@pytest.fixture
def fixture_dir(tmp_path, monkeypatch):
    (tmp_path / "ok.yaml").write_text(OK)
    (tmp_path / "bad.yaml").write_text(BAD)
    monkeypatch.chdir(tmp_path)


def validate(capsys, fmt: str):
    run = run_cli(capsys, "validate", "--skip", "Widget", "--format", fmt, "ok.yaml", "bad.yaml")
    assert run.code == 1
    return run


def test_text_lists_what_is_wrong_where_then_a_summary(capsys, fixture_dir):
    assert validate(capsys, "text").out == (
        'bad.yaml:6:3: /data/threads: 4 is not of types "null", "string" [ConfigMap/settings] (k8s-schema)\n'
        "bad.yaml:8:1: missing 'kind' (k8s-missing-kind)\n"
        "    hint: every Kubernetes object needs 'apiVersion' and 'kind'\n"
        "Summary: 4 resources in 2 files: 1 valid, 1 invalid, 1 error, 1 skipped\n")


def test_json_lists_every_resource_with_its_verdict(capsys, fixture_dir):
    data = json.loads(validate(capsys, "json").out)
    assert [(r["file"], r["document"], r["line"], r["kind"], r["name"], r["verdict"]) for r in data["resources"]] == [
        ("ok.yaml", 0, 1, "ServiceAccount", "scorer", "valid"), ("ok.yaml", 1, 6, "Widget", "w", "skipped"),
        ("bad.yaml", 0, 1, "ConfigMap", "settings", "invalid"), ("bad.yaml", 1, 8, "", "", "error")]
    assert data["resources"][2] == {
        "file": "bad.yaml", "document": 0, "item": None, "line": 1, "apiVersion": "v1", "kind": "ConfigMap",
        "name": "settings", "namespace": "", "verdict": "invalid", "rule": "k8s-schema",
        "messages": [{"path": "/data/threads", "line": 6, "col": 3, "message": '4 is not of types "null", "string"'}]}
    assert data["resources"][3]["messages"] == [{"path": "", "line": 8, "col": 1, "message": "missing 'kind'"}]
    assert data["summary"] == {"resources": 4, "files": 2, "valid": 1, "invalid": 1, "error": 1, "skipped": 1}


def test_github_prints_escaped_workflow_commands_and_the_summary_on_stderr(capsys, fixture_dir):
    run = validate(capsys, "github")
    assert run.out == (
        '::error file=bad.yaml,line=6,col=3,title=k8s-schema::/data/threads: 4 is not of types "null", "string" '
        "[ConfigMap/settings]\n"
        "::error file=bad.yaml,line=8,col=1,title=k8s-missing-kind::missing 'kind'%0A"
        "every Kubernetes object needs 'apiVersion' and 'kind'\n")
    assert run.err == "Summary: 4 resources in 2 files: 1 valid, 1 invalid, 1 error, 1 skipped\n"


def test_junit_makes_each_resource_a_test_case_in_a_suite_per_file(capsys, fixture_dir):
    out = validate(capsys, "junit").out
    assert out == """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="mlgitops validate" tests="4" failures="2" errors="0" skipped="1">
  <testsuite name="bad.yaml" tests="2" failures="2" errors="0" skipped="0">
    <testcase name="ConfigMap/settings (document 0)" classname="bad.yaml">
      <failure message='invalid: /data/threads: 4 is not of types "null", "string"' type="k8s-schema">\
/data/threads: 4 is not of types "null", "string"</failure>
    </testcase>
    <testcase name="(unknown kind) (document 1)" classname="bad.yaml">
      <failure message="error: missing 'kind'" type="k8s-missing-kind">missing 'kind'</failure>
    </testcase>
  </testsuite>
  <testsuite name="ok.yaml" tests="2" failures="0" errors="0" skipped="1">
    <testcase name="ServiceAccount/scorer (document 0)" classname="ok.yaml"/>
    <testcase name="Widget/w (document 1)" classname="ok.yaml">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>
"""
    assert ElementTree.fromstring(out.encode()).tag == "testsuites"


def test_junit_for_findings_escapes_xml_and_writes_control_characters_visibly():
    from mlgitops.report import formats as report
    from mlgitops.report.findings import Finding, Position

    out = report.format_junit([Finding("r1", 'bad <x> & "y"\x07', "a.yaml", Position(3, 1), object="Pod/p")])
    case = ElementTree.fromstring(out.encode()).find("testsuite/testcase")
    assert case.get("name") == "r1 a.yaml:3:1"
    assert case.find("failure").get("message") == 'bad <x> & "y"\\x07 [Pod/p]'
    assert report.FORMATS["junit"] is report.format_junit


def test_sarif_has_a_result_per_problem_at_its_line(capsys, fixture_dir):
    log = json.loads(validate(capsys, "sarif").out)
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        ("k8s-schema", "bad.yaml", 6), ("k8s-missing-kind", "bad.yaml", 8)]
