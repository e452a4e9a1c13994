"""`mlgitops promote MODEL --from SRC --to DST`: DST runs SRC's model version, weights URI and image.

The spec is edited where a person would edit it: DST's override. An override left equal to what DST
would inherit anyway is removed rather than kept. Already equal: says so, changes nothing, exit 0.
"""

from __future__ import annotations

import click

from mlgitops.commands import spec_edit
from mlgitops.report.findings import FatalError
from mlgitops.spec import edit
from mlgitops.spec.model import Model

FIELDS = (("model", "version"), ("model", "uri"), ("serving", "image"))


def _value(model: Model, env: str, field: tuple[str, str]):
    return (model.effective[env]["spec"].get(field[0]) or {}).get(field[1])


def promote_canary(repo_path: str | None, name: str, env: str) -> int:
    """The canary of env becomes its stable version (version, image, URI), and the canary goes."""
    session, code = spec_edit.open_spec(repo_path, name)
    if session is None:
        return code
    _known_environments(session, env)
    canary = session.model.effective[env]["spec"]["serving"].get("canary")
    if not canary:
        click.echo(f"{name} has no canary in {env}: nothing to promote", err=True)
        return 0
    override = ("spec", "environments", env)
    wanted = {("model", "version"): canary["version"], ("serving", "image"): canary["image"]}
    if canary.get("uri"):
        wanted[("model", "uri")] = canary["uri"]
    for field, value in wanted.items():
        edit.set_value(session.doc, override + field, value, quote=field[1] == "version")
    removed = edit.remove(session.doc, (*override, "serving", "canary"), keep=3)
    after, _ = session.parse(session.doc.dump())
    if not removed or (after is not None and after.effective[env]["spec"]["serving"].get("canary")):
        edit.set_value(session.doc, (*override, "serving", "canary"), None)  # the base has one: null removes it
    text = _drop_inherited(session, session.doc.dump(), env, wanted)
    click.echo(f"promoting the canary of {name} in {env}: {canary['version']} becomes stable", err=True)
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
    for field in FIELDS:
        edit.remove(session.doc, override + field, keep=3)
    inherited, _ = session.parse(session.doc.dump())
    for field in FIELDS:
        got = _value(inherited, target, field) if inherited else None
        if got != wanted[field] and wanted[field] is not None:
            edit.set_value(session.doc, override + field, wanted[field], quote=field[1] == "version")


def _known_environments(session: spec_edit.Session, *envs: str) -> None:
    for env in envs:
        if env not in session.config.env_names:
            raise FatalError(f"no environment '{env}'", f"environments: {', '.join(session.config.env_names)}")


def run(repo_path: str | None, name: str, source: str, target: str) -> int:
    session, code = spec_edit.open_spec(repo_path, name)
    if session is None:
        return code
    _known_environments(session, source, target)
    if source == target:
        raise FatalError("--from and --to name the same environment")
    model = session.model
    wanted = {f: _value(model, source, f) for f in FIELDS}
    if all(_value(model, target, f) == wanted[f] for f in FIELDS):
        click.echo(f"{target} already runs what {source} runs ({name} {wanted[FIELDS[0]]}): nothing changed",
                   err=True)
        return 0
    _override_where_needed(session, target, wanted)
    text = session.doc.dump()
    promoted, _ = session.parse(text)
    if promoted is None or any(_value(promoted, target, f) != wanted[f] for f in FIELDS):
        raise FatalError(f"cannot make {target} equal {source} by editing {session.rel}",
                         "an environment default in mlgitops.yaml may pin these fields; edit by hand")
    click.echo(f"promoting {name} {wanted[FIELDS[0]]} from {source} to {target}", err=True)
    return spec_edit.save(session, text)
