"""`mlgitops init [DIR]`: start a whole repository that passes `mlgitops check` at once.

Writes mlgitops.yaml (sync engine, repository URL), schemas/, a first model (models/example.yaml),
the CI workflow, a pre-commit config, .gitignore and a README, then generates base/, overlays/ and
clusters/. Files that exist are left alone; the tree is generated only when the config is the one
just written (an existing config is the team's, and `mlgitops generate` is theirs to run).
"""

from __future__ import annotations

from pathlib import Path

import click

from mlgitops.commands import scaffold
from mlgitops.commands.common import emit
from mlgitops.report.findings import FatalError, has_errors
from mlgitops.spec.config import load_config
from mlgitops.spec.repo import Repo
from mlgitops.tree import generation


def run(directory: str, engine: str = "flux", repo_url: str | None = None) -> int:
    scaffold.check_options(engine, repo_url)
    root = Path(directory).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FatalError(f"cannot create {root}: {exc.strerror or exc}", "choose a folder you can write to") from None
    written = scaffold.init_repo(root, engine, repo_url)
    if "mlgitops.yaml" in written:
        config, findings = load_config(Repo(root))
        if config is None:
            emit(findings, "text")
            return 1
        example = scaffold.example_model(root, config)
        if example:
            written.append(example)
        outcome = generation.run(root)
        emit(outcome.findings, "text")
        if has_errors(outcome.findings):
            return 1
        written.append("base/, overlays/, clusters/ (generated)")
    for rel in written:
        click.echo(f"wrote {rel}", err=True)
    click.echo("next: git init && git add -A && git commit; mlgitops check; "
               "mlgitops new NAME --image IMAGE for your own models", err=True)
    return 0
