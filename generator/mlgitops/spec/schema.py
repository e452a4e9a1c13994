"""Validate plain data against the bundled JSON Schemas and turn each error into a positioned Finding.

Messages are written for people: unknown fields get a "did you mean", an `x-error` annotation in the
schema replaces the validator's regular-expression text, and a value YAML typed behind the author's
back (`version: 1.10`, `level: on`) gets a hint to quote it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

import jsonschema_rs

from mlgitops.report.findings import Finding, Position, clip, quoted
from mlgitops.report.redact import SECRET_HINT, is_secret_name
from mlgitops.spec.yamlsource import join

# Where a pointer into the validated data lands in a file: (file, position of value, position of key).
Locate = Callable[[str, bool], tuple[str, Position]]


@cache
def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("mlgitops.schemas").joinpath(name).read_text(encoding="utf-8")
    return cast("dict[str, Any]", json.loads(text))


@cache
def validator(name: str) -> Any:
    return jsonschema_rs.Draft202012Validator(load_schema(name))


def subschema(schema: dict[str, Any], path: Any) -> dict[str, Any]:
    node = schema
    for token in path:
        node = node[token] if isinstance(node, dict) else node[int(token)]
    return node


_TYPE_NAMES = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
               list: "a list", dict: "a mapping", type(None): "null"}


def _describe(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _yaml_reading(value: Any) -> str:
    """What YAML made of an unquoted value, in YAML's words: null, the boolean true, the number 1.1."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"the number {clip(repr(value))}"


def _expected(kind: Any) -> str:
    types = kind.types if isinstance(kind.types, list) else [kind.types]
    names = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
             "object": "a mapping", "array": "a list", "null": "null"}
    return " or ".join(names.get(str(t), str(t)) for t in types)


@dataclass(frozen=True)
class SchemaCheck:
    schema_name: str
    rule: str = "schema"

    def run(self, data: Any, locate: Locate, plain: Callable[[str], str | None] = lambda p: None,
            floats: bool = False) -> list[Finding]:
        """The findings on data; with floats (data as a file holds it, with a float in it), also each whole
        float where the schema wants an integer."""
        schema = load_schema(self.schema_name)
        out: list[Finding] = []
        failed: set[str] = set()
        for error in validator(self.schema_name).iter_errors(data):
            out.extend(self._findings(schema, error, data, locate, plain))
            failed.add(_pointer(typed_path(data, error.instance_path)))
        return out + self._whole_floats(data, locate, failed) if floats else out

    def _whole_floats(self, data: Any, locate: Locate, failed: set[str]) -> list[Finding]:
        """`port: 8080.0`: JSON Schema counts a whole float as an integer, but it is written out as
        `containerPort: 8080.0` (and a Flux `timeout: 61.0m` derived from it). Validated once more with
        each whole float moved off the integers, a value that passed and now fails was read as an integer."""
        floats: dict[str, float] = {}
        nudged = _nudge_whole_floats(data, "", floats)
        if not floats:
            return []
        out = []
        for error in validator(self.schema_name).iter_errors(nudged):
            ipath = typed_path(nudged, error.instance_path)
            pointer = _pointer(ipath)
            if pointer in floats and pointer not in failed and error.kind.name in ("type", "anyOf", "oneOf"):
                file, pos = locate(pointer, False)
                value = floats.pop(pointer)
                out.append(Finding(self.rule, f"'{field_name(ipath)}' must be an integer, not the number {value!r}",
                                   file, pos, f"write {int(value)}, without the decimal point"))
        return out

    def _findings(self, schema: dict[str, Any], error: Any, data: Any, locate: Locate,
                  plain: Callable[[str], str | None]) -> list[Finding]:
        ipath = typed_path(data, error.instance_path)
        at = _Error(schema, error, data, ipath, _pointer(ipath), field_name(ipath),
                    subschema(schema, list(error.schema_path)[:-1]), locate)
        handler = _BY_KIND.get(error.kind.name)
        if handler is not None:
            return handler(at, self.rule)
        return [_value_finding(at, self.rule, plain)]


@dataclass(frozen=True)
class _Error:
    """One validation error and what every message about it needs."""
    schema: dict[str, Any]
    error: Any
    data: Any
    ipath: list[Any]
    pointer: str
    field: str
    parent: dict[str, Any]  # the schema holding the keyword that failed
    locate: Locate


def _unknown_fields(at: _Error, rule: str) -> list[Finding]:
    known = sorted(at.parent.get("properties", {}))
    found = []
    for extra in at.error.kind.unexpected:
        close = difflib.get_close_matches(extra, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else (
            f"known fields here: {', '.join(known)}" if known else "")
        file, pos = at.locate(join(at.pointer, extra), True)
        text, hint = _misindented_text(at, extra, f"unknown field {quoted(extra)}", hint)
        found.append(Finding("unknown-field", text, file, pos, hint))
    return found


def _misindented_text(at: _Error, extra: str, text: str, hint: str) -> tuple[str, str]:
    section = _misindented(at.schema, at.ipath, extra)
    if not section:
        return text, hint
    env = str(at.ipath[2])
    if env in at.schema["$defs"]["override"]["properties"]:  # `serving:` itself too shallow
        return (text + f" in environment {quoted(env)}: '{env}' looks indented one level too shallow",
                f"indent '{env}:' and its body one level deeper, under the environment above it")
    return (text + f" in environment {quoted(env)}: the environment's body looks mis-indented",
            f"{quoted(extra)} is a field of '{section}': write it under environments.{env}.{section} "
            f"(a '{section}:' line, then the field indented one level deeper)")


def _bad_key(at: _Error, rule: str) -> list[Finding]:
    key = str(at.error.kind.error.instance)
    names = at.parent.get("propertyNames", at.parent)
    file, pos = at.locate(join(at.pointer, key), True)
    noun = {"labels": "label key", "annotations": "annotation key", "env": "env name"}.get(at.field,
                                                                                        f"{at.field} key")
    text = f"{noun} {quoted(key)} {names.get('x-error', 'is not allowed')}"
    fixed = re.sub(r"[^A-Za-z0-9_]", "_", key)
    hint = f"did you mean '{fixed}'?" if fixed != key and re.fullmatch(names.get("pattern", ""), fixed) else ""
    if "enum" in names:
        close = difflib.get_close_matches(key, names["enum"], n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(names['enum'])}"
    return [Finding(rule, text, file, pos, hint)]


def _missing(at: _Error, rule: str) -> list[Finding]:
    missing = at.error.kind.property
    file, pos = at.locate(join(at.pointer, missing), True)
    where = f"'{at.field}'" if at.ipath else "the document"
    hint = ""
    if missing == "reason":
        hint = ("relaxing a restricted Pod Security default needs a reason: say why" if "security" in at.ipath
                else "an exception needs a reason: say why the rule does not apply to this model")
    return [Finding("missing-field", f"{where} needs the field '{missing}'", file, pos, hint)]


_BY_KIND: dict[str, Callable[[_Error, str], list[Finding]]] = {
    "additionalProperties": _unknown_fields,
    "propertyNames": _bad_key,
    "required": _missing,
}

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
           "minItems", "maxItems")


def _value_finding(at: _Error, rule: str, plain: Callable[[str], str | None]) -> Finding:
    """A value that breaks its schema (type, const, enum, bounds, pattern, anyOf...), at the value."""
    name = at.error.kind.name
    whole_mapping = name in ("anyOf", "oneOf") and isinstance(subschema_value(at.data, at.ipath), dict)
    file, pos = at.locate(at.pointer, whole_mapping)
    message, hint = _value_text(at, name, plain)
    return Finding(rule, message or f"'{at.field}': {at.error.message}", file, pos, hint)


def _value_text(at: _Error, name: str, plain: Callable[[str], str | None]) -> tuple[str | None, str]:
    """The message (None: the validator's own) and hint; an `x-error` in the schema words the message."""
    own = f"'{at.field}' {at.parent['x-error']}" if "x-error" in at.parent and name in _OWN_MESSAGE else None
    if name == "type":
        return own or _type_message(at), _type_hint(at, plain)
    if name == "const":
        return own or f"'{at.field}' must be {json.dumps(at.parent['const'])}", ""
    if name == "enum":
        return own or _enum_message(at), _enum_hint(at)
    if name in _BOUNDS:
        return own or f"'{at.field}' {_bound_text(name, at.parent[name])}", ""
    return own, ""


def _type_message(at: _Error) -> str:
    return f"'{at.field}' must be {_expected(at.error.kind)}, not {_describe(subschema_value(at.data, at.ipath))}"


def _type_hint(at: _Error, plain: Callable[[str], str | None]) -> str:
    text = plain(at.pointer)
    if any(is_secret_name(t) for t in at.ipath):  # never echo a secret's value, not even in a hint
        return SECRET_HINT.replace("NAME", at.field) if field_name(at.ipath[:-1]) == "env" else \
            "write the value in quotes (it is not repeated here: its name says it is a secret)"
    if text is not None and "string" in str(at.error.kind.types):
        value = subschema_value(at.data, at.ipath)
        return f'write "{clip(text)}" in quotes: unquoted, YAML reads it as {_yaml_reading(value)}'
    return ""


def _enum_message(at: _Error) -> str:
    return f"'{at.field}' must be one of {', '.join(json.dumps(o) for o in at.parent['enum'])}"


def _enum_hint(at: _Error) -> str:
    value = subschema_value(at.data, at.ipath)
    close = difflib.get_close_matches(str(value), [str(o) for o in at.parent["enum"]], n=1)
    return f"did you mean '{close[0]}'?" if close else ""


_OWN_MESSAGE = {"pattern", "anyOf", "oneOf", "minimum", "maximum"}


def _misindented(schema: dict[str, Any], ipath: list[Any], extra: str) -> str | None:
    """For an unknown field right under environments.<env>: the section of `spec` it belongs to
    (serving, model) when it is one of that section's fields, i.e. the body lost a level of indentation."""
    if len(ipath) != 3 or ipath[:2] != ["spec", "environments"]:
        return None
    sections = schema["properties"]["spec"]["properties"]
    for section in ("serving", "model"):
        if extra in sections[section].get("properties", {}):
            return section
    return None


def typed_path(data: Any, path: Any) -> list[Any]:
    """The validator's instance path with dict keys as strings and list indexes as ints.

    (jsonschema-rs hands back a key such as "8080" as the integer 8080.)
    """
    out = []
    node = data
    for token in path:
        if isinstance(node, list):
            token = int(token)
            node = node[token]
        elif isinstance(node, dict):
            token = str(token)
            node = node.get(token)
        out.append(token)
    return out


def holds_float(plain: dict[str, str]) -> bool:
    """Whether a document's plain scalars (the text of each one YAML typed) may include a whole float: of them,
    only floats have a dot, and 99.9 is not whole (what float() cannot read, 1:30.0 or .inf, may be)."""
    for text in plain.values():
        if "." in text:
            try:
                if float(text.replace("_", "")).is_integer():
                    return True
            except ValueError:
                return True
    return False


def _pointer(ipath: list[Any]) -> str:
    return "".join(join("", t) for t in ipath)


def _nudge_whole_floats(data: Any, pointer: str, found: dict[str, float]) -> Any:
    """A copy of data with each whole float (8080.0) half a unit off (8080.5), noted in found by pointer."""
    if isinstance(data, dict):
        return {k: _nudge_whole_floats(v, join(pointer, k), found) for k, v in data.items()}
    if isinstance(data, list):
        return [_nudge_whole_floats(v, join(pointer, i), found) for i, v in enumerate(data)]
    if isinstance(data, float) and data.is_integer():
        found[pointer] = data
        return data + 0.5
    return data


def field_name(path: Any) -> str:
    """How a message names the value at an instance path: 'replicas', 'secrets[0]', 'document'."""
    if not path:
        return "document"
    tokens = list(path)
    if isinstance(tokens[-1], int):
        index = [str(tokens.pop())]
        while tokens and isinstance(tokens[-1], int):
            index.insert(0, str(tokens.pop()))
        head = str(tokens[-1]) if tokens else "document"
        return head + "".join(f"[{i}]" for i in index)
    return str(tokens[-1])


def _bound_text(keyword: str, bound: Any) -> str:
    return {
        "minimum": f"must be at least {bound}",
        "maximum": f"must be at most {bound}",
        "exclusiveMinimum": f"must be more than {bound}",
        "exclusiveMaximum": f"must be less than {bound}",
        "minLength": "must not be empty" if bound == 1 else f"must be at least {bound} characters long",
        "maxLength": f"must be at most {bound} characters long",
        "minItems": f"must have at least {bound} item{'s' * (bound != 1)}",
        "maxItems": f"must have at most {bound} item{'s' * (bound != 1)}",
    }[keyword]


def subschema_value(data: Any, path: Any) -> Any:
    node = data
    for token in path:
        node = node[token]
    return node
