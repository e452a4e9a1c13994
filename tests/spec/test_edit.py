"""Editing specs keeps every byte outside the edited lines: comments, quotes, flow maps, blank lines."""

from __future__ import annotations

import difflib

import pytest
from mlgitops.spec import edit

ODD = '''\
# leading comment
apiVersion: mlgitops.io/v1alpha1   # trailing comment
kind: Model
metadata: {name: odd, team: 'ml'}

spec:
  # between keys
  model:
    version: "1.2.0"     # quoted on purpose
    uri: 's3://b/odd/1.2.0'
  serving:
    image: "r.example.com/odd:1.2.0"
    port: 8080

    replicas: 2
    resources: {cpu: 500m, memory: 1Gi}   # flow map
    env:
      A: "x"
      B: 'y'
    args:
    - --a
    -   --b-indented-oddly-but-valid
  environments:
    prod: {serving: {replicas: 3}}   # flow override
    dev:
      serving:
        replicas: 1
        ingress: null
'''


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    ops = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines()).get_opcodes()
    return [("\n".join(before.splitlines()[i1:i2]), "\n".join(after.splitlines()[j1:j2]))
            for tag, i1, i2, j1, j2 in ops if tag != "equal"]


@pytest.mark.parametrize("text", [ODD, ODD.replace("    args:\n    - --a\n    -   --b-indented-oddly-but-valid\n", "")],
                         ids=["with-odd-list", "without"])
def test_an_unedited_round_trip_is_byte_identical(text):
    doc, findings = edit.load("models/odd.yaml", text)
    assert doc is not None and not findings
    assert doc.dump() == text


def test_editing_a_flow_override_changes_one_line():
    text = ODD.replace("    args:\n    - --a\n    -   --b-indented-oddly-but-valid\n", "")
    doc, _ = edit.load("models/odd.yaml", text)
    edit.set_value(doc, ("spec", "environments", "prod", "serving", "replicas"), 5)
    assert changed_lines(text, doc.dump()) == [
        ("    prod: {serving: {replicas: 3}}   # flow override", "    prod: {serving: {replicas: 5}}   # flow override")]


def test_a_new_key_in_a_block_map_is_one_new_line_and_quotes_survive():
    text = ODD.replace("    args:\n    - --a\n    -   --b-indented-oddly-but-valid\n", "")
    doc, _ = edit.load("models/odd.yaml", text)
    edit.set_value(doc, ("spec", "model", "version"), "1.3.0")
    edit.set_value(doc, ("spec", "environments", "dev", "serving", "port"), 9090)
    assert changed_lines(text, doc.dump()) == [
        ('    version: "1.2.0"     # quoted on purpose', '    version: "1.3.0"     # quoted on purpose'),
        ("", "        port: 9090")]


def test_removing_an_override_removes_the_maps_it_empties_but_keeps_the_environment():
    text = ODD.replace("    args:\n    - --a\n    -   --b-indented-oddly-but-valid\n", "")
    doc, _ = edit.load("models/odd.yaml", text)
    assert edit.remove(doc, ("spec", "environments", "prod", "serving", "replicas"), keep=3)
    assert changed_lines(text, doc.dump()) == [
        ("    prod: {serving: {replicas: 3}}   # flow override", "    prod: {}   # flow override")]
    assert not edit.remove(doc, ("spec", "environments", "prod", "serving", "replicas"), keep=3)
