"""`{version}` in model.uri: expanded per environment; a literal base version under a changed version is caught."""

from __future__ import annotations

import re

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.kube import weights
from mlgitops.spec.model import expand_version

VERSIONS = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?", fullmatch=True)
PARTS = st.text(st.characters(blacklist_characters="{}", codec="ascii"), max_size=12)


def effective(version: str, uri: str) -> dict:
    return {"spec": {"model": {"version": version, "uri": uri}, "serving": {}}}


@settings(max_examples=examples(60), deadline=None)
@given(VERSIONS, st.lists(PARTS, min_size=1, max_size=4))
def test_every_placeholder_becomes_the_environments_version(version, parts):
    uri = "{version}".join(parts)
    expanded = expand_version(effective(version, uri))["spec"]["model"]["uri"]
    assert expanded == version.join(parts)
    assert "{version}" not in expanded


def test_a_uri_without_the_placeholder_is_left_as_it_is():
    data = effective("2.0", "s3://b/m/model.pt")
    assert expand_version(data) is data


@pytest.mark.parametrize(("uri", "version", "names"), [
    ("s3://models/m/3.2.0/model.json", "3.2.0", True),
    ("/models/resnet50-2.1.0.pt", "2.1.0", True),
    ("gs://m/v1.4/weights", "1.4", True),
    ("s3://models/m/3.2.0/model.json", "3.2", False),   # 3.2 is only part of 3.2.0
    ("s3://models/m/13.2.0/model.json", "3.2.0", False),
    ("s3://models/m1/model.json", "1", False),
])
def test_a_uri_names_a_version_only_as_a_whole_part(uri, version, names):
    assert weights.names_version(uri, version) is names


def _by_regex(uri: str, version: str) -> bool:
    """kube.weights.names_version's rule as the one regex it was written as (it scans instead of compiling a
    pattern per version)."""
    return bool(version) and re.search(rf"(?<![A-Za-z0-9.])[vV]?{re.escape(version)}(?![A-Za-z0-9]|\.[0-9])",
                                       uri) is not None


NEAR = st.text(st.sampled_from("vV0123.-/_:aé"), max_size=6)


@settings(max_examples=examples(400), deadline=None)
@given(st.text(st.sampled_from("vV0123.-x"), max_size=5), NEAR, st.sampled_from(["", "v", "V", ".", "x", "/"]),
       NEAR, st.booleans())
def test_weights_names_version_is_its_regex(version, head, joint, tail, inside):
    uri = head + joint + version + tail if inside else head + tail
    assert weights.names_version(uri, version) is _by_regex(uri, version)
