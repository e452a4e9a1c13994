"""`mlgitops validate`: any Kubernetes manifests, validated offline and strictly, with kubeconform's verdicts.

Exit codes: 0 when every resource is valid or skipped, 1 when any is invalid or an error, 2 for
usage or environment errors (unknown Kubernetes version, missing path), raised as FatalError.
"""

from __future__ import annotations

import sys

import click

from mlgitops.kube import manifestfiles, manifests
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.validator import Options, validate_documents
from mlgitops.report import validate_formats as validate_report
from mlgitops.report.verdicts import Problem, Result, Verdict


def run(paths: list[str], options: Options) -> tuple[list[Result], int]:
    """Validate every source; returns (results in source and document order, number of sources)."""
    schemas = kubeschemas.schema_set(options.kubernetes_version, options.strict)  # unknown version: exit 2
    results: list[Result] = []
    files = 0
    for source in manifestfiles.read(paths):
        files += 1
        if source.text is None:
            results.append(Result(source.name, 0, 0, Verdict.ERROR, rule="k8s-read",
                                  problems=(Problem(f"cannot read: {source.error}"),)))
            continue
        docs = manifests.parse_stream(source.text, source.name, options.strict)
        results += validate_documents(docs, options, schemas)
    return results, files


def validate(paths: tuple[str, ...], options: Options, fmt: str) -> int:
    if not paths:
        if sys.stdin.isatty():
            raise click.UsageError("give files or folders to validate, or - to read standard input")
        paths = (manifestfiles.STDIN,)
    results, files = run(list(paths), options)
    click.echo(validate_report.FORMATS[fmt](results, files), nl=False)
    if fmt == "github":
        click.echo(validate_report.summary_line(results, files), err=True)
    return 1 if any(r.verdict in (Verdict.INVALID, Verdict.ERROR) for r in results) else 0


def skip_kinds(values: tuple[str, ...]) -> frozenset[str]:
    """--skip values: repeatable, each a comma-separated list of Kind or apiVersion/Kind."""
    return frozenset(part.strip() for value in values for part in value.split(",") if part.strip())
