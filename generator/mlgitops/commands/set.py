"""`mlgitops set MODEL KEY=VALUE... [--env ENV]`: edit fields of a spec, keeping every comment.

KEY is a dotted path under `spec` (`serving.replicas`); with --env the value goes into that
environment's override. VALUE is read as YAML (`3`, `true`, `null`, `{cpu: "1"}`), except that a field
the schema types as a string keeps the text as written (`model.version=1.10` stays "1.10").
"""

from __future__ import annotations

import click

from mlgitops.commands import spec_edit
from mlgitops.report.findings import FatalError
from mlgitops.spec import edit, yamlsource
from mlgitops.spec.schema import load_schema

NOT_YAML = ("yaml-syntax", "yaml-tab", "yaml-multiple-documents")  # such a value is kept as the text written


def _string_typed(path: tuple[str, ...]) -> bool:
    node = load_schema("model.schema.json")["properties"]["spec"]
    for key in path:
        props = node.get("properties") or {}
        if key not in props:
            return False
        node = props[key]
    return node.get("type") == "string"


def parse_assignment(text: str) -> tuple[tuple[str, ...], object]:
    key, sep, value = text.partition("=")
    parts = tuple(key.strip().removeprefix("spec.").split("."))
    if not sep or not all(parts):
        raise FatalError(f"'{text}' is not KEY=VALUE", "for example: serving.replicas=3")
    if parts[0] == "environments":
        raise FatalError(f"'{key}': use --env ENV to edit an environment's override")
    parsed = _parse_value(key, value) if value.strip() else ""
    if _string_typed(parts) and not isinstance(parsed, str):
        parsed = value
    return parts, parsed


def _parse_value(key: str, value: str) -> object:
    """VALUE read as YAML the way specs are read: no anchors or aliases (a nested alias bomb never
    expands), no tags, bounded nesting, no control characters; text that is not YAML stays text."""
    doc, findings = yamlsource.load(f"value of {key}", value.encode("utf-8", "surrogateescape"))
    refused = [f for f in findings if f.rule not in NOT_YAML]
    if refused:
        first = refused[0]
        raise FatalError(f"'{key}': {first.message} ({first.rule})", first.hint)
    if doc is None or findings:
        return value
    return doc.data


def run(repo_path: str | None, name: str, assignments: tuple[str, ...], env: str | None) -> int:
    if not assignments:
        raise FatalError("nothing to set", "give KEY=VALUE, e.g. serving.replicas=3")
    edits = [parse_assignment(a) for a in assignments]
    with spec_edit.transaction(repo_path):
        return _apply(repo_path, name, edits, env)


def _apply(repo_path: str | None, name: str, edits: list[tuple[tuple[str, ...], object]], env: str | None) -> int:
    session, code = spec_edit.open_spec(repo_path, name)
    if session is None:
        return code
    if env is not None and env not in session.config.env_names:
        raise FatalError(f"no environment '{env}'", f"environments: {', '.join(session.config.env_names)}")
    prefix = ("spec", "environments", env) if env else ("spec",)
    for parts, value in edits:
        target = prefix + parts
        if value is None and env is None:
            edit.remove(session.doc, target, keep=1)
        else:
            edit.set_value(session.doc, target, value, quote=_string_typed(parts) and parts[-1] == "version")
    text = session.doc.dump()
    if text == session.doc.text:
        click.echo(f"{session.rel} already says so: nothing changed", err=True)
        return 0
    return spec_edit.save(session, text)
