"""`mlgitops schemas export DIR`: the offline schemas, in the layout kubeconform's -schema-location reads."""

from __future__ import annotations

import click

from mlgitops.kube import schemaexport
from mlgitops.kube import schemas as kubeschemas
from mlgitops.report.findings import FatalError


def export(directory: str, versions: tuple[str, ...], strict: bool | None) -> int:
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
    return 0
