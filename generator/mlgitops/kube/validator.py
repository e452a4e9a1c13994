"""Kubernetes resources -> verdicts, with kubeconform's vocabulary and rules.

For each document: empty (or null) is no resource at all; a parse error, a duplicate key (strict),
a document that is not a map, a missing `kind` or `apiVersion` is an *error*; a `kind: List` (any
case, with an apiVersion) stands for its `items`, each judged on its own; a kind listed in `skip`
(as `Kind` or `apiVersion/Kind`) is *skipped*; a kind with no schema is an *error*, or *skipped*
with ignore_missing_schemas; otherwise the schema decides between *valid* and *invalid*.
Pure: documents and options in, results out. Schemas come from kubeschemas (compiled once).

Where we are stricter than kubeconform, on purpose: a duplicate key inside a `kind: List` is an
error (kubeconform re-reads Lists without -strict and misses it), and a List whose `items` is not
a list is an error (kubeconform silently finds no resource in it).
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mlgitops.kube import manifests
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.manifests import Document, positions
from mlgitops.kube.schemalocations import BUILTIN, Location
from mlgitops.report.findings import QUOTED_AT_MOST, clip
from mlgitops.report.verdicts import Problem, Result, Verdict

if TYPE_CHECKING:
    from mlgitops.kube import yamlexact


@dataclass(frozen=True)
class Options:
    kubernetes_version: str = kubeschemas.DEFAULT_KUBERNETES_VERSION
    strict: bool = True
    skip: frozenset[str] = field(default_factory=frozenset)  # "Kind" or "apiVersion/Kind"
    ignore_missing_schemas: bool = False
    locations: tuple[Location, ...] = (BUILTIN,)  # where schemas are looked up, in order


def _escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _problems(validator: Any, data: Any, prefix: str) -> tuple[Problem, ...]:
    out = []
    for error in validator.iter_errors(data):
        path = prefix + "".join("/" + _escape(p) for p in error.instance_path)
        unexpected = getattr(error.kind, "unexpected", None)
        if unexpected:  # point at the unknown field itself, not at the object holding it
            path += "/" + _escape(min(unexpected))
        out.append(Problem(_clipped(error.message, error.instance), path))
    return tuple(sorted(out, key=lambda p: p.path))


MESSAGE_AT_MOST = 400  # characters of a validator's message (a value it quotes clipped first)


def _clipped(message: str, instance: Any) -> str:
    """The validator's message with the value it quotes clipped (report.findings.clip): it writes the value as
    compact JSON; whatever else makes it long (an object's many keys), the message itself clipped."""
    if len(message) <= QUOTED_AT_MOST:
        return message
    try:
        value = json.dumps(instance, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        value = ""
    if len(value) > QUOTED_AT_MOST and value in message:
        message = message.replace(value, clip(value))
    return clip(message, MESSAGE_AT_MOST)


def _name_and_namespace(metadata: Any) -> tuple[str, str]:
    """metadata's name and namespace, "" for what is missing or not a string (once per resource: no helper calls)."""
    if not isinstance(metadata, dict):
        return "", ""
    name, generate_name, namespace = metadata.get("name"), metadata.get("generateName"), metadata.get("namespace")
    if isinstance(generate_name, str):
        name = generate_name + "{{ generateName }}"  # kubeconform's convention
    return name if isinstance(name, str) else "", namespace if isinstance(namespace, str) else ""


def _is_list(kind: Any, api_version: Any) -> bool:
    """A `kind: List` (any case, with an apiVersion) stands for its items."""
    return isinstance(kind, str) and kind.lower() == "list" and isinstance(api_version, str) and bool(api_version)


def _kind_and_api_version(data: Any) -> tuple[str, str] | None:
    """An object's kind and apiVersion, None unless it is a map with both (non-empty strings)."""
    if isinstance(data, dict):
        kind, api_version = data.get("kind"), data.get("apiVersion")
        if isinstance(kind, str) and kind and isinstance(api_version, str) and api_version:
            return kind, api_version
    return None


_UNKNOWN = object()


class _Judge:
    def __init__(self, options: Options, schemas: kubeschemas.SchemaSet):
        self.options = options
        self.schemas = schemas
        self._validators: dict[tuple[str, str], Any] = {}  # (apiVersion, kind) -> validator, None: skipped or none
        # (apiVersion, kind) -> the validator of a document judged by valid_read(), None: never judged there
        # (a List, an empty kind or apiVersion, a kind skipped or without a schema)
        self._fast: dict[tuple[str, str], Any] = {}

    def validator(self, api_version: str, kind: str) -> Any | None:
        """The compiled validator of a kind, None when it is skipped (--skip) or has no schema."""
        skip = self.options.skip
        if kind in skip or f"{api_version}/{kind}" in skip:
            found = None
        else:
            found = self.schemas.validator(api_version, kind)
        self._validators[api_version, kind] = found
        return found

    def accepted(self, source: str, index: int, line: int, data: dict[str, Any], kind: str, api_version: str,
                 item: int | None = None) -> Result | None:
        """The Result of a resource (with a kind and an apiVersion) its schema accepts; None for any other."""
        validator = self._validators.get((api_version, kind), _UNKNOWN)
        if validator is _UNKNOWN:
            validator = self.validator(api_version, kind)
        if validator is None or not validator.is_valid(data):  # the fast check; errors only for the invalid
            return None
        name, namespace = _name_and_namespace(data.get("metadata"))
        return Result.valid(source, index, line, kind, api_version, name, namespace, item)

    def valid_read(self, source: str, read: manifests.Read) -> Result | None:
        """document()'s one Result for a document yaml-rs read holding one resource its schema accepts (the
        common case, without a Document); None for any other document. One lookup by (apiVersion, kind)
        says whether such a document can be judged here, and with which validator: yaml-rs's strings and
        dicts are exactly str and dict, so type() is asked rather than isinstance()."""
        data = read[4]
        if type(data) is not dict:
            return None
        kind, api_version = data.get("kind"), data.get("apiVersion")
        if type(kind) is not str or type(api_version) is not str:
            return None
        validator = self._fast.get((api_version, kind), _UNKNOWN)
        if validator is _UNKNOWN:
            judged = kind and api_version and not _is_list(kind, api_version)
            validator = self._fast[api_version, kind] = self.validator(api_version, kind) if judged else None
        if validator is None or not validator.is_valid(data):  # the fast check; errors only for the invalid
            return None
        name, namespace = _name_and_namespace(data.get("metadata"))
        return Result.valid(source, read[0], read[1], kind, api_version, name, namespace)

    def located(self, doc: Document) -> list[Result]:
        """document(), its problems placed at their line and column."""
        results = self.document(doc)
        if len(results) == 1 and not results[0].problems:  # one resource without a problem: the common case
            return results
        return _locate(results, doc, self.options.strict)

    def where(self) -> str:
        """Where schemas were looked for, for a no-schema message."""
        places: list[str] = []
        for location in self.schemas.locations:
            if location.builtin:
                strictness = "" if self.schemas.strict else ", non-strict"
                place = f"the built-in schemas (Kubernetes {self.schemas.version}{strictness})"
            else:
                place = location.root + "/" if location.crds else location.describe()
            places += [] if place in places else [place]
        return " or ".join(filter(None, (", ".join(places[:-1]), places[-1])))

    def document(self, doc: Document) -> list[Result]:
        if doc.error:
            problem = Problem(doc.error, "", doc.error_line, doc.error_col)
            return [Result(doc.source, doc.index, doc.line, Verdict.ERROR, rule=doc.error_rule or "k8s-yaml",
                           problems=(problem,))]
        data = doc.data
        if data is None:
            return []
        if not isinstance(data, dict):
            return [self.resource(doc, data, "")]
        if _is_list(data.get("kind"), data.get("apiVersion")):
            return self.list_items(doc, data)
        return [self.resource(doc, data, "")]

    def list_items(self, doc: Document, data: dict[str, Any]) -> list[Result]:
        items = data.get("items")
        if items is None:
            return []
        if not isinstance(items, list):
            return [Result(doc.source, doc.index, doc.line, Verdict.ERROR, data["kind"], data["apiVersion"],
                           rule="k8s-not-object", problems=(Problem("'items' of a List must be a list", "/items"),))]
        return [self.resource(doc, item, f"/items/{i}", i) for i, item in enumerate(items) if item is not None]

    def resource(self, doc: Document, data: Any, prefix: str, item: int | None = None) -> Result:
        found = _kind_and_api_version(data)
        if found is None:
            return _malformed(doc, data, prefix, item)
        kind, api_version = found
        valid = self.accepted(doc.source, doc.index, doc.line, data, kind, api_version, item)
        if valid is not None:
            return valid
        name, namespace = _name_and_namespace(data.get("metadata"))
        ids = {"kind": kind, "api_version": api_version, "name": name, "namespace": namespace}
        validator = self._validators[api_version, kind]
        if validator is None:
            return self.unvalidated(doc, item, prefix, ids)
        return _result(doc, item, Verdict.INVALID, "k8s-schema", *_problems(validator, data, prefix), **ids)

    def unvalidated(self, doc: Document, item: int | None, prefix: str, ids: dict[str, str]) -> Result:
        """A kind skipped (--skip), or with no schema: skipped too with --ignore-missing-schemas, else an error."""
        skip = self.options.skip
        if ids["kind"] in skip or f"{ids['api_version']}/{ids['kind']}" in skip or self.options.ignore_missing_schemas:
            return _result(doc, item, Verdict.SKIPPED, "", **ids)
        where = f"{ids['api_version']} {ids['kind']} in {self.where()}"
        return _result(doc, item, Verdict.ERROR, "k8s-no-schema", Problem(f"no schema for {where}", prefix), **ids)


def _malformed(doc: Document, data: Any, prefix: str, item: int | None) -> Result:
    """Not an object, or one without a kind or an apiVersion."""
    if not isinstance(data, dict):
        kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
        shown = "a list" if isinstance(data, list) else f"{kinds.get(type(data), 'a value')} ({data!r:.40})"
        return _result(doc, item, Verdict.ERROR, "k8s-not-object", Problem(f"not a Kubernetes object: {shown}", prefix))
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        return _result(doc, item, Verdict.ERROR, "k8s-missing-kind", Problem("missing 'kind'", prefix))
    return _result(doc, item, Verdict.ERROR, "k8s-missing-apiversion", Problem("missing 'apiVersion'", prefix),
                   kind=kind)


def _result(doc: Document, item: int | None, verdict: Verdict, rule: str = "", *problems: Problem,
            **ids: str) -> Result:
    return Result(doc.source, doc.index, doc.line, verdict, rule=rule, problems=problems, item=item, **ids)


def _position(exact: yamlexact.Exact, path: str) -> tuple[int, int]:
    """Where the JSON pointer path is (its key if it has one), or its nearest ancestor that is there."""
    pointer = path
    while pointer not in exact.keys and pointer not in exact.positions and pointer:
        pointer = pointer.rsplit("/", 1)[0]
    return exact.keys.get(pointer) or exact.positions.get(pointer, (0, 0))


def _locate(results: list[Result], doc: Document, strict: bool) -> list[Result]:
    """Give problems their line and column, from an exact re-read of the document's text (only for
    documents with a problem: the common, valid case costs nothing)."""
    if doc.text is None or all(p.line for r in results for p in r.problems):
        return results  # nothing to place (the valid case), or placed already
    exact = positions(doc, strict)
    if exact is None:
        return results
    out = []
    for r in results:
        problems = []
        for p in r.problems:
            line, col = _position(exact, p.path)
            problems.append(p if p.line else Problem(p.message, p.path, doc.text_line + line, col + 1))
        out.append(replace(r, problems=tuple(problems)))
    return out


def validate_documents(docs: Iterable[Document], options: Options = Options(),
                       schemas: kubeschemas.SchemaSet | None = None) -> list[Result]:
    """Verdicts for parsed documents (manifests.parse_stream), in document order."""
    judge = _Judge(options, schemas or kubeschemas.schema_set(options.kubernetes_version, options.strict,
                                                              options.locations))
    out: list[Result] = []
    for doc in docs:
        out += judge.located(doc)
    return out


SLOW_BETWEEN_COLLECTIONS = 256  # documents judged the slow way (exact reader, schema errors) between collections


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a while, then on again if it was on (left alone if it was
    off: a thread that did not turn it off never turns it on). What a stream makes is acyclic: yaml-rs's
    data, freed by reference counting once judged, and one Result per resource, kept; with the collector
    on, every 700 Results kept start a collection that walks the young ones, and every tenth of those and
    the full ones walk more of what was kept (~3 us per resource, ~9% of validating one). The few cycles
    the exact reader and the schema errors leave (7-14 objects a document) are collected as it goes
    (validate_text: the young ones, every SLOW_BETWEEN_COLLECTIONS such documents) and when it is on again."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def validate_text(text: str, source: str = "", options: Options = Options(),
                  schemas: kubeschemas.SchemaSet | None = None) -> list[Result]:
    """validate_documents(manifests.iter_stream(text, source, options.strict), ...): the same verdicts, with no
    Document made for a document holding one valid resource (the common case: see manifests.iter_read)."""
    judge = _Judge(options, schemas or kubeschemas.schema_set(options.kubernetes_version, options.strict,
                                                              options.locations))
    out: list[Result] = []
    slow = 0
    with _collector_paused():
        for item in manifests.iter_read(text, source, options.strict):
            if not isinstance(item, Document):
                valid = judge.valid_read(source, item)
                if valid is not None:
                    out.append(valid)
                    continue
                item = manifests.to_document(item, source)
            out += judge.located(item)
            slow += 1
            if slow % SLOW_BETWEEN_COLLECTIONS == 0:  # their cycles stay few, whatever the stream holds
                gc.collect(0)
    return out


def validate_objects(objects: Iterable[Any], options: Options = Options(), source: str = "",
                     schemas: kubeschemas.SchemaSet | None = None) -> list[Result]:
    """Verdicts for already-parsed objects (plain JSON-like data), document index = position."""
    return validate_documents((Document(source, i, 0, obj) for i, obj in enumerate(objects)), options, schemas)
