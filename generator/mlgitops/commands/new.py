"""`mlgitops new NAME --image IMAGE`: a commented starter spec that validates as written."""

from __future__ import annotations

import click

from mlgitops.commands import scaffold
from mlgitops.commands.common import emit, repository
from mlgitops.spec.config import load_config


def run(repo_path: str | None, name: str, image: str, gpu: int, team: str) -> int:
    repo = repository(repo_path)
    config, findings = load_config(repo)
    if config is None:
        emit(findings, "text")
        return 1
    path, findings = scaffold.new_model(repo.root, config, name, image, gpu, team)
    if findings:
        emit(findings, "text")
        return 1
    click.echo(f"wrote {path.relative_to(repo.root)}; next: mlgitops generate", err=True)
    return 0
