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


# (id, text, path, value, the text after the edit): the constructs people write, each edited in place
CONSTRUCTS = [
    ("after-a-literal-block-scalar", "a:\n  note: |\n    one\n    two\n\n# tail\nc: 2\n", ("a", "x"), 5,
     "a:\n  note: |\n    one\n    two\n  x: 5\n\n# tail\nc: 2\n"),
    ("a-literal-block-scalar-replaced", "a:\n  note: |\n    one\n\nc: 2\n", ("a", "note"), "short",
     "a:\n  note: short\n\nc: 2\n"),
    ("a-comment-after-the-key", "a:   # hi\n  # inner\n  b: 1\nc: 2\n", ("a", "d"), {"e": 1},
     "a:   # hi\n  # inner\n  b: 1\n  d:\n    e: 1\nc: 2\n"),
    ("an-explicit-key", "? a\n: 1\nb: 2\n", ("a",), 3, "? a\n: 3\nb: 2\n"),
    ("crlf-and-a-new-list", "a:\r\n  b: 1\r\nc: 2\r\n", ("a", "z"), [1, {"k": "v"}],
     "a:\r\n  b: 1\r\n  z:\r\n    - 1\r\n    - k: v\r\nc: 2\r\n"),
    ("an-empty-flow-map", "a: {}\nb: []\n", ("a", "x", "y"), "z", "a: {x: {y: z}}\nb: []\n"),
    ("a-null-written-as-tilde", "a: ~\nb: 1\n", ("a", "k"), 1, "a:\n  k: 1\nb: 1\n"),
    ("json-style-keys", '{"a": {"d": 2}}\n', ("a", "e"), "x: y", '{"a": {"d": 2, "e": "x: y"}}\n'),
    ("prettier-multi-line-flow", "a:\n  {\n    b: 1,\n    c: 2,\n  }\n", ("a", "d"), 3,
     "a:\n  {\n    b: 1,\n    c: 2,\n    d: 3,\n  }\n"),
    ("spaces-inside-braces", "a: {  b: 1,  c: 2  }\n", ("a", "d"), {"e": 1}, "a: {  b: 1,  c: 2,  d: {  e: 1  }  }\n"),
    ("a-four-space-indent", "a:\n    b:\n        c: 1\n", ("a", "x", "y"), 2, "a:\n    b:\n        c: 1\n    x:\n        y: 2\n"),
    ("no-final-newline", "a:\n  b: 1", ("a", "c"), 2, "a:\n  b: 1\n  c: 2"),
    ("a-byte-order-mark", "\ufeffa: 1\n", ("a",), 2, "\ufeffa: 2\n"),
    ("cr-only-line-endings", "a:\r  b: 1\rc: 2\r", ("a", "z"), [1, {"k": "v"}],
     "a:\r  b: 1\r  z:\r    - 1\r    - k: v\rc: 2\r"),
    ("cr-only-and-a-bom", "\ufeffa:\r  b: 1\r", ("a", "b"), 2, "\ufeffa:\r  b: 2\r"),
]


@pytest.mark.parametrize("text,path,value,after", [c[1:] for c in CONSTRUCTS], ids=[c[0] for c in CONSTRUCTS])
def test_each_construct_is_edited_in_place(text, path, value, after):
    doc, _ = edit.load("models/m.yaml", text)
    edit.set_value(doc, path, value)
    assert doc.dump() == after


def test_an_alias_is_named_rather_than_edited_through_its_anchor():
    doc, _ = edit.load("models/m.yaml", "a: &x 1\nb: *x\n")
    with pytest.raises(edit.EditError, match=r"models/m.yaml:1:4: .*b is an alias \(\*\) of the anchor"):
        edit.set_value(doc, ("b",), 2)
    assert doc.dump() == "a: &x 1\nb: *x\n"


@pytest.mark.parametrize("text,col", [("a:\tb\n", 3), ("a: b\t# aligned with a tab\n", 5), ("a: {b:\t1}\n", 7)],
                         ids=["after-the-colon", "before-a-comment", "in-a-flow-map"])
def test_a_tab_between_tokens_is_refused_at_the_tab_saying_what_to_do(text, col):
    doc, findings = edit.load("models/m.yaml", text)
    assert doc is None
    assert [(f.position.line, f.position.col, f.hint) for f in findings] == [(1, col, edit.TAB_HINT)]
