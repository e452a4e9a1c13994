"""`mlgitops init [DIR]`: start a whole repository that passes `mlgitops check` at once.

Writes mlgitops.yaml (sync engine, repository URL), schemas/, a first model (models/example.yaml),
the CI workflow and pre-commit config (taking mlgitops from `--mlgitops-source`, else from where this
mlgitops was installed, see `source`), .gitattributes, .gitignore and a README, and, when mlgitops.yaml
maps teams to code owners, .github/CODEOWNERS; then generates base/, overlays/ and clusters/. Files
that exist are left alone; the tree is generated only when the config is the one just written (an
existing config is the team's, and `mlgitops generate` is theirs to run).
"""

from __future__ import annotations

from pathlib import Path

import click

from mlgitops.commands import codeowners, scaffold
from mlgitops.commands import source as sources
from mlgitops.commands.common import emit
from mlgitops.report.findings import FatalError, has_errors
from mlgitops.spec.config import Config, load_config
from mlgitops.spec.repo import Repo
from mlgitops.tree import generation


def run(directory: str, engine: str = "flux", repo_url: str | None = None, source: str | None = None) -> int:
    scaffold.check_options(engine, repo_url)
    pinned = sources.parse(source) if source is not None else sources.installed()
    root = Path(directory).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FatalError(f"cannot create {root}: {exc.strerror or exc}", "choose a folder you can write to") from None
    written = scaffold.init_repo(root, engine, repo_url, pinned)
    config, findings = load_config(Repo(root)) if (root / "mlgitops.yaml").is_file() else (None, [])
    if "mlgitops.yaml" in written:
        if config is None:
            emit(findings, "text")
            return 1
        example = scaffold.example_model(root, config)
        if example:
            written.append(example)
        outcome = generation.run(root)
        emit(outcome.findings, "text")
        if has_errors(outcome.findings):
            return 1
        written.append("base/, overlays/, clusters/ (generated)")
    unowned = _code_owners(root, config, written)
    for rel in written:
        click.echo(f"wrote {rel}", err=True)
    for line in next_steps(pinned, "mlgitops.yaml" in written, unowned):
        click.echo(f"next: {line}", err=True)
    return 0


def _code_owners(root: Path, config: Config | None, written: list[str]) -> list[str]:
    """.github/CODEOWNERS when mlgitops.yaml has codeOwners (rewritten while it is ours); the models left unowned."""
    owners = config.data.get("codeOwners") if config is not None else None
    path = root / codeowners.PATH
    if not owners or not codeowners.ours(path):
        return []
    text, unowned = codeowners.text(owners, codeowners.teams(Repo(root)))
    if not path.exists() or path.read_bytes() != text.encode("utf-8"):
        scaffold.write_file(root, path, text)
        written.append(codeowners.PATH)
    return unowned


def next_steps(pinned: sources.Source | None, new_config: bool, unowned: list[str]) -> list[str]:
    """The closing lines: what to run, and what is still to be set."""
    lines = ["git init && git add -A && git commit; mlgitops check; mlgitops new NAME --image IMAGE for your own models"]
    if pinned is None:
        lines.append("CI and pre-commit do not know where mlgitops comes from: delete .github/workflows/mlgitops.yml "
                     f"and .pre-commit-config.yaml, then mlgitops init --mlgitops-source {sources.FORMS}")
    else:
        lines.append(f"CI and pre-commit take mlgitops from {pinned}; pre-commit install to run its hooks "
                     "before each commit")
    if unowned:
        lines.append(f"no code owners for {', '.join(unowned)}: add their teams to codeOwners in mlgitops.yaml "
                     "and run mlgitops init again")
    elif new_config:
        lines.append("for a .github/CODEOWNERS by team, map teams to owners in mlgitops.yaml "
                     "(codeOwners: {TEAM: [\"@ORG/TEAM\"]}) and run mlgitops init again")
    return lines
