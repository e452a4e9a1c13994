"""`mlgitops set MODEL KEY=VALUE... [--env ENV]`: edit fields of a spec, keeping every comment.

KEY is a dotted path under `spec` (`serving.replicas`); with --env the value goes into that
environment's override. VALUE is read as YAML (`3`, `true`, `null`, `{cpu: "1"}`), except that a field
the schema types as a string keeps the text as written (`model.version=1.10` stays "1.10").
"""

from __future__ import annotations

import re

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
    # a dot inside a key (a label such as example.com/tier) is written \.
    parts = tuple(p.replace("\\.", ".") for p in re.split(r"(?<!\\)\.", key.strip().removeprefix("spec.")))
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
    text = apply(session, edits, env)
    edited, _ = session.parse(text)
    for parts, value in edits:
        for warning in no_effect(session, edited, parts, value, env):
            click.echo(f"warning: {'.'.join(parts)}: {warning}", err=True)
    if text == session.doc.text:
        click.echo(f"{session.rel} already says so: nothing changed", err=True)
        return 0
    return spec_edit.save(session, text)


def apply(session: spec_edit.Session, edits: list[tuple[tuple[str, ...], object]], env: str | None) -> str:
    """The spec's text with each KEY=VALUE set (a null with no --env removes the field)."""
    prefix = ("spec", "environments", env) if env else ("spec",)
    for parts, value in edits:
        target = prefix + parts
        if value is None and env is None:
            edit.remove(session.doc, target, keep=1)
        else:
            edit.set_value(session.doc, target, value, quote=_string_typed(parts) and parts[-1] == "version")
    return session.doc.dump()


def _governs_replicas(spec: dict, parts: tuple[str, ...]) -> str | None:
    auto = (spec.get("serving") or {}).get("autoscaling")
    if parts == ("serving", "replicas") and auto:
        return (f"serving.autoscaling governs the pod count there (an HPA of {auto.get('minReplicas', 1)}–"  # noqa: RUF001
                f"{auto.get('maxReplicas')} replicas; the Deployment carries no replicas)")
    return None


def _governs_canary(spec: dict, parts: tuple[str, ...]) -> str | None:
    if parts[:2] == ("serving", "canary") and len(parts) > 2 and not (spec.get("serving") or {}).get("canary"):
        return "there is no canary there (serving.canary is null), so its fields reach no object"
    return None


# Why a field can have no effect in an environment: one function per cause, each naming what governs it.
GOVERNORS = (_governs_replicas, _governs_canary)


def no_effect(session: spec_edit.Session, edited, parts: tuple[str, ...], value, env: str | None) -> list[str]:
    """Each environment where the field just set changes nothing, and why (for a null: nothing to say)."""
    if edited is None or value is None:
        return []
    found = []
    for name in [env] if env else session.config.env_names:
        node = (edited.doc.data["spec"].get("environments") or {}).get(name) or {}
        for key in parts:
            node = node.get(key) if isinstance(node, dict) else None
        if env is None and node is not None:
            found.append(f"has no effect in {name}: its override sets {'.'.join(parts)} "
                         f"(spec.environments.{name}.{'.'.join(parts)})")
            continue
        reasons = [why for governor in GOVERNORS if (why := governor(edited.effective[name]["spec"], parts))]
        found += [f"has no effect in {name}: {why}" for why in reasons]
    return found
