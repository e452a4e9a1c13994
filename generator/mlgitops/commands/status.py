"""`mlgitops status`: every model x environment at a glance, from the repository alone (no cluster).

Version, image, pods (or the HPA's range), GPUs at most, canary, and whether the committed tree is
behind the specs; flags an environment running a version its predecessor never ran (the spec's git
history, last HISTORY commits per spec, says what each environment ran).
"""

from __future__ import annotations

import subprocess

import click

from mlgitops.check import capacity
from mlgitops.commands.common import emit, repository
from mlgitops.render import engines
from mlgitops.report import status_formats
from mlgitops.report.findings import FatalError, Finding, has_errors
from mlgitops.spec import fleet
from mlgitops.spec.config import Config
from mlgitops.spec.model import parse_model
from mlgitops.spec.repo import Repo
from mlgitops.tree import generation, layout, writer

HISTORY = 30


def _drifted(path: str, envs: list[str]) -> list[tuple[str, str]]:
    """(model, environment) pairs a generated file belongs to: a base file belongs to every environment."""
    found = engines.owner(path)
    if found is None:
        return []
    return [(found.model, env) for env in envs] if found.env is None else [(found.model, found.env)]


def _git(repo: Repo, *args: str) -> str | None:
    try:
        run = subprocess.run(["git", *args], cwd=repo.root, capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return run.stdout.decode("utf-8", "replace") if run.returncode == 0 else None


def history(repo: Repo, config: Config, rel: str, name: str) -> dict[tuple[str, str], set[str]]:
    """(model, environment) -> the versions the spec gave that environment in its last HISTORY commits."""
    out: dict[tuple[str, str], set[str]] = {}
    revisions = _git(repo, "log", f"-n{HISTORY}", "--format=%H", "--", rel) or ""
    for rev in revisions.split():
        text = _git(repo, "show", f"{rev}:{rel}")
        if text is None:
            continue
        model, _ = parse_model(rel, text.encode("utf-8"), config)
        if model is None:
            continue  # an old spec the current schema no longer reads
        for env in config.env_names:
            out.setdefault((name, env), set()).add(str(model.effective[env]["spec"]["model"]["version"]))
    return out


def run(repo_path: str | None, fmt: str) -> int:
    repo = repository(repo_path)
    gen = generation.build(repo, store_cache=False)  # status reads: it writes nothing, not even the cache
    if gen.config is None or has_errors(gen.findings):
        return _invalid(gen.findings, fmt)
    if not gen.entries:  # an empty table with exit 0 would say "nothing deployed" about a missing folder
        raise _no_specs(repo)
    plan = writer.plan(gen.tree, writer.scan(repo.root), repo.root)  # the tree just built, against the disk
    drifted = {pair for p in ([*plan.write, *plan.delete] if plan else []) for pair in _drifted(p, gen.config.env_names)}
    past: dict[tuple[str, str], set[str]] = {}
    for entry in gen.entries:
        past.update(history(repo, gen.config, entry.path, entry.name))
    rows = [r.as_dict() for r in fleet.rows(gen.models, gen.config, drifted, past)]
    by_name = {e.name: e.model for e in gen.entries}
    for row in rows:  # the most GPUs at once, from what is generated: canaries, training and sweeps included
        model, env = by_name[row["model"]], row["environment"]
        objects = [m.obj for m in layout.intended(model, gen.config, env) + layout.training_intended(model, gen.config, env)]
        row["gpus"] = int(capacity.usage({row["model"]: objects}, gen.config.gpu["resource"]).gpu)
    click.echo(status_formats.FORMATS[fmt](rows), nl=False)
    return 0


def _invalid(findings: list[Finding], fmt: str) -> int:
    emit(findings, "json" if fmt == "json" else "text")  # a JSON reader gets JSON, not an empty page
    click.echo("fix the specs first: status reads what they say", err=True)
    return 1


def _no_specs(repo: Repo) -> FatalError:
    return FatalError(f"{repo.why_no_specs()}: no model to show",
                      "run from the right repository, or add a spec: mlgitops new NAME --image IMAGE")
