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


def run(repo_path: str | None, name: str, source: str, target: str) -> int:
    session, code = spec_edit.open_spec(repo_path, name)
    if session is None:
        return code
    for env in (source, target):
        if env not in session.config.env_names:
            raise FatalError(f"no environment '{env}'", f"environments: {', '.join(session.config.env_names)}")
    if source == target:
        raise FatalError("--from and --to name the same environment")
    model = session.model
    wanted = {f: _value(model, source, f) for f in FIELDS}
    if all(_value(model, target, f) == wanted[f] for f in FIELDS):
        click.echo(f"{target} already runs what {source} runs ({name} {wanted[FIELDS[0]]}): nothing changed",
                   err=True)
        return 0
    override = ("spec", "environments", target)
    for field in FIELDS:  # first drop the overrides, then keep only those still needed
        edit.remove(session.doc, override + field, keep=3)
    inherited, _ = session.parse(session.doc.dump())
    for field in FIELDS:
        got = _value(inherited, target, field) if inherited else None
        if got != wanted[field] and wanted[field] is not None:
            edit.set_value(session.doc, override + field, wanted[field], quote=field[1] == "version")
    text = session.doc.dump()
    promoted, _ = session.parse(text)
    if promoted is None or any(_value(promoted, target, f) != wanted[f] for f in FIELDS):
        raise FatalError(f"cannot make {target} equal {source} by editing {session.rel}",
                         "an environment default in mlgitops.yaml may pin these fields; edit by hand")
    click.echo(f"promoting {name} {wanted[FIELDS[0]]} from {source} to {target}", err=True)
    return spec_edit.save(session, text)
