"""`mlgitops diff`: the built manifests that change against a Git revision, i.e. what the clusters will get."""

from __future__ import annotations

import click

from mlgitops.check import rendered_diff
from mlgitops.commands.common import repository
from mlgitops.report.redact import mask_env_values
from mlgitops.tree import generation


def run(repo_path: str | None, rev: str | None, markdown: bool, exit_code: bool) -> int:
    repo = repository(repo_path)
    stale = generation.run(repo.root, check=True)
    if stale.exit_code:
        click.echo("warning: base/ and overlays/ are not what models/ generate (run 'mlgitops generate'); "
                   "this diff shows the committed files", err=True)
    text = mask_env_values(rendered_diff.diff(repo.root, rev or rendered_diff.default_base(repo.root)))
    click.echo(rendered_diff.markdown(text) if markdown else text, nl=False)
    if not text and not markdown:
        click.echo("no change in what the clusters get", err=True)
    return 1 if exit_code and text else 0
