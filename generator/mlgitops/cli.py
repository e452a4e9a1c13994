"""The command line: click options in, a call to one function of `commands/`, its exit code out.

No logic lives here; each verb's behaviour is in `mlgitops.commands.<verb>`, imported when that verb runs:
start-up is part of every command in CI and every pre-commit hook, and `validate` of one file must not pay
for the imports of `check` (measure with `python -X importtime -m mlgitops ...`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from mlgitops.report import formats, interrupts, status_formats
from mlgitops.report.findings import FatalError, Finding

if TYPE_CHECKING:
    from mlgitops.check.pipeline import Shard

_CHOSEN: dict[str, str] = {}  # the findings format of this run's command, once click has read it


def _remember_format(ctx: click.Context, param: click.Parameter, value: str) -> str:
    _CHOSEN["format"] = value
    return value


FORMAT = click.option("--format", "fmt", type=click.Choice(sorted(formats.FORMATS)), default="text",
                      show_default=True, help="How findings are printed.", callback=_remember_format)
QUIET = click.option("--quiet", "-q", is_flag=True, help="Print only errors: no warnings, no summary.")
REPO = click.option("--repo", "repo_path", type=click.Path(file_okay=False), default=None,
                    help="Repository root (default: the nearest folder holding mlgitops.yaml).")


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from mlgitops.commands import about

        click.echo(about.text())
        ctx.exit()


_BUILT_WHEN_LOOKED_UP: dict[str, Callable[[], click.Command]] = {}


class _Group(click.Group):
    """A group some of whose commands are built only when they run or are listed (help, completion)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_BUILT_WHEN_LOOKED_UP})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _BUILT_WHEN_LOOKED_UP:
            self.add_command(_BUILT_WHEN_LOOKED_UP[cmd_name](), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the versions of mlgitops and of the kustomize and Kubernetes schemas it uses, and exit.")
def cli() -> None:
    """Model specs -> Kustomize bases and per-environment overlays, validated offline."""


@cli.command("generate")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 with a diff if the committed tree differs.")
@click.option("--prune-all", is_flag=True,
              help="Allow deleting every generated file when models/ holds no specs.")
@FORMAT
@QUIET
@REPO
def generate_cmd(check: bool, prune_all: bool, fmt: str, quiet: bool, repo_path: str | None) -> None:
    """Write base/, overlays/ and clusters/ from mlgitops.yaml and models/*.yaml."""
    from mlgitops.commands import generate

    sys.exit(generate.run(repo_path, check, fmt, quiet, prune_all))


def _shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Shard | None:
    if value is None:
        return None
    from mlgitops.check.pipeline import Shard

    try:
        return Shard.parse(value)
    except ValueError:
        raise click.BadParameter("expected K/N with 1 <= K <= N, e.g. 2/3") from None


@cli.command("check")
@FORMAT
@click.option("--shard", callback=_shard, metavar="K/N",
              help="Check a deterministic K-th of N parts of the models.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache: write nothing at all.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Parallel kustomize builds (default: cores).")
@click.option("--validator", type=click.Choice(["builtin", "kubeconform"]), default="builtin",
              show_default=True,
              help="Validate built resources with the built-in validator or the kubeconform binary.")
@click.option("-v", "--verbose", is_flag=True,
              help="Print the kustomize used (command, program, version) to standard error.")
@QUIET
@REPO
def check_cmd(fmt: str, shard: Shard | None, no_cache: bool, jobs: int | None, validator: str, verbose: bool,
              quiet: bool, repo_path: str | None) -> None:
    """Validate specs, drift, builds, Kubernetes schemas, fidelity and policies.

    \b
    The kustomize that builds, first found of:
      1. MLGITOPS_KUSTOMIZE, a whole command the folder is appended to
         (e.g. MLGITOPS_KUSTOMIZE="kustomize build")
      2. the kubectl installed with mlgitops (next to its Python)
      3. kustomize on PATH, then kubectl on PATH

    -v shows which one, and any it shadows. Results are cached (outside the repository) by the content
    of every input, including every file the kustomize command names and its version.
    """
    from mlgitops.commands import check

    sys.exit(check.run(repo_path, fmt, shard, not no_cache, jobs, validator, quiet, verbose))


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
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@REPO
def diff_cmd(rev: str | None, markdown: bool, fmt: str | None, exit_code: bool, no_cache: bool,
             repo_path: str | None) -> None:
    """Show the built manifests that change against a Git revision: what the clusters will get.
    The first line names the revision compared with."""
    from mlgitops.commands import diff

    sys.exit(diff.run(repo_path, rev, markdown or fmt == "markdown", exit_code, not no_cache))


@cli.command("new")
@click.argument("name")
@click.option("--image", required=True, help="Container image, e.g. registry.example.com/name:1.0.0.")
@click.option("--gpu", type=click.IntRange(0, 16), default=0, show_default=True, help="GPUs per pod.")
@click.option("--team", default="ml", show_default=True, help="Owning team.")
@REPO
def new_cmd(name: str, image: str, gpu: int, team: str, repo_path: str | None) -> None:
    """Write a commented starter spec, models/NAME.yaml."""
    from mlgitops.commands import new

    sys.exit(new.run(repo_path, name, image, gpu, team))


@cli.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--name", default=None, help="The model's name (the input must hold one model).")
@click.option("--team", default=None, help="Owning team (default: the objects' team or part-of label).")
@click.option("--dry-run", is_flag=True, help="Print the specs instead of writing them.")
@FORMAT
@REPO
def import_cmd(files: tuple[str, ...], name: str | None, team: str | None, dry_run: bool, fmt: str,
               repo_path: str | None) -> None:
    """Write models/<name>.yaml from Kubernetes manifests (files, folders, - for standard input): helm template
    or kubectl kustomize output. What cannot be carried over is reported at its file:line:col."""
    from mlgitops.commands import import_

    sys.exit(import_.run(repo_path, list(files), name, team, fmt, dry_run))


def _init_command() -> click.Command:
    """`init`, built when it is looked up: its --engine choices come from the render stage (~0.1 s to import)."""
    from mlgitops.render import engines

    @click.command("init")
    @click.argument("directory", type=click.Path(file_okay=False), default=".")
    @click.option("--engine", type=click.Choice(engines.CHOICES), default="flux", show_default=True,
                  help="The GitOps engine the clusters run.")
    @click.option("--repo-url", default=None, metavar="URL",
                  help="URL the clusters clone the repository from (required for argocd and both).")
    @click.option("--mlgitops-source", "source", default=None, metavar="SOURCE",
                  help="Where CI and pre-commit get mlgitops, pinned to a full commit: OWNER/REPO@COMMIT (the GitHub "
                       "Action of mlgitops's repository) or git+https://HOST/PATH@COMMIT (installed from Git). "
                       "Default: where this mlgitops was installed from, when pip recorded a Git commit.")
    def init_cmd(directory: str, engine: str, repo_url: str | None, source: str | None) -> None:
        """Start a repository: config, schemas, a first model, CI workflow, pre-commit, generated tree."""
        from mlgitops.commands import init

        sys.exit(init.run(directory, engine, repo_url, source))

    return init_cmd


_BUILT_WHEN_LOOKED_UP["init"] = _init_command


@cli.command("set")
@click.argument("name", metavar="MODEL")
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE...")
@click.option("--env", default=None, help="Edit this environment's override instead of the base spec.")
@REPO
def set_cmd(name: str, assignments: tuple[str, ...], env: str | None, repo_path: str | None) -> None:
    """Edit fields of models/MODEL.yaml in place (comments kept), validate, and regenerate.

    KEY is a path under spec, its keys joined by dots (serving.replicas); a dot inside a key is written \\.
    (labels.example\\.com/tier=gold)."""
    from mlgitops.commands import set as set_command

    sys.exit(set_command.run(repo_path, name, assignments, env))


@cli.command("promote")
@click.argument("name", metavar="MODEL")
@click.option("--from", "source", default=None, help="Environment whose version, URI and image to take.")
@click.option("--to", "target", default=None, help="Environment to promote into.")
@click.option("--canary", is_flag=True, help="Make the canary of --env the stable version, and remove it.")
@click.option("--env", default=None, help="With --canary: the environment whose canary to promote.")
@REPO
def promote_cmd(name: str, source: str | None, target: str | None, canary: bool, env: str | None,
                repo_path: str | None) -> None:
    """Make an environment run another's model version, URI and image (or its canary's), editing the spec."""
    from mlgitops.commands import promote

    if canary:
        if not env or source or target:
            raise click.UsageError("--canary takes --env ENV (and no --from/--to)")
        sys.exit(promote.promote_canary(repo_path, name, env))
    if not source or not target:
        raise click.UsageError("give --from ENV --to ENV, or --canary --env ENV")
    sys.exit(promote.run(repo_path, name, source, target))


@cli.command("status")
@click.option("--format", "fmt", type=click.Choice(sorted(status_formats.FORMATS)), default="table",
              show_default=True, help="table for a terminal, markdown for a pull request, json for scripts.")
@REPO
def status_cmd(fmt: str, repo_path: str | None) -> None:
    """Every model x environment: version, image, pods, GPUs, drift; read from the repository alone."""
    from mlgitops.commands import status

    sys.exit(status.run(repo_path, fmt))


def _validate_command() -> click.Command:
    """`validate`, built when it is looked up: its help names the default Kubernetes version (kube.schemas, ~0.02 s
    to import) and its formats, which generate and the other verbs do not need."""
    from mlgitops.kube import schemas as kubeschemas
    from mlgitops.report import validate_formats

    @click.command("validate")
    @click.argument("paths", nargs=-1, metavar="[PATH... | -]")
    @click.option("--kubernetes-version", default=None,
                  help="Kubernetes version whose schemas to use: any patch release of 1.25 .. 1.37, or a minor "
                       "such as 1.30 for its newest shipped patch (default: mlgitops.yaml's kubernetesVersion "
                       f"inside a repository, else {kubeschemas.DEFAULT_KUBERNETES_VERSION}).")
    @click.option("--strict/--no-strict", default=True, show_default=True,
                  help="Reject unknown fields and duplicate keys, like kubeconform -strict.")
    @click.option("--skip", multiple=True, metavar="KIND",
                  help="Skip resources of this kind, written Kind or apiVersion/Kind (repeatable, or comma-separated).")
    @click.option("--ignore-missing-schemas", is_flag=True,
                  help="Skip resources whose kind has no schema, instead of reporting an error.")
    @click.option("--schema-location", "schema_locations", multiple=True, metavar="LOCATION",
                  help="Where to look for schemas, in order (repeatable), as kubeconform's -schema-location: "
                       "'default' for the built-in ones, or a local folder or path template using "
                       "{{ .Group }}, {{ .ResourceKind }}, {{ .ResourceAPIVersion }}, {{ .KindSuffix }}, "
                       "{{ .NormalizedKubernetesVersion }} and {{ .StrictSuffix }}. Default: default.")
    @click.option("--format", "fmt", type=click.Choice(sorted(validate_formats.FORMATS)), default="text",
                  show_default=True, help="How results are printed.")
    def validate_cmd(paths: tuple[str, ...], kubernetes_version: str | None, strict: bool, skip: tuple[str, ...],
                     ignore_missing_schemas: bool, schema_locations: tuple[str, ...], fmt: str) -> None:
        """Validate Kubernetes manifests (files, folders, or - for standard input) against the schemas
        of a Kubernetes version, offline, with kubeconform's verdicts. Inside a repository, also
        against its schemas/crds/, and by default for mlgitops.yaml's kubernetesVersion."""
        from mlgitops.commands import validate

        options = validate.options(kubernetes_version, strict, skip, ignore_missing_schemas, schema_locations)
        sys.exit(validate.validate(paths, options, fmt))

    return validate_cmd


_BUILT_WHEN_LOOKED_UP["validate"] = _validate_command


def _schemas_group() -> click.Command:
    """`schemas`, built when it is looked up (as validate: its help names the default Kubernetes version)."""
    from mlgitops.kube import schemas as kubeschemas

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
        from mlgitops.commands import schemas

        sys.exit(schemas.export(directory, versions, strict))

    return schemas_group


_BUILT_WHEN_LOOKED_UP["schemas"] = _schemas_group


def main(argv: list[str] | None = None) -> int:
    with interrupts.handled():
        try:
            code = _main(argv)
            interrupts.raise_if_received()  # the run finished, but it was interrupted: say so
            return code
        except KeyboardInterrupt as exc:  # also when it lands while an error is being reported
            return _interrupted(exc)


def _main(argv: list[str] | None) -> int:
    _CHOSEN.clear()  # main may run again in one process (tests, a wrapper)
    try:
        cli.main(args=argv, prog_name="mlgitops", standalone_mode=False)
    except FatalError as exc:
        click.echo(f"mlgitops: error: {exc}", err=True)
        _as_finding(exc)
        return 2
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            return _interrupted(exc.__cause__)
        click.echo("aborted", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _as_finding(exc: FatalError) -> None:
    """A run that could not go on, also on stdout as a `run-error` finding when its command prints findings for
    a program (--format json, sarif, github): a CI step reading them gets the reason, not an empty document."""
    fmt = _CHOSEN.get("format", "text")
    if fmt != "text":
        message = "\n".join([exc.message, *exc.details])
        click.echo(formats.FORMATS[fmt]([Finding("run-error", message, hint=exc.hint)]), nl=False)


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Ctrl-C, SIGTERM or SIGHUP: one line, what state the repository is in when that is not obvious,
    exit 128 + the signal (130, 143, 129)."""
    detail = str(exc)
    click.echo(f"mlgitops: interrupted{': ' + detail if detail else ''}", err=True)
    return interrupts.exit_code()
