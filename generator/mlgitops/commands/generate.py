"""`mlgitops generate [--check]`: write base/ and overlays/, or show how the committed tree differs."""

from __future__ import annotations

import click

from mlgitops.commands.common import emit, repository, warn
from mlgitops.report.findings import has_errors
from mlgitops.tree import generation


def run(repo_path: str | None, check: bool, fmt: str) -> int:
    repo = repository(repo_path)
    outcome = generation.run(repo.root, check=check)
    warn(outcome.notes)
    emit(outcome.findings, fmt)
    if has_errors(outcome.findings):
        if fmt == "text" and not check:
            click.echo("nothing was written", err=True)
        return outcome.exit_code
    plan = outcome.plan
    assert plan is not None  # a run without findings always has a plan
    where = f"{outcome.models} model{'s' * (outcome.models != 1)} x {outcome.environments} environments"
    if check:
        if outcome.diff and fmt != "text":
            emit(outcome.drift, fmt)
            click.echo(outcome.diff, nl=False, err=True)
        elif outcome.diff:
            click.echo(outcome.diff, nl=False)
            n = len(plan.write) + len(plan.delete)
            click.echo(f"{n} generated file{' differs' if n == 1 else 's differ'} from what the specs produce "
                       "(run 'mlgitops generate' and commit the result)", err=True)
        else:
            click.echo(f"up to date: {where}, {plan.unchanged} files", err=True)
        return outcome.exit_code
    click.echo(f"{where}: {len(plan.write)} written, {len(plan.delete)} deleted, {plan.unchanged} unchanged",
               err=True)
    return 0
