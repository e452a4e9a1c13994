"""Unified diffs that show only what changed, also in long YAML full of repeated lines."""

from __future__ import annotations

import difflib

from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.report.textdiff import unified

LINES = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "namespace: x\n", "- name: y\n"]), max_size=40)


@settings(max_examples=examples(200), deadline=None)
@given(a=LINES, b=LINES)
def test_the_same_output_as_difflib_where_difflib_does_not_junk_lines(a, b):
    assert list(unified(a, b, "a/f", "b/f")) == list(difflib.unified_diff(a, b, "a/f", "b/f"))


def test_a_frequent_line_is_not_shown_as_changed():
    """600 objects that each say `namespace: ml-prod`: one changed replica count is one changed line."""
    block = ["kind: Deployment\n", "metadata:\n", "  name: m{i}\n", "  namespace: ml-prod\n", "spec:\n",
             "  replicas: 2\n", "---\n"]
    a = [line.format(i=i) for i in range(600) for line in block]
    b = list(a)
    b[-2] = "  replicas: 3\n"
    changed = [line for line in unified(a, b) if line[:1] in "+-" and not line.startswith(("---", "+++"))]
    assert changed == ["-  replicas: 2\n", "+  replicas: 3\n"]
