"""`mlgitops generate [--check]`: write base/ and overlays/, or show how the committed tree differs."""

from __future__ import annotations

import click

from mlgitops.check import handwritten
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
    named = {f.file for f in outcome.findings + outcome.drift}
    return [handwritten.reported(p) for p in handwritten.synced_files({}, writer.scan(root)) if p not in named]


def _report_check(outcome: generation.Outcome, plan: writer.Plan, where: str, drifted: bool, quiet: bool) -> None:
    """generate --check: the drift as a diff (on stderr when the findings format took the drift), or up to date."""
    if drifted:
        click.echo(mask_secrets(outcome.diff), nl=False, err=True)
    elif outcome.diff:
        click.echo(mask_secrets(outcome.diff), nl=False)
        n = len(plan.write) + len(plan.delete)
        click.echo(f"{n} generated file{' differs' if n == 1 else 's differ'} from what the specs produce "
                   "(run 'mlgitops generate' and commit the result)", err=True)
    elif not quiet:
        click.echo(f"up to date: {where}, {plan.unchanged} files", err=True)


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
        _report_check(outcome, plan, where, drifted, quiet)
        return outcome.exit_code
    if not quiet:
        _report_written(plan, where)
    return 0


def _report_written(plan: writer.Plan, where: str) -> None:
    removed = f", {len(plan.leftovers)} leftover temp files removed" if plan.leftovers else ""
    click.echo(f"{where}: {len(plan.write)} written, {len(plan.delete)} deleted, {plan.unchanged} unchanged"
               f"{removed}", err=True)
