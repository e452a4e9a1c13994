"""`mlgitops generate [--check]`: write base/ and overlays/, or show how the committed tree differs."""

from __future__ import annotations

import click

from mlgitops.commands.common import emit, repository, warn
from mlgitops.report.findings import has_errors
from mlgitops.report.redact import mask_env_values
from mlgitops.tree import generation, writer


def _waiting(message: str) -> None:
    click.echo(message, err=True)


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
    emit(outcome.findings + (outcome.drift if drifted else []), fmt, quiet)
    if has_errors(outcome.findings):
        return _refused(outcome, check, fmt)
    plan = outcome.plan
    assert plan is not None  # a run without findings always has a plan
    where = f"{outcome.models} model{'s' * (outcome.models != 1)} x {outcome.environments} environments"
    if check:
        _report_check(outcome, plan, drifted, quiet, where)
        return outcome.exit_code
    if not quiet:
        removed = f", {len(plan.leftovers)} leftover temp files removed" if plan.leftovers else ""
        click.echo(f"{where}: {len(plan.write)} written, {len(plan.delete)} deleted, {plan.unchanged} unchanged"
                   f"{removed}", err=True)
    return 0


def _refused(outcome: generation.Outcome, check: bool, fmt: str) -> int:
    """Findings with errors: say that nothing was written, or show the drift `--check` found."""
    if fmt == "text" and not check:
        click.echo("nothing was written", err=True)
    elif fmt == "text" and outcome.diff:
        click.echo(outcome.diff, nl=False)
    return outcome.exit_code


def _report_check(outcome: generation.Outcome, plan: writer.Plan, drifted: bool, quiet: bool, where: str) -> None:
    """`generate --check`: the drift (on stderr when it already joined the findings), or up to date."""
    if drifted:
        click.echo(mask_env_values(outcome.diff), nl=False, err=True)
    elif outcome.diff:
        click.echo(mask_env_values(outcome.diff), nl=False)
        n = len(plan.write) + len(plan.delete)
        click.echo(f"{n} generated file{' differs' if n == 1 else 's differ'} from what the specs produce "
                   "(run 'mlgitops generate' and commit the result)", err=True)
    elif not quiet:
        click.echo(f"up to date: {where}, {plan.unchanged} files", err=True)
