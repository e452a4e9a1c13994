"""Each output format, exactly, on a small fixture; GitHub commands survive awkward characters."""

from __future__ import annotations

import json
import re

from mlgitops.report.findings import Finding, Position, Severity
from mlgitops.report.formats import (
    FORMATS,
    format_github,
    format_grouped,
    format_json,
    format_sarif,
    format_text,
)

FINDINGS = [
    Finding("min-replicas", "prod: runs 1 pod; this environment needs at least 2", "models/a.yaml", Position(12, 5),
            "raise replicas", Severity.ERROR, "Deployment/a"),
    Finding("drift", "differs from what the specs generate", "base/a/deployment.yaml", Position(1, 1)),
    Finding("unknown-field", "unknown field 'replcas'", "models/a.yaml", Position(3, 1), "did you mean 'replicas'?",
            Severity.WARNING),
]


def test_text_is_one_clickable_line_per_finding_in_file_order():
    assert format_text(FINDINGS) == (
        "base/a/deployment.yaml:1:1: differs from what the specs generate (drift)\n"
        "models/a.yaml:3:1: unknown field 'replcas' (unknown-field)\n"
        "    hint: did you mean 'replicas'?\n"
        "models/a.yaml:12:5: prod: runs 1 pod; this environment needs at least 2 [Deployment/a] (min-replicas)\n"
        "    hint: raise replicas\n"
        "2 errors, 1 warning\n")


def test_grouped_text_puts_findings_under_their_file():
    assert format_grouped(FINDINGS) == (
        "base/a/deployment.yaml\n"
        "      1:1  error    differs from what the specs generate (drift)\n"
        "models/a.yaml\n"
        "      3:1  warning  unknown field 'replcas' (unknown-field)\n"
        "                    hint: did you mean 'replicas'?\n"
        "     12:5  error    prod: runs 1 pod; this environment needs at least 2 [Deployment/a] (min-replicas)\n"
        "                    hint: raise replicas\n")


def test_json_lists_every_field():
    data = json.loads(format_json(FINDINGS[:1]))
    assert data == {"findings": [{"rule": "min-replicas", "severity": "error", "file": "models/a.yaml", "line": 12,
                                  "col": 5, "message": "prod: runs 1 pod; this environment needs at least 2",
                                  "hint": "raise replicas", "object": "Deployment/a"}]}


def test_github_commands_are_exact():
    assert format_github(FINDINGS[:1]) == (
        "::error file=models/a.yaml,line=12,col=5,title=min-replicas::prod: runs 1 pod; this environment needs at "
        "least 2 [Deployment/a]%0Araise replicas\n")


COMMAND = re.compile(r"^::(error|warning|notice) ((?:[a-z]+=[^,:]*)(?:,[a-z]+=[^,:]*)*)::(.*)$")


def _unescape(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_commands_survive_colons_commas_percents_and_newlines():
    nasty = Finding("r,1:x", "50%: a, b\nnext: %0A literal", "models/we:ird,name.yaml", Position(2, 3), "fix: it")
    line = format_github([nasty]).rstrip("\n")
    assert "\n" not in line
    match = COMMAND.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match[2].split(","))
    assert _unescape(props["file"]) == "models/we:ird,name.yaml"
    assert _unescape(props["title"]) == "r,1:x"
    assert _unescape(match[3]) == "50%: a, b\nnext: %0A literal\nfix: it"


def test_sarif_has_what_github_code_scanning_requires():
    log = json.loads(format_sarif(FINDINGS))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "mlgitops"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == ["drift", "min-replicas", "unknown-field"]
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    assert len(run["results"]) == 3
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning")
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"]
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
    first = run["results"][1]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "models/a.yaml"}, "region": {"startLine": 3, "startColumn": 1}}
    assert first["level"] == "warning"


def test_every_format_is_registered_and_sorted_the_same_way():
    assert set(FORMATS) >= {"text", "json", "github", "sarif", "junit"}
    for name, formatter in FORMATS.items():
        assert formatter(FINDINGS) == formatter(list(reversed(FINDINGS))), name
