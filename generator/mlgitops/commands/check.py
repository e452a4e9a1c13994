"""`mlgitops check`: everything a cluster would receive, checked offline; findings in the chosen format."""

from __future__ import annotations

import click

from mlgitops.check import pipeline
from mlgitops.commands.common import repository
from mlgitops.report import formats, progress


def run(repo_path: str | None, fmt: str, shard: pipeline.Shard | None, use_cache: bool, jobs: int | None,
        validator: str) -> int:
    repo = repository(repo_path)
    with progress.bar(enabled=fmt == "text") as bar:
        options = pipeline.Options(repo.root, shard=shard, use_cache=use_cache, jobs=jobs, validator=validator,
                                   progress=bar.advance, on_total=bar.total)
        result = pipeline.run(options)
    if fmt == "text":
        click.echo(formats.format_grouped(result.findings), nl=False)
        for line in result.budgets:
            click.echo(f"GPU-hour bound: {line}")
        click.echo(pipeline.summary_line(result))
    else:
        click.echo(formats.FORMATS[fmt](result.findings), nl=False)
    return 1 if any(f.severity.value == "error" for f in result.findings) else 0
