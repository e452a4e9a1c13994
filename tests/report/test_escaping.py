"""User text (YAML keys, names, kustomize's stderr) never breaks a line or a document of any format."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.report.findings import Finding, Position, printable
from mlgitops.report.formats import FORMATS, format_github, format_grouped, format_json, format_text

FORGED = Finding("unknown-field", "unknown field 'x\nmodels/x.yaml:1:1: forged (schema)'", "models/m.yaml",
                 Position(4, 3), "did you mean\r\x1b[2K'y'?", object="Deployment/a\u2028b")


def test_a_newline_in_a_key_cannot_forge_a_finding_line():
    assert format_text([FORGED]) == (
        "models/m.yaml:4:3: unknown field 'x\\nmodels/x.yaml:1:1: forged (schema)' [Deployment/a\\u2028b] "
        "(unknown-field)\n"
        "    hint: did you mean\\r\\x1b[2K'y'?\n"
        "1 error, 0 warnings\n")


def test_grouped_text_escapes_too():
    assert format_grouped([FORGED]).splitlines()[1] == (
        "      4:3  error    unknown field 'x\\nmodels/x.yaml:1:1: forged (schema)' [Deployment/a\\u2028b] "
        "(unknown-field)")


def test_github_escapes_breaks_its_own_way_and_other_controls_visibly():
    assert format_github([FORGED]) == (
        "::error file=models/m.yaml,line=4,col=3,title=unknown-field::unknown field 'x%0Amodels/x.yaml:1:1: "
        "forged (schema)' [Deployment/a\\u2028b]%0Adid you mean%0D\\x1b[2K'y'?\n")


def test_json_keeps_the_data_but_no_raw_line_separator():
    out = format_json([FORGED])
    assert "\u2028" not in out and "\x1b" not in out
    assert json.loads(out)["findings"][0]["object"] == "Deployment/a\u2028b"


def test_junit_stays_well_formed_xml_with_nul_and_escape_characters():
    nasty = Finding("build", "kustomize said \x00\x1b[31mno\x08", "overlays/dev/m/kustomization.yaml\x0c",
                    Position(1, 1))
    case = ElementTree.fromstring(FORMATS["junit"]([nasty]).encode()).find("testsuite/testcase")
    assert case.find("failure").get("message") == "kustomize said \\x00\\x1b[31mno\\x08"


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@settings(max_examples=examples(150), deadline=None)
@given(message=TEXT, hint=TEXT, name=TEXT, file=TEXT)
def test_every_format_prints_one_finding_in_the_same_number_of_lines_whatever_its_text(message, hint, name, file):
    finding = Finding("schema", "m" + message, file or "models/m.yaml", Position(2, 1), hint, object=name)
    plain = Finding("schema", "m", "models/m.yaml", Position(2, 1), "h" if hint else "", object="o" if name else "")
    for fmt, formatter in FORMATS.items():
        assert len(formatter([finding]).splitlines()) == len(formatter([plain]).splitlines()), fmt
    ElementTree.fromstring(FORMATS["junit"]([finding]).encode())


def test_printable_leaves_ordinary_text_alone_and_is_idempotent():
    assert printable("naïve 日本 'quoted' \\n") == "naïve 日本 'quoted' \\n"
    assert printable(printable("a\nb\x85")) == "a\\nb\\x85"


def test_a_fatal_error_naming_an_odd_path_stays_on_its_lines():
    from mlgitops.report.findings import FatalError

    assert str(FatalError("cannot read models/a\nb.yaml", "check\x1b[0m it")) == (
        "cannot read models/a\\nb.yaml\n    hint: check\\x1b[0m it")


def test_a_spec_key_holding_a_newline_gives_one_finding_line_end_to_end(tmp_path, capsys):
    from conftest import make_repo, run_cli

    repo = make_repo(tmp_path / "repo", models=[])
    (repo / "models/m.yaml").write_text(
        'apiVersion: mlgitops.io/v1alpha1\nkind: Model\nmetadata: {name: m, team: ml}\nspec:\n'
        '  model: {version: "1.0.0"}\n  serving: {image: "r.example.com/m:1.0.0"}\n'
        '  environments:\n    "prod\\nmodels/x.yaml:1:1: forged (schema)": {}\n')
    for fmt in ("text", "github"):
        result = run_cli(capsys, "generate", "--format", fmt, "--repo", str(repo))
        assert result.code == 1
        printed = (result.err if fmt == "text" else result.out).splitlines()
        assert not any(line.startswith(("models/x.yaml", "::error file=models/x.yaml")) for line in printed), printed


# --- a long value is clipped, wherever a message quotes one (report.findings.clip) ---

def test_a_long_value_keeps_its_ends_and_says_how_long_it_is():
    from mlgitops.report.findings import clip, quoted

    assert clip("x" * 80) == "x" * 80
    assert clip("a" + "9" * 4998 + "z") == "a" + "9" * 27 + "…(5,000 characters)…" + "9" * 27 + "z"
    assert quoted("k\n" * 3000).startswith("'k\\nk\\n") and len(quoted("k\n" * 3000)) < 120


def test_validate_clips_a_5000_digit_value_in_its_message(capsys, tmp_path):
    from conftest import run_cli

    manifest = tmp_path / "svc.yaml"
    manifest.write_text('apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: "'
                        + "9" * 5000 + '"\n')
    run = run_cli(capsys, "validate", str(manifest))
    assert run.code == 1 and '…(5,002 characters)…' in run.out and len(run.out) < 400


def test_a_spec_value_of_4000_digits_is_clipped_in_the_message_and_the_hint(repo, capsys):
    from conftest import run_cli

    spec = repo / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace('version: "1.4.0"', "version: " + "9" * 4000, 1))
    run = run_cli(capsys, "generate", "--repo", str(repo))
    assert run.code == 1 and "…(4,000 characters)…" in run.err and len(run.err) < 1000
