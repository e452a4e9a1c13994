"""Every formatting a person or a formatter writes can be edited: after each `set` and `promote`, only the
intended lines differ from the original, the rest of the data is untouched, and the result validates.

The corpus: the example specs as committed, Prettier 3.10.2's output for each (`npx prettier --write`,
committed under tests/cases/edit-corpus/), 4-space indents, all-block, JSON, odd files people write
(comments in every position, single quotes, double spaces inside braces, `---`/`...` markers, mixed
indents, multi-line flow overrides), and CRLF, BOM and no-final-newline variants.
"""

from __future__ import annotations

import difflib
from functools import cache

import pytest
import yaml
from conftest import EXHAUSTIVE, ROOT
from mlgitops.commands import promote, spec_edit
from mlgitops.commands import set as set_command
from mlgitops.spec import edit
from mlgitops.spec.config import load_config
from mlgitops.spec.repo import Repo

CORPUS = ROOT / "tests" / "cases" / "edit-corpus"
EXAMPLES = ("fraud-detector", "house-prices", "image-classifier")
VARIANTS = {
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "bom": lambda t: "\ufeff" + t,
    "no-final-newline": lambda t: t.rstrip("\n"),
}


def _formattings() -> dict[str, str]:
    found = {f"example-{m}": (ROOT / "models" / f"{m}.yaml").read_text() for m in EXAMPLES}
    for name, change in VARIANTS.items():
        found.update({f"{name}-{m}": change((ROOT / "models" / f"{m}.yaml").read_text()) for m in EXAMPLES})
    found.update({f"crlf-prettier-{m}": VARIANTS["crlf"]((CORPUS / f"prettier-{m}.yaml").read_text()) for m in EXAMPLES})
    found.update({p.stem: p.read_text() for p in sorted(CORPUS.glob("*.yaml"))})
    return found


FORMATTINGS = _formattings()


def _families() -> dict[str, str]:
    """Each formatting's family (its name without the example it was made from) -> the example that make
    test edits in that family: the first family the first example, the next one the next, in turn."""
    stems = dict.fromkeys(next((n.removesuffix(f"-{m}") for m in EXAMPLES if n.endswith(f"-{m}")), n)
                          for n in FORMATTINGS)
    return {stem: EXAMPLES[i % len(EXAMPLES)] for i, stem in enumerate(stems)}


def _formatting_marks(name: str, families: dict[str, str]) -> tuple:
    """The committed examples in every loop. The other formattings (same edits, other layouts) are slow; make
    test edits each layout once (odd files, and one example per family, the families spread over the three
    examples), and the same layout on the two other examples is exhaustive (make test-all and .ci/run run all)."""
    if name.startswith("example-"):
        return ()
    stem, model = next(((name.removesuffix(f"-{m}"), m) for m in EXAMPLES if name.endswith(f"-{m}")), (name, None))
    return (pytest.mark.slow,) if model in (None, families[stem]) else EXHAUSTIVE


FORMATTING_CASES = [pytest.param(name, id=name, marks=_formatting_marks(name, _families())) for name in FORMATTINGS]
ENVS = ("dev", "staging", "prod")
# (id, --env, KEY=VALUE...): scalars, maps, new keys, nested new maps, nulls and removals
EDITS = [
    ("scalar", None, ("serving.replicas=5",)),
    ("scalar-in-env", "prod", ("serving.replicas=6",)),
    ("version-and-uri", "staging", ('model.version="7.0.0"', "model.uri=s3://models/m/7.0.0/weights.bin")),
    ("image", "dev", ("serving.image=registry.example.com/x/m:7.0.0",)),
    ("map", None, ("serving.resources={cpu: 750m, memory: 1Gi}",)),
    ("new-key", None, ("serving.env.NEW_FLAG=enabled",)),
    ("new-map-in-env", "staging", ("serving.resources={cpu: 500m, memory: 1Gi}",)),
    ("null-in-env", "dev", ("serving.ingress=null",)),
    ("remove-field", None, ("serving.port=null",)),
]


@cache
def _repo():
    repo = Repo(ROOT)
    config, _ = load_config(repo)
    assert config is not None
    return repo, config


def yaml_data(text: str):
    """What a YAML 1.1 reader gets from text (libyaml's: the same data as yaml.safe_load, several times faster)."""
    return yaml.load(text.removeprefix("\ufeff"), Loader=yaml.CSafeLoader)


def _session(text: str) -> spec_edit.Session:
    repo, config = _repo()
    name = yaml_data(text)["metadata"]["name"]
    session = spec_edit.session_for(repo, config, f"models/{name}.yaml", text)
    assert session is not None, "the corpus file does not validate before the edit"
    return session


def changed_original_lines(before: str, after: str) -> set[int]:
    """0-based numbers of the original's lines that were replaced or deleted (insertions change none)."""
    ops = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False).get_opcodes()
    return {i for tag, i1, i2, _, _ in ops if tag in ("replace", "delete") for i in range(i1, i2)}


@cache
def _composed(text: str) -> yaml.Node:
    """text's node tree, composed once per formatting (about 15 tests read each): node_lines only reads it."""
    return yaml.compose(text, Loader=yaml.SafeLoader)


def node_lines(text: str, path: tuple[str, ...]) -> set[int]:
    """The lines an edit of path may change: the value's own lines (and its key's), or, where path is new
    under a block map, none (the new key is inserted)."""
    text = text.removeprefix("\ufeff")
    slot = edit._find(_composed(text), path)
    node = slot.node
    if slot.depth < len(path) and isinstance(node, yaml.MappingNode) and not node.flow_style:
        return set()
    first = slot.key.start_mark.line if slot.key is not None else node.start_mark.line
    return set(range(first, text[:edit.content_end(text, node)].count("\n") + 1))


def _put(data: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        if not isinstance(data.get(key), dict):
            data[key] = {}
        data = data[key]
    if value is None and path[:2] == ("spec", path[1]) and path[1] != "environments":
        data.pop(path[-1], None)
    else:
        data[path[-1]] = value


def _assert_file_kept(before: str, after: str) -> None:
    assert after.startswith("\ufeff") == before.startswith("\ufeff")
    if "\r\n" in before:
        assert after.count("\n") == after.count("\r\n"), "a line ending changed"
    assert after.endswith("\n") == before.endswith("\n")


@pytest.mark.parametrize("edit_id,env,assignments", EDITS, ids=[e[0] for e in EDITS])
@pytest.mark.parametrize("formatting", FORMATTING_CASES)
def test_set_changes_only_the_intended_lines(formatting, edit_id, env, assignments):
    before = FORMATTINGS[formatting]
    session = _session(before)
    edits = [set_command.parse_assignment(a) for a in assignments]
    after = set_command.apply(session, edits, env)
    prefix = ("spec", "environments", env) if env else ("spec",)
    allowed = set().union(*(node_lines(before, prefix + parts) for parts, _ in edits))
    assert changed_original_lines(before, after) <= allowed, "\n".join(difflib.unified_diff(
        before.splitlines(), after.splitlines(), lineterm=""))
    expected = yaml_data(before)
    for parts, value in edits:
        _put(expected, prefix + parts, value)
    assert yaml_data(after) == expected
    _assert_file_kept(before, after)
    assert [f for f in session.validate(after) if f.severity == "error"] == []


def _effective(session, model, env):
    return [promote._value(model, env, f) for f in promote.FIELDS]


@pytest.mark.parametrize("pair", [(a, b) for a in ENVS for b in ENVS if a != b], ids=lambda p: f"{p[0]}-to-{p[1]}")
@pytest.mark.parametrize("formatting", FORMATTING_CASES)
def test_promote_changes_only_the_target_override(formatting, pair):
    source, target = pair
    before = FORMATTINGS[formatting]
    session = _session(before)
    planned = promote.plan(session, source, target)
    if planned is None:
        assert _effective(session, session.model, source) == _effective(session, session.model, target)
        return
    after, expected, _ = planned
    edited = promote.check(session, after, target, expected)
    assert edited is not None
    assert _effective(session, edited, target) == _effective(session, session.model, source)
    source_uri = promote._field(promote._written(session, session.model, source), ("model", "uri"))
    assert promote._field(promote._written(session, edited, target), ("model", "uri")) == source_uri
    allowed = node_lines(before, ("spec", "environments", target))
    assert changed_original_lines(before, after) <= allowed
    old, new = yaml_data(before), yaml_data(after)
    for data in (old, new):
        data["spec"].get("environments", {}).pop(target, None)
    assert old == new, "promote changed something outside the target's override"
    _assert_file_kept(before, after)
    assert [f for f in session.validate(after) if f.severity == "error"] == []


def test_the_corpus_holds_at_least_thirty_formattings():
    assert len(FORMATTINGS) >= 30
