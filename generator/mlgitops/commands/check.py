"""`mlgitops check`: everything a cluster would receive, checked offline; findings in the chosen format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlgitops.check import memo
from mlgitops.check.result import Result, summary_line
from mlgitops.commands.common import repository, warn
from mlgitops.report import formats, progress, terminal

if TYPE_CHECKING:
    from mlgitops.check.pipeline import Shard


def _result(repo: Path, fmt: str, shard: Shard | None, use_cache: bool, jobs: int | None, validator: str,
            quiet: bool, verbose: bool) -> Result:
    """The memo's answer for an unchanged repository (no pipeline imported, check/memo.py says when it is
    kept), else the pipeline's, kept for next time."""
    kept = memo.Memo(repo) if use_cache and not verbose and validator == "builtin" else None
    result = kept.lookup(str(shard)) if kept else None
    if result is not None:
        return result
    from mlgitops.check import pipeline

    with progress.bar(enabled=fmt == "text" and not quiet) as bar:
        options = pipeline.Options(repo, shard=shard, use_cache=use_cache, jobs=jobs, validator=validator,
                                   progress=bar.advance, on_total=bar.total, verbose=verbose,
                                   seen=kept.seen if kept else None)
        result = pipeline.run(options)
    if kept:
        kept.keep(result)
    return result


def run(repo_path: str | None, fmt: str, shard: Shard | None, use_cache: bool, jobs: int | None,
        validator: str, quiet: bool = False, verbose: bool = False) -> int:
    result = _result(repository(repo_path).root, fmt, shard, use_cache, jobs, validator, quiet, verbose)
    for line in result.tool + (result.uncached if verbose else []):
        click.echo(f"mlgitops: {line}", err=True)
    warn(result.notes)
    findings = formats.errors_only(result.findings) if quiet else result.findings
    if fmt == "text":
        colour = terminal.wants_colour(sys.stdout)
        click.echo(formats.format_grouped(findings, colour), nl=False, color=colour)
        if not quiet:
            for line in result.prerequisites:
                click.echo(f"prerequisite: {line}")
            for line in result.budgets:
                click.echo(f"GPU-hour bound: {line}")
            click.echo(summary_line(result))
    elif fmt == "json":
        click.echo(formats.format_json(findings, result.prerequisites), nl=False)
    else:
        click.echo(formats.FORMATS[fmt](findings), nl=False)
    return 1 if any(f.severity.value == "error" for f in result.findings) else 0
