"""What every verb shares: finding the repository and printing findings in the chosen format."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mlgitops.report import formats, terminal
from mlgitops.report.findings import Finding
from mlgitops.spec.repo import Repo, find_root


def repository(path: str | None) -> Repo:
    """The repository at path, or the nearest folder up from the working directory holding mlgitops.yaml."""
    return Repo(Path(path).resolve()) if path else find_root(Path.cwd())


def emit(findings: list[Finding], fmt: str, quiet: bool = False) -> None:
    """Print findings (only the errors when quiet); text goes to standard error (it is for people, in colour
    on a terminal), the others to standard output."""
    if quiet:
        findings = formats.errors_only(findings)
    colour = fmt == "text" and terminal.wants_colour(sys.stderr)
    text = formats.format_text(findings, colour) if fmt == "text" else formats.FORMATS[fmt](findings)
    if text:
        click.echo(text, nl=False, err=fmt == "text", color=colour)


def warn(notes: list[str]) -> None:
    """Warnings about the run itself (not findings: no file or line), one line each on standard error."""
    for note in dict.fromkeys(notes):
        click.echo(f"mlgitops: warning: {note}", err=True)
