"""`mlgitops validate`: any Kubernetes manifests, validated offline and strictly, with kubeconform's verdicts.

Exit codes: 0 when every resource is valid or skipped, 1 when any is invalid or an error, 2 for
usage or environment errors (unknown Kubernetes version, missing path), raised as FatalError.

Inside a repository (the nearest folder at or above the current one holding mlgitops.yaml), the
Kubernetes version defaults to the config's `kubernetesVersion` (an explicit --kubernetes-version
wins) and the repository's `schemas/crds/` is searched after the --schema-location locations
(by default the built-in schemas alone).

A folder holding a kustomization (kustomization.yaml, kustomization.yml or Kustomization) is validated as
what kustomize builds from it, as `kubectl kustomize DIR | mlgitops validate -` would; a build that fails
(a remote base, which is never fetched, included) is an error (`build`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mlgitops.kube import kustomize, manifestfiles, schemalocations
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.validator import Options, validate_text
from mlgitops.report import validate_formats as validate_report
from mlgitops.report.findings import FatalError
from mlgitops.report.verdicts import Problem, Result, Verdict
from mlgitops.spec.repo import Repo, find_root

CRDS_DIR = "schemas/crds"


def _repository(start: Path) -> Repo | None:
    try:
        return find_root(start)
    except (FatalError, OSError):
        return None


def _config_version(repo: Repo) -> str:
    from mlgitops.spec.config import load_config  # only inside a repository (its imports cost ~0.05 s)

    config, findings = load_config(repo)
    if config is None:
        first = findings[0]
        where = ":".join(str(n) for n in (repo.root / first.file, first.position.line, first.position.col) if n)
        raise FatalError(f"{where}: {first.message}",
                         "fix mlgitops.yaml, or give --kubernetes-version (validate reads the config's version)")
    return config.kubernetes_version


def options(kubernetes_version: str | None, strict: bool, skip: tuple[str, ...], ignore_missing_schemas: bool,
            schema_locations: tuple[str, ...] = (), start: Path | None = None) -> Options:
    """The validation options of a command line, the repository around `start` (default: the
    current folder) filling in what the command line leaves out."""
    locations = tuple(schemalocations.parse(value) for value in schema_locations) or (schemalocations.BUILTIN,)
    repo = _repository(start or Path.cwd())
    if repo is not None and kubernetes_version is None:
        kubernetes_version = _config_version(repo)
    if repo is not None and ((repo.root / CRDS_DIR).is_dir() or (repo.root / CRDS_DIR).is_symlink()):
        locations += schemalocations.crds_folder(repo.root / CRDS_DIR)
    # As written (templates see it as kubeconform would); schema_set refuses a version without schemas.
    version = kubernetes_version or kubeschemas.DEFAULT_KUBERNETES_VERSION
    return Options(version, strict, skip_kinds(skip), ignore_missing_schemas, locations)


def _built(folder: str, options: Options, schemas) -> list[Result]:
    """A kustomization folder is validated as what it builds (what Flux or Argo CD apply), not file by file
    (its patches and kustomization.yaml are no manifests): built with the same kustomize as check, offline."""
    from mlgitops.check import build  # only for a kustomization folder (check's imports cost start-up time)

    name = f"{folder.rstrip('/')} (kustomize build)"
    try:
        text = build.Processes().run(kustomize.Command((*kustomize.build_argv(), folder)))
    except kustomize.Failed as exc:
        return [Result(name, 0, 0, Verdict.ERROR, rule="build",
                       problems=(Problem(f"kustomize cannot build {folder}: {exc.stderr.strip() or exc}"),))]
    return validate_text(text, name, options, schemas)


def _refused_schemas(options: Options) -> list[Result]:
    """A warning at each file of the repository's schemas/crds/ that is never read (a symlink, a FIFO), saying why."""
    out = []
    for folder in sorted({location.root for location in options.locations if location.crds}):
        for path, why in schemalocations.refused(Path(folder)):
            shown = os.path.relpath(path)
            out.append(Result(str(path) if shown.startswith("..") else shown, 0, 1, Verdict.SKIPPED,
                              rule="schema-file", problems=(Problem(why, line=1, col=1),)))
    return out


def run(paths: list[str], options: Options) -> tuple[list[Result], int]:
    """Validate every source; returns (results in source and document order, number of sources)."""
    schemas = kubeschemas.schema_set(options.kubernetes_version, options.strict, options.locations)
    results: list[Result] = _refused_schemas(options)
    files = 0
    folders = [p for p in paths if p != manifestfiles.STDIN and os.path.isdir(p) and kustomize.kustomization_in(p)]
    for folder in folders:
        files += 1
        results += _built(folder, options, schemas)
    for source in manifestfiles.read([p for p in paths if p not in folders]):
        files += 1
        if source.special:  # a FIFO or device named *.yaml in a folder: said, skipped, never waited on
            results.append(Result(source.name, 0, 0, Verdict.SKIPPED, rule="k8s-read",
                                  problems=(Problem(source.error),)))
            continue
        if source.text is None:
            results.append(Result(source.name, 0, 0, Verdict.ERROR, rule="k8s-read",
                                  problems=(Problem(f"cannot read: {source.error}"),)))
            continue
        results += validate_text(source.text, source.name, options, schemas)  # each document freed once judged
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
