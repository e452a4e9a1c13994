"""The command line: click options in, a call to one function of `commands/`, its exit code out.

No logic lives here; each verb's behaviour is in `mlgitops.commands.<verb>`.
"""

from __future__ import annotations

import sys

import click

from mlgitops import __version__
from mlgitops.check.pipeline import Shard
from mlgitops.commands import check, diff, generate, init, new, schemas, validate
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.validator import Options as ValidateOptions
from mlgitops.report import formats, validate_formats
from mlgitops.report.findings import FatalError

FORMAT = click.option("--format", "fmt", type=click.Choice(sorted(formats.FORMATS)), default="text",
                      show_default=True, help="How findings are printed.")
REPO = click.option("--repo", "repo_path", type=click.Path(file_okay=False), default=None,
                    help="Repository root (default: the nearest folder holding mlgitops.yaml).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlgitops")
def cli() -> None:
    """Model specs -> Kustomize bases and per-environment overlays, validated offline."""


@cli.command("generate")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 with a diff if the committed tree differs.")
@FORMAT
@REPO
def generate_cmd(check: bool, fmt: str, repo_path: str | None) -> None:
    """Write base/ and overlays/ from mlgitops.yaml and models/*.yaml."""
    sys.exit(generate.run(repo_path, check, fmt))


def _shard(ctx, param, value):
    if value is None:
        return None
    try:
        return Shard.parse(value)
    except ValueError:
        raise click.BadParameter("expected K/N with 1 <= K <= N, e.g. 2/3") from None


@cli.command("check")
@FORMAT
@click.option("--shard", callback=_shard, metavar="K/N",
              help="Check a deterministic K-th of N parts of the models.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write .mlgitops-cache/.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Parallel kustomize builds (default: cores).")
@click.option("--validator", type=click.Choice(["builtin", "kubeconform"]), default="builtin",
              show_default=True,
              help="Validate built resources with the built-in validator or the kubeconform binary.")
@REPO
def check_cmd(fmt: str, shard: Shard | None, no_cache: bool, jobs: int | None, validator: str,
              repo_path: str | None) -> None:
    """Validate specs, drift, builds, Kubernetes schemas, fidelity and policies."""
    sys.exit(check.run(repo_path, fmt, shard, not no_cache, jobs, validator))


@cli.command("diff")
@click.option("--base", "rev", default=None, metavar="REV",
              help="Git revision to compare with, as given (default: the merge base of HEAD and the default "
                   "branch: origin/HEAD, else origin/main, origin/master, main, master; with no commit yet, "
                   "everything is new).")
@click.option("--markdown", is_flag=True,
              help="Print Markdown for $GITHUB_STEP_SUMMARY or a comment: a collapsible block per model, "
                   "at most 65,536 characters.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default=None,
              help="text (a unified diff, the default) or markdown (same as --markdown).")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when the clusters would get a change (as git diff does).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write .mlgitops-cache/.")
@REPO
def diff_cmd(rev: str | None, markdown: bool, fmt: str | None, exit_code: bool, no_cache: bool,
             repo_path: str | None) -> None:
    """Show the built manifests that change against a Git revision: what the clusters will get.
    The first line names the revision compared with."""
    sys.exit(diff.run(repo_path, rev, markdown or fmt == "markdown", exit_code, not no_cache))


@cli.command("new")
@click.argument("name")
@click.option("--image", required=True, help="Container image, e.g. registry.example.com/name:1.0.0.")
@click.option("--gpu", type=click.IntRange(0, 16), default=0, show_default=True, help="GPUs per pod.")
@click.option("--team", default="ml", show_default=True, help="Owning team.")
@REPO
def new_cmd(name: str, image: str, gpu: int, team: str, repo_path: str | None) -> None:
    """Write a commented starter spec, models/NAME.yaml."""
    sys.exit(new.run(repo_path, name, image, gpu, team))


@cli.command("init")
@click.argument("directory", type=click.Path(file_okay=False), default=".")
def init_cmd(directory: str) -> None:
    """Start a repository: mlgitops.yaml, schemas/ and models/."""
    sys.exit(init.run(directory))


@cli.command("validate")
@click.argument("paths", nargs=-1, metavar="[PATH... | -]")
@click.option("--kubernetes-version", default=kubeschemas.DEFAULT_KUBERNETES_VERSION, show_default=True,
              help="Kubernetes version whose schemas to use (any patch release of 1.25 .. 1.37).")
@click.option("--strict/--no-strict", default=True, show_default=True,
              help="Reject unknown fields and duplicate keys, like kubeconform -strict.")
@click.option("--skip", multiple=True, metavar="KIND",
              help="Skip resources of this kind, written Kind or apiVersion/Kind (repeatable, or comma-separated).")
@click.option("--ignore-missing-schemas", is_flag=True,
              help="Skip resources whose kind has no schema, instead of reporting an error.")
@click.option("--format", "fmt", type=click.Choice(sorted(validate_formats.FORMATS)), default="text",
              show_default=True, help="How results are printed.")
def validate_cmd(paths: tuple[str, ...], kubernetes_version: str, strict: bool, skip: tuple[str, ...],
                 ignore_missing_schemas: bool, fmt: str) -> None:
    """Validate Kubernetes manifests (files, folders, or - for standard input) against the schemas
    of a Kubernetes version and schemas/crds/, offline, with kubeconform's verdicts."""
    options = ValidateOptions(kubernetes_version, strict, validate.skip_kinds(skip), ignore_missing_schemas)
    sys.exit(validate.validate(paths, options, fmt))


@cli.group("schemas")
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
    sys.exit(schemas.export(directory, versions, strict))


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="mlgitops", standalone_mode=False)
    except FatalError as exc:
        click.echo(f"mlgitops: error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return 130
    return 0
