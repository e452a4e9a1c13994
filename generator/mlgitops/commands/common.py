"""What every verb shares: finding the repository and printing findings in the chosen format."""

from __future__ import annotations

from pathlib import Path

import click

from mlgitops.report import formats
from mlgitops.report.findings import Finding
from mlgitops.spec.repo import Repo, find_root


def repository(path: str | None) -> Repo:
    """The repository at path, or the nearest folder up from the working directory holding mlgitops.yaml."""
    return Repo(Path(path).resolve()) if path else find_root(Path.cwd())


def emit(findings: list[Finding], fmt: str) -> None:
    """Print findings; text goes to standard error (it is for people), the others to standard output."""
    text = formats.FORMATS[fmt](findings)
    if text:
        click.echo(text, nl=False, err=fmt == "text")


def warn(notes: list[str]) -> None:
    """Warnings about the run itself (not findings: no file or line), one line each on standard error."""
    for note in dict.fromkeys(notes):
        click.echo(f"mlgitops: warning: {note}", err=True)
