"""Emitted YAML is read back identically by YAML 1.1 parsers: PyYAML's resolver and kustomize's Go one."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.kube import kustomize
from mlgitops.tree.yamlemit import dumps

TRICKY = ["y", "Y", "n", "yes", "No", "on", "OFF", "~", "null", "Null", "true", "False", "1.10", "012", "0o17",
          "0x1F", "1e3", "1E3", "-1", "+1", ".5", "1_000", "1:20", "190:20:30", ".inf", "-.Inf", ".NaN",
          "2024-01-01", "2001-12-14t21:59:43.10-05:00", "8080", "<<", "=", "", " ", " a", "a ", "-", "- a",
          "a: b", "a #b", "#x", "@x", "`x", "!x", "&x", "*x", "|", ">", "%x", "'q'", '"q"', "a\nb", "tab\tin",
          "é", "\u2028", "\x85", "\ufeff", "\x00", "nvidia.com/gpu", "500m", "1Gi", "s3://b/k", "?", "[a]", "{a}",
          ",", "a,b", "x:", ":x", "a:b", "--- x", "...", "0", "00", "1.", "-.5", "0b101", "1e", "e1"]


@pytest.mark.parametrize("text", TRICKY, ids=[repr(t) for t in TRICKY])
def test_tricky_strings_stay_strings(text):
    doc = {"key": text, text or "empty": [text]}
    assert yaml.safe_load(dumps(doc)) == doc


def test_layout_matches_kustomize_style():
    doc = {"b": [{"x": 1, "a": [1, 2]}, [3]], "a": {}, "c": []}
    assert dumps(doc) == "a: {}\nb:\n- a:\n  - 1\n  - 2\n  x: 1\n- - 3\nc: []\n"


class GoLikeLoader(yaml.SafeLoader):
    """PyYAML, plus the plain scalars Go's parser reads as strings where PyYAML refuses: `=` and `<<` values."""


for _tag in ("tag:yaml.org,2002:value", "tag:yaml.org,2002:merge"):
    GoLikeLoader.add_constructor(_tag, lambda loader, node: loader.construct_scalar(node))

scalars = st.one_of(st.text(), st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=False), st.sampled_from(TRICKY))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(), st.sampled_from(TRICKY)), inner, max_size=4)),
    max_leaves=20)


@pytest.mark.slow
@settings(max_examples=examples(400), deadline=None)
@given(documents)
def test_any_document_round_trips_through_a_yaml_1_1_parser(doc):
    assert yaml.safe_load(dumps(doc)) == doc


@pytest.mark.slow
@settings(max_examples=examples(30), deadline=None)
@given(st.lists(st.one_of(st.text(st.characters(blacklist_categories=("Cs", "Cc"))),
                          st.sampled_from([t for t in TRICKY if t.isprintable()])), min_size=1, max_size=40))
def test_kustomize_reads_strings_back_unchanged(values):
    """Go's YAML parser (inside kustomize) is the reader that matters; round-trip a ConfigMap through it.

    Control characters are left out: kustomize itself refuses to emit them, however they are written.
    """
    data = {f"k{i}": v for i, v in enumerate(values)}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "cm.yaml").write_text(dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "c"}, "data": data}), encoding="utf-8")
        Path(folder, "kustomization.yaml").write_text("resources:\n- cm.yaml\n")
        out = yaml.load(kustomize.build(Path(folder)), Loader=GoLikeLoader)
    assert out["data"] == data
