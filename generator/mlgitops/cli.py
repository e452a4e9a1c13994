"""The command line: it only translates arguments into calls and results into exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mlgitops import __version__
from mlgitops.check import pipeline as check_mod
from mlgitops.check import rendered_diff
from mlgitops.commands import scaffold
from mlgitops.report import formats as report
from mlgitops.report import progress
from mlgitops.report.findings import FatalError, Finding, has_errors
from mlgitops.spec.config import load_config
from mlgitops.spec.repo import Repo, find_root
from mlgitops.tree import generation as generate


def _emit(findings: list[Finding], fmt: str) -> None:
    text = report.FORMATS[fmt](findings)
    if text:
        click.echo(text, nl=False, err=fmt == "text")


def _repo(path: str | None) -> Repo:
    return Repo(Path(path).resolve()) if path else find_root(Path.cwd())


FORMAT = click.option("--format", "fmt", type=click.Choice(sorted(report.FORMATS)), default="text",
                      show_default=True, help="How findings are printed.")
REPO = click.option("--repo", "repo_path", type=click.Path(file_okay=False), default=None,
                    help="Repository root (default: the nearest folder holding mlgitops.yaml).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlgitops")
def cli() -> None:
    """Model specs -> Kustomize bases and per-environment overlays, validated offline."""


@cli.command("generate")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if the committed tree differs.")
@FORMAT
@REPO
def generate_cmd(check: bool, fmt: str, repo_path: str | None) -> None:
    """Write base/ and overlays/ from mlgitops.yaml and models/*.yaml."""
    repo = _repo(repo_path)
    outcome = generate.run(repo.root, check=check)
    _emit(outcome.findings, fmt)
    if has_errors(outcome.findings):
        if fmt == "text" and not check:
            click.echo("nothing was written", err=True)
        sys.exit(outcome.exit_code)
    plan = outcome.plan
    assert plan is not None  # a run without findings always has a plan
    where = f"{outcome.models} model{'s' * (outcome.models != 1)} x {outcome.environments} environments"
    if check:
        if outcome.diff and fmt != "text":
            _emit(outcome.drift, fmt)
            click.echo(outcome.diff, nl=False, err=True)
        elif outcome.diff:
            click.echo(outcome.diff, nl=False)
            n = len(plan.write) + len(plan.delete)
            click.echo(f"{n} generated file{' differs' if n == 1 else 's differ'} from what the specs produce "
                       "(run 'mlgitops generate' and commit the result)", err=True)
        else:
            click.echo(f"up to date: {where}, {plan.unchanged} files", err=True)
        sys.exit(outcome.exit_code)
    click.echo(f"{where}: {len(plan.write)} written, {len(plan.delete)} deleted, {plan.unchanged} unchanged",
               err=True)


def _shard(ctx, param, value):
    if value is None:
        return None
    try:
        return check_mod.Shard.parse(value)
    except ValueError:
        raise click.BadParameter("expected K/N with 1 <= K <= N, e.g. 2/3") from None


@cli.command("check")
@FORMAT
@click.option("--shard", callback=_shard, metavar="K/N", help="Check a deterministic K-th of N parts of the models.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write .mlgitops-cache/.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Parallel kustomize builds (default: cores).")
@click.option("--validator", type=click.Choice(["builtin", "kubeconform"]), default="builtin", show_default=True,
              help="Validate built resources with the built-in validator or the kubeconform binary.")
@REPO
def check_cmd(fmt: str, shard, no_cache: bool, jobs: int | None, validator: str, repo_path: str | None) -> None:
    """Validate specs, drift, builds, Kubernetes schemas, fidelity and policies."""
    repo = _repo(repo_path)
    with progress.bar(enabled=fmt == "text") as bar:
        options = check_mod.Options(repo.root, shard=shard, use_cache=not no_cache, jobs=jobs, validator=validator,
                                    progress=bar.advance, on_total=bar.total)
        result = check_mod.run(options)
    text = report.FORMATS[fmt](result.findings)
    if fmt == "text":
        click.echo(report.format_grouped(result.findings), nl=False)
        click.echo(check_mod.summary_line(result))
    else:
        click.echo(text, nl=False)
    sys.exit(1 if result.findings and any(f.severity.value == "error" for f in result.findings) else 0)


@cli.command("diff")
@click.option("--base", "rev", default=None, help="Git revision to compare with (default: merge base with origin/main).")
@click.option("--markdown", is_flag=True, help="Print Markdown, e.g. for $GITHUB_STEP_SUMMARY.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the clusters would get a change (as git diff does).")
@REPO
def diff_cmd(rev: str | None, markdown: bool, exit_code: bool, repo_path: str | None) -> None:
    """Show the built manifests that change against a Git revision: what the clusters will get."""
    repo = _repo(repo_path)
    stale = generate.run(repo.root, check=True)
    if stale.exit_code:
        click.echo("warning: base/ and overlays/ are not what models/ generate (run 'mlgitops generate'); "
                   "this diff shows the committed files", err=True)
    text = rendered_diff.diff(repo.root, rev or rendered_diff.default_base(repo.root))
    click.echo(rendered_diff.markdown(text) if markdown else text, nl=False)
    if not text and not markdown:
        click.echo("no change in what the clusters get", err=True)
    if exit_code and text:
        sys.exit(1)


@cli.command("new")
@click.argument("name")
@click.option("--image", required=True, help="Container image, e.g. registry.example.com/name:1.0.0.")
@click.option("--gpu", type=click.IntRange(0, 16), default=0, show_default=True, help="GPUs per pod.")
@click.option("--team", default="ml", show_default=True, help="Owning team.")
@REPO
def new_cmd(name: str, image: str, gpu: int, team: str, repo_path: str | None) -> None:
    """Write a commented starter spec, models/NAME.yaml."""
    repo = _repo(repo_path)
    config, findings = load_config(repo)
    if config is None:
        _emit(findings, "text")
        sys.exit(1)
    path, findings = scaffold.new_model(repo.root, config, name, image, gpu, team)
    if findings:
        _emit(findings, "text")
        sys.exit(1)
    click.echo(f"wrote {path.relative_to(repo.root)}; next: mlgitops generate", err=True)


@cli.command("init")
@click.argument("directory", type=click.Path(file_okay=False), default=".")
def init_cmd(directory: str) -> None:
    """Start a repository: mlgitops.yaml, schemas/ and models/."""
    root = Path(directory).resolve()
    root.mkdir(parents=True, exist_ok=True)
    written = scaffold.init_repo(root)
    for rel in written:
        click.echo(f"wrote {rel}", err=True)
    click.echo("next: mlgitops new NAME --image IMAGE, then mlgitops generate", err=True)


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


# `mlgitops validate` and `mlgitops schemas export` (validate_cmd.py)
from mlgitops.commands.validate import schemas_group, validate_cmd

cli.add_command(validate_cmd)
cli.add_command(schemas_group)
