"""`mlgitops validate` and `mlgitops schemas export`: options in, work handed over, exit code out.

Exit codes: 0 when every resource is valid or skipped, 1 when any is invalid or an error, 2 for
usage or environment errors (unknown Kubernetes version, missing path), raised as FatalError.
"""

from __future__ import annotations

import sys

import click

from mlgitops.kube import manifestfiles, manifests, schemaexport
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.validator import Options, validate_documents
from mlgitops.report import validate_formats as validate_report
from mlgitops.report.findings import FatalError
from mlgitops.report.verdicts import Problem, Result, Verdict


def _skip_kinds(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(part.strip() for value in values for part in value.split(",") if part.strip())


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


@click.command("validate")
@click.argument("paths", nargs=-1, metavar="[PATH... | -]")
@click.option("--kubernetes-version", default=kubeschemas.DEFAULT_KUBERNETES_VERSION, show_default=True,
              help="Kubernetes version whose schemas to use (any patch release of 1.25 .. 1.37).")
@click.option("--strict/--no-strict", default=True, show_default=True,
              help="Reject unknown fields and duplicate keys, like kubeconform -strict.")
@click.option("--skip", multiple=True, metavar="KIND",
              help="Skip resources of this kind, written Kind or apiVersion/Kind (repeatable, or comma-separated).")
@click.option("--ignore-missing-schemas", is_flag=True,
              help="Skip resources whose kind has no schema, instead of reporting an error.")
@click.option("--format", "fmt", type=click.Choice(sorted(validate_report.FORMATS)), default="text",
              show_default=True, help="How results are printed.")
def validate_cmd(paths: tuple[str, ...], kubernetes_version: str, strict: bool, skip: tuple[str, ...],
                 ignore_missing_schemas: bool, fmt: str) -> None:
    """Validate Kubernetes manifests (files, folders, or - for standard input) against the schemas
    of a Kubernetes version and schemas/crds/, offline, with kubeconform's verdicts."""
    if not paths:
        if sys.stdin.isatty():
            raise click.UsageError("give files or folders to validate, or - to read standard input")
        paths = (manifestfiles.STDIN,)
    options = Options(kubernetes_version, strict, _skip_kinds(skip), ignore_missing_schemas)
    results, files = run(list(paths), options)
    click.echo(validate_report.FORMATS[fmt](results, files), nl=False)
    if fmt == "github":
        click.echo(validate_report.summary_line(results, files), err=True)
    sys.exit(1 if any(r.verdict in (Verdict.INVALID, Verdict.ERROR) for r in results) else 0)


@click.group("schemas")
def schemas_group() -> None:
    """The offline Kubernetes and CRD schemas mlgitops validates against."""


@schemas_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--kubernetes-version", "versions", multiple=True, metavar="VERSION",
              help=f"Kubernetes version to export (repeatable; default {kubeschemas.DEFAULT_KUBERNETES_VERSION}).")
@click.option("--strict/--no-strict", "strict", default=None,
              help="Export only the strict (or only the non-strict) schemas; default both.")
def export_cmd(directory: str, versions: tuple[str, ...], strict: bool | None) -> None:
    """Write DIRECTORY/v<VERSION>-standalone[-strict]/<kind>-<group>-<version>.json, the layout
    kubeconform reads with -schema-location DIRECTORY."""
    for version in versions or (kubeschemas.DEFAULT_KUBERNETES_VERSION,):
        kubeschemas.schema_version(version)  # an unknown version stops before anything is written
    for version in versions or (kubeschemas.DEFAULT_KUBERNETES_VERSION,):
        for flavour in ((False, True) if strict is None else (strict,)):
            try:
                target, count = schemaexport.export(directory, version, flavour)
            except OSError as exc:
                raise FatalError(f"cannot write schemas to {directory}: {exc.strerror or exc}") from None
            click.echo(f"wrote {count} schemas to {target}", err=True)
    click.echo(f"use: kubeconform -schema-location {directory} -kubernetes-version VERSION [-strict]", err=True)
