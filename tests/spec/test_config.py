"""mlgitops.yaml's kubernetesVersion: what is accepted, and that every hint leads to an accepted form."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT
from mlgitops.check.policies import Settings
from mlgitops.kube.images import VERSION_TAG
from mlgitops.spec.config import parse_config
from mlgitops.spec.schema import load_schema

CONFIG = (ROOT / "mlgitops.yaml").read_text()


def with_version(written: str):
    return parse_config("mlgitops.yaml", CONFIG.replace('kubernetesVersion: "1.33.0"', f"kubernetesVersion: {written}")
                        .encode())


@pytest.mark.parametrize(("written", "meant"), [('"1.30"', "1.30.0"), ('"1.30.4"', "1.30.4"), ('"1.33.0"', "1.33.0")])
def test_a_minor_in_quotes_means_its_newest_shipped_release_and_a_patch_release_stays(written, meant):
    config, findings = with_version(written)
    assert findings == [] and config is not None and config.kubernetes_version == meant


def test_a_version_written_as_a_number_gets_a_hint_that_is_then_accepted():
    config, [finding] = with_version("1.30")
    assert config is None and 'write "1.30" in quotes' in finding.hint
    hinted = re.search(r'write (".*?")', finding.hint)
    assert hinted is not None and with_version(hinted[1])[1] == []


def test_a_version_without_schemas_names_the_ones_there_are():
    config, [finding] = with_version('"1.24"')
    assert config is None and finding.message == "no Kubernetes schemas for version 1.24"
    assert "1.25.0" in finding.hint and "1.37.0" in finding.hint


@pytest.mark.parametrize("field, value", [("url", "https://x\n"), ("url", "https://x\x1b[31m"), ("url", "https://x y"),
                                          ("branch", "ma\u2028in"), ("branch", "a..b"), ("branch", "main\n")])
def test_a_git_url_or_branch_with_control_characters_is_refused_at_its_line(field, value):
    # they went into every GitRepository / Application; a branch like this passed check too
    import json

    text = (ROOT / "mlgitops.yaml").read_text()
    text = re.sub(rf"(?m)^  {field}: .*$", lambda m: f"  {field}: {json.dumps(value)}", text, count=1)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith(f"  {field}:"))
    config, findings = parse_config("mlgitops.yaml", text.encode())
    assert config is None or any(f.severity.name == "ERROR" for f in findings)
    assert [f.position.line for f in findings] == [line]
    assert findings[0].rule == ("control-character" if "\x1b" in value else "schema")
    assert "\n" not in findings[0].text().split("\n    hint: ")[0] and "\x1b" not in findings[0].text()



def test_the_documented_default_tag_pattern_is_the_one_the_code_uses():
    def defaults(node):
        if isinstance(node, dict):
            if "immutableTagPattern" in node.get("properties", {}):
                yield node["properties"]["immutableTagPattern"]["default"]
            for child in node.values():
                yield from defaults(child)
        elif isinstance(node, list):
            for child in node:
                yield from defaults(child)

    assert set(defaults(load_schema("config.schema.json"))) == {VERSION_TAG}
    assert Settings.for_environment("prod", {}).immutable_tag == VERSION_TAG


def test_a_whole_float_where_an_integer_belongs_is_refused_at_its_value():
    # JSON Schema counts 2.0 as an integer: it reached the policies, and a default the Deployments, as 2.0
    text = CONFIG.replace("- name: prod\n  namespace: ml-prod\n", "- name: prod\n  namespace: ml-prod\n"
                          "  policies: {minReplicas: 2.0}\n")
    config, findings = parse_config("mlgitops.yaml", text.encode())
    line = text.splitlines().index("  policies: {minReplicas: 2.0}") + 1
    assert config is None
    assert [(f.position.line, f.position.col, f.message, f.hint) for f in findings] == [
        (line, 27, "'minReplicas' must be an integer, not the number 2.0", "write 2, without the decimal point")]
