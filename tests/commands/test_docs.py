"""docs/spec.md is generated from the schemas and kept in step with them."""

from conftest import ROOT
from mlgitops.commands import docs


def test_spec_reference_is_up_to_date():
    assert (ROOT / "docs/spec.md").read_text() == docs.render(), "run 'make docs'"


def test_every_spec_field_is_documented():
    text = docs.render()
    for field in ("`spec.serving.autoscaling.targetRequestsPerSecond`", "`spec.serving.resources.gpu`",
                  "`spec.environments.<name>.patches`", "`environments[].namespace`"):
        assert field in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    undocumented = [row.split(" | ")[0] for row in rows if row.rstrip().endswith("|  |")]
    assert undocumented == []


def test_rule_reference_is_up_to_date():
    assert (ROOT / "docs/rules.md").read_text() == docs.render_rules(), "run 'make docs'"


def test_every_rule_the_code_reports_is_documented():
    import re

    from mlgitops.report.rules import RULES

    source = "".join(p.read_text() for p in (ROOT / "generator/mlgitops").rglob("*.py"))
    used = set(re.findall(r'Finding\(\s*"([a-z0-9-]+)"', source)) | set(re.findall(r'add\("([a-z0-9-]+)"', source))
    used |= set(re.findall(r'"(k8s-[a-z-]+)"', source))
    assert sorted(used - set(RULES)) == []
