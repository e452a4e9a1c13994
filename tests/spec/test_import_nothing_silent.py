"""Nothing of the input is dropped without a word: a field added anywhere inside an object the import reads
(each mapping of each corpus input, tests/cases/import, in turn gets a key of its own) is carried into the
written spec, or a finding names it, or it lies inside a field a finding names (a hostPath volume refused as a
whole).

The importer records what it read (`Obj.used`) and reports every field left over
(spec/import_objects.leftovers); this test holds that record honest: a field marked used but not carried
would vanish here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from conftest import import_inputs, spec_text_once
from mlgitops.kube.manifests import parse_stream
from mlgitops.spec.import_objects import pointer
from mlgitops.spec.importer import import_documents

PROBE = "zz-probe-field"
# Maps whose keys are data, not fields: a key added there is a label, an annotation, a selector term. They are
# carried as a whole where the spec has them (labels, annotations, nodeSelector, podAnnotations), and a key
# added to a selector only narrows what mlgitops selects with its own labels.
FREE_FORM = ("labels", "annotations", "matchLabels", "nodeSelector", "selector", "volumeAttributes", "data")


def _maps(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at] if isinstance(data, dict) and (not at or at[-1] not in FREE_FORM) else []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, child in items:
        out += _maps(child, (*at, key))
    return out


def _with_probe(data: Any, at: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(data)
    node = out
    for key in at:
        node = node[key]
    node[PROBE] = "zz-probe-value"
    return out


def _text(docs: list[Any]) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)


def _covered(reported: set[str], at: str) -> bool:
    while at:
        if at in reported:
            return True
        at = at.rsplit("/", 1)[0]
    return "" in reported


@pytest.mark.parametrize("source", import_inputs())
def test_a_field_added_anywhere_is_carried_or_reported(source):
    docs = [d.data for d in parse_stream(source.read_text(), "input.yaml") if isinstance(d.data, dict)]
    imported, _ = import_documents(parse_stream(_text(docs), "input.yaml"))
    read = {o.doc.index for model in imported for o in model.objects if not o.prefix}
    silent, texts = [], {}
    for i in sorted(read):
        for at in _maps(docs[i]):
            mutated = [_with_probe(d, at) if j == i else d for j, d in enumerate(docs)]
            models, findings = import_documents(parse_stream(_text(mutated), "input.yaml"))
            said = " ".join(f.message for f in findings) + " ".join(
                spec_text_once(texts, m.spec, m.sources, m.findings, ["dev"]) for m in models)
            obj = next(o for m in models for o in m.objects if o.doc.index == i)
            if PROBE not in said and not _covered(obj.reported, pointer(*at, PROBE)):
                silent.append(pointer(*at))
    assert not silent, f"a field added here vanished without a word: {silent}"
