"""Property: whatever mlgitops.yaml turns into, `generate` and `check` answer with findings or a tree, never a
traceback; on a non-zero exit nothing on disk changed.

Hypothesis breaks the repository's config structurally (delete a key, replace a value with any YAML value,
add a key) and textually (delete or duplicate a line, insert a tab, shift an indent, truncate, insert bytes).
"""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest
import yaml
from conftest import ROOT, examples, make_repo, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlgitops.cli import main
from mlgitops.tree.cache import location

CONFIG = (ROOT / "mlgitops.yaml").read_text()
KEYS = ["environments", "gpu", "git", "sync", "kubernetesVersion", "monitoring", "name", "namespace", "cluster",
        "quota", "policies", "defaults", "gateway", "training", "scheduling", "gpuHourBudget", "", "x"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=12),
                   st.sampled_from(["1.30", "1.99", "yes", "~", "[]", "{}", "-1"]),
                   st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.sampled_from(KEYS), st.none(),
                                                                              max_size=2))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_config(draw) -> bytes:
    data = yaml.safe_load(CONFIG)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from([p for p in _paths(data) if p]))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = draw(VALUES)
    text = yaml.safe_dump(data, sort_keys=False) if draw(st.booleans()) else CONFIG
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 2))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "dup", "tab", "indent", "bytes"]))
        if edit == "drop":
            del lines[i]
        elif edit == "dup":
            lines.insert(i, lines[i])
        elif edit == "tab":
            lines[i] = "\t" + lines[i]
        elif edit == "indent":
            lines[i] = " " + lines[i]
        else:
            lines[i] = lines[i] + draw(st.binary(max_size=4)).decode("latin-1")
    out = "".join(lines).encode("utf-8", "surrogateescape")
    return out[: draw(st.integers(0, len(out)))] if draw(st.booleans()) and len(out) > 0 and draw(st.booleans()) else out


@pytest.fixture(scope="module")
def generated_repo(tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("fuzz") / "repo")
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["generate", "--repo", str(repo)]) == 0
    return repo


def _run(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


@pytest.mark.slow
@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(config=mutated_config())
def test_a_mutated_config_never_crashes_or_half_writes(generated_repo, config):
    path = generated_repo / "mlgitops.yaml"
    cache = location(generated_repo)
    path.write_bytes(config)
    try:
        before = snapshot(generated_repo)
        code, text = _run("generate", "--repo", str(generated_repo))
        assert code in (0, 1, 2), text
        assert "Traceback" not in text
        if code != 0:
            assert snapshot(generated_repo) == before
        code, text = _run("generate", "--check", "--repo", str(generated_repo))
        assert code in (0, 1, 2) and "Traceback" not in text
    finally:
        path.write_text(CONFIG)
        shutil.rmtree(cache, ignore_errors=True)
        with contextlib.redirect_stderr(io.StringIO()):
            main(["generate", "--prune-all", "--repo", str(generated_repo)])
