"""`mlgitops generate [--check]`: write base/ and overlays/, or show how the committed tree differs."""

from __future__ import annotations

import click

from mlgitops.commands.common import emit, repository, warn
from mlgitops.report.findings import has_errors
from mlgitops.report.redact import mask_secrets
from mlgitops.tree import generation, writer


def _waiting(message: str) -> None:
    click.echo(message, err=True)


def _hand_written(root, outcome: generation.Outcome, check: bool) -> list:
    """With --check, files a person put under a synced path (clusters/<cluster>/<engine>/): the engine applies
    them too (`check` validates and policy-checks them)."""
    if not check:
        return []
    # only --check looks for them: its imports (the validator) cost ~0.03 s of every other run
    from mlgitops.check import handwritten

    named = {f.file for f in outcome.findings + outcome.drift}
    disk = writer.scan(root) if outcome.disk is None else outcome.disk  # the check's own scan when it made one
    return [handwritten.reported(p) for p in handwritten.synced_files({}, disk) if p not in named]


def run(repo_path: str | None, check: bool, fmt: str, quiet: bool = False, prune_all: bool = False) -> int:
    repo = repository(repo_path)
    try:
        outcome = generation.run(repo.root, check=check, prune_all=prune_all, notify=_waiting)
    except writer.Interrupted:
        raise
    except KeyboardInterrupt:  # before the first write
        raise writer.Interrupted("" if check else "nothing was written") from None
    warn(outcome.notes)
    drifted = check and bool(outcome.diff) and fmt != "text"  # the drift joins the findings: one document
    emit(outcome.findings + (outcome.drift if drifted else []) + _hand_written(repo.root, outcome, check), fmt, quiet)
    if has_errors(outcome.findings):
        if fmt == "text" and not check:
            click.echo("nothing was written", err=True)
        elif fmt == "text" and outcome.diff:
            click.echo(mask_secrets(outcome.diff), nl=False)
        return outcome.exit_code
    plan = outcome.plan
    assert plan is not None  # a run without findings always has a plan
    where = f"{outcome.models} model{'s' * (outcome.models != 1)} x {outcome.environments} environments"
    if check:
        _checked(outcome, plan, drifted, quiet, where)
        return outcome.exit_code
    _wrote(plan, quiet, where)
    return 0


def _wrote(plan: writer.Plan, quiet: bool, where: str) -> None:
    if not quiet:
        removed = f", {len(plan.leftovers)} leftover temp files removed" if plan.leftovers else ""
        click.echo(f"{where}: {len(plan.write)} written, {len(plan.delete)} deleted, {plan.unchanged} unchanged"
                   f"{removed}", err=True)
    _edited(plan.edited, "overwrote edits made by hand since generated")


def _checked(outcome: generation.Outcome, plan: writer.Plan, drifted: bool, quiet: bool, where: str) -> None:
    """What generate --check prints: the diff, how many files differ and which were edited by hand."""
    if drifted:
        click.echo(mask_secrets(outcome.diff), nl=False, err=True)
    elif outcome.diff:
        click.echo(mask_secrets(outcome.diff), nl=False)
        n = len(plan.write) + len(plan.delete)
        click.echo(f"{n} generated file{' differs' if n == 1 else 's differ'} from what the specs produce "
                   "(run 'mlgitops generate' and commit the result)", err=True)
        _edited(plan.edited, "edited by hand since generated (generate would overwrite)")
    elif not quiet:
        click.echo(f"up to date: {where}, {plan.unchanged} files", err=True)


def _edited(paths: list[str], what: str) -> None:
    """Name each generated file an edit by hand had changed (the header kept, the content not as generated)."""
    for path in paths:
        click.echo(f"warning: {path}: {what}; put the change in the model spec instead", err=True)
