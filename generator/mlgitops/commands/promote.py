"""`mlgitops promote MODEL --from SRC --to DST`: DST runs SRC's model version, weights URI and image.

The spec is edited where a person would edit it: DST's override. What is carried is what SRC's
layers *write* (a `{version}` template stays a template, never its expansion), and the result is
checked on what they *mean*: after the edit, DST's effective version, weights URI and image equal
SRC's, or nothing is written. An override left equal to what DST would inherit anyway is removed
rather than kept. Already equal: says so, changes nothing, exit 0.
"""

from __future__ import annotations

import click

from mlgitops.commands import spec_edit
from mlgitops.report.findings import FatalError
from mlgitops.spec import edit
from mlgitops.spec.layers import merged
from mlgitops.spec.model import BASE, Model, serves

FIELDS = (("model", "version"), ("serving", "image"), ("model", "uri"))  # the version first: uri may name it
TRAINING_FIELDS = (("model", "version"), ("training", "image"), ("model", "uri"))  # a training-only model's
NAMES = {("model", "version"): "version", ("serving", "image"): "image", ("training", "image"): "training image",
         ("model", "uri"): "weights"}


def fields_of(model: Model) -> tuple[tuple[str, str], ...]:
    """What promoting moves: the version, the image and the weights (a training-only model: its training image)."""
    return FIELDS if serves(model.effective[BASE]["spec"]) else TRAINING_FIELDS


def _value(model: Model, env: str, field: tuple[str, str]):
    """What env runs: the effective value (a `{version}` template expanded)."""
    return (model.effective[env]["spec"].get(field[0]) or {}).get(field[1])


def _written(session: spec_edit.Session, model: Model, env: str) -> dict:
    """env's spec as its layers write it: templates not expanded, defaults not filled."""
    return merged(model.layers(session.config, env), drop=("environments", "patches"))


def _field(spec: dict, field: tuple[str, str]):
    return (spec.get(field[0]) or {}).get(field[1])


def _moved(before: Model, after: Model, env: str, wanted: dict) -> str:
    """'version 3.1.4 → 3.3.0, weights s3://…/3.1.4/… → s3://…/3.3.0/… (template …)'."""
    parts = []
    for field in fields_of(before):
        old, new = _value(before, env, field), _value(after, env, field)
        if old != new:
            template = wanted.get(field)
            how = f" (from {template})" if isinstance(template, str) and "{version}" in template else ""
            parts.append(f"{NAMES[field]} {old} → {new}{how}")
    return ", ".join(parts) or "nothing"


def _drop_redundant(session: spec_edit.Session, text: str, env: str, fields) -> str:
    """Remove each override of fields whose removal leaves what env runs unchanged."""
    promoted, _ = session.parse(text)
    if promoted is None:
        return text
    runs = [_value(promoted, env, f) for f in fields_of(session.model)]
    for field in fields:
        trial = edit.load(session.rel, text)[0]
        if trial is None or not edit.remove(trial, ("spec", "environments", env, *field), keep=3):
            continue
        again, _ = session.parse(trial.dump())
        if again is not None and [_value(again, env, f) for f in fields_of(session.model)] == runs:
            text = trial.dump()
    return text


def promote_canary(repo_path: str | None, name: str, env: str) -> int:
    """The canary of env becomes its stable version (version, image, URI), and the canary goes."""
    with spec_edit.transaction(repo_path):
        return _promote_canary(repo_path, name, env)


def _promote_canary(repo_path: str | None, name: str, env: str) -> int:
    session, code = spec_edit.open_spec(repo_path, name)
    if session is None:
        return code
    if env not in session.config.env_names:
        raise FatalError(f"no environment '{env}'", f"environments: {', '.join(session.config.env_names)}")
    model = session.model
    canary = (_written(session, model, env).get("serving") or {}).get("canary")
    if not canary:
        click.echo(f"{name} has no canary in {env}: nothing to promote", err=True)
        return 0
    override = ("spec", "environments", env)
    wanted = {("model", "version"): canary["version"], ("serving", "image"): canary["image"]}
    if canary.get("uri"):  # the canary's own weights; else the stable template names the new version
        wanted[("model", "uri")] = canary["uri"]
    for field, value in wanted.items():
        edit.set_value(session.doc, override + field, value, quote=field[1] == "version")
    removed = edit.remove(session.doc, (*override, "serving", "canary"), keep=3)
    after, _ = session.parse(session.doc.dump())
    if not removed or (after is not None and after.effective[env]["spec"]["serving"].get("canary")):
        edit.set_value(session.doc, (*override, "serving", "canary"), None)  # the base has one: null removes it
    text = _drop_redundant(session, session.doc.dump(), env, list(wanted))
    runs = model.effective[env]["spec"]["serving"]["canary"]  # what the canary runs, its weights expanded
    expected = {("model", "version"): runs["version"], ("serving", "image"): runs["image"],
                ("model", "uri"): runs.get("uri")}
    return _finish(session, text, env, expected, wanted, f"promoting the canary of {name} in {env}")


def _finish(session: spec_edit.Session, text: str, env: str, expected: dict, wanted: dict, what: str) -> int:
    promoted = check(session, text, env, expected)
    if promoted is not None:
        click.echo(f"{what}: {_moved(session.model, promoted, env, wanted)}", err=True)
    return spec_edit.save(session, text)


def _drop_inherited(session: spec_edit.Session, text: str, env: str, wanted: dict) -> str:
    """The text without the overrides of env that now equal what env inherits anyway."""
    promoted, _ = session.parse(text)
    if promoted is None:
        return text
    override = ("spec", "environments", env)
    for field in list(wanted):
        trial = edit.load(session.rel, text)[0]
        if trial is None or not edit.remove(trial, override + field, keep=3):
            continue
        again, _ = session.parse(trial.dump())
        if again is not None and _value(again, env, field) == wanted[field]:
            text = trial.dump()
    return text


def _override_where_needed(session: spec_edit.Session, target: str, wanted: dict) -> None:
    """First drop target's overrides of FIELDS, then write back only those it does not inherit."""
    override = ("spec", "environments", target)
    for field in fields_of(session.model):
        edit.remove(session.doc, override + field, keep=3)
    inherited, _ = session.parse(session.doc.dump())
    for field in fields_of(session.model):
        got = _value(inherited, target, field) if inherited else None
        if got != wanted[field] and wanted[field] is not None:
            edit.set_value(session.doc, override + field, wanted[field], quote=field[1] == "version")


def _known_environments(session: spec_edit.Session, *envs: str) -> None:
    for env in envs:
        if env not in session.config.env_names:
            raise FatalError(f"no environment '{env}'", f"environments: {', '.join(session.config.env_names)}")


def run(repo_path: str | None, name: str, source: str, target: str) -> int:
    with spec_edit.transaction(repo_path):
        return _promote(repo_path, name, source, target)


def _promote(repo_path: str | None, name: str, source: str, target: str) -> int:
    session, code = spec_edit.open_spec(repo_path, name)
    if session is None:
        return code
    _known_environments(session, source, target)
    if source == target:
        raise FatalError("--from and --to name the same environment")
    planned = plan(session, source, target)
    if planned is None:
        expected = _value(session.model, source, FIELDS[0])
        click.echo(f"{target} already runs what {source} runs ({name} {expected}): nothing changed", err=True)
        return 0
    text, expected, wanted = planned
    return _finish(session, text, target, expected, wanted, f"promoting {name} from {source} to {target}")


def plan(session: spec_edit.Session, source: str, target: str) -> tuple[str, dict, dict] | None:
    """The spec's text with target running source's version, image and weights (None: it already does),
    what target must then run (expanded) and what was written (templates kept)."""
    model = session.model
    fields = fields_of(model)
    expected = {f: _value(model, source, f) for f in fields}
    if all(_value(model, target, f) == expected[f] for f in fields):
        return None
    written = _written(session, model, source)
    wanted = {f: _field(written, f) for f in fields}
    override = ("spec", "environments", target)
    trial = edit.load(session.rel, session.doc.dump())[0]
    assert trial is not None
    for field in fields:  # what target would inherit without its own overrides of these fields
        edit.remove(trial, override + field, keep=3)
    inherited, _ = session.parse(trial.dump())
    below = _written(session, inherited, target) if inherited is not None else {}
    for field in fields:  # an override still needed is edited in place; the others go
        if wanted[field] is not None and _field(below, field) != wanted[field]:
            edit.set_value(session.doc, override + field, wanted[field], quote=field[1] == "version")
        else:
            edit.remove(session.doc, override + field, keep=3)
    return session.doc.dump(), expected, wanted


def check(session: spec_edit.Session, text: str, env: str, expected: dict) -> Model | None:
    """The edited spec, if env runs exactly expected (version, image and the weights they name)."""
    promoted, _ = session.parse(text)
    wrong = [NAMES[f] for f in fields_of(session.model) if promoted is not None and expected[f] and _value(promoted, env, f) != expected[f]]
    if wrong:
        raise FatalError(f"cannot make {env} run {', '.join(wrong)} as asked by editing {session.rel}",
                         "an environment default in mlgitops.yaml may pin these fields; edit by hand")
    return promoted
