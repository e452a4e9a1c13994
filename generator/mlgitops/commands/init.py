"""`mlgitops init [DIR]`: start a repository with mlgitops.yaml, schemas/ and models/."""

from __future__ import annotations

from pathlib import Path

import click

from mlgitops.commands import scaffold
from mlgitops.report.findings import FatalError


def run(directory: str) -> int:
    root = Path(directory).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FatalError(f"cannot create {root}: {exc.strerror or exc}", "choose a folder you can write to") from None
    written = scaffold.init_repo(root)
    for rel in written:
        click.echo(f"wrote {rel}", err=True)
    click.echo("next: mlgitops new NAME --image IMAGE, then mlgitops generate", err=True)
    return 0
