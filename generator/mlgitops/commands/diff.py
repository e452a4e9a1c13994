"""`mlgitops diff`: the built manifests that change against a Git revision, i.e. what the clusters will get."""

from __future__ import annotations

from dataclasses import replace

import click

from mlgitops.check import diff_markdown, gitrev, rendered_diff, sync_guard
from mlgitops.commands.common import emit, repository, warn
from mlgitops.render import sync
from mlgitops.report.findings import Finding, has_errors
from mlgitops.report.redact import mask_env_values
from mlgitops.tree import cache, generation, writer


def _mask_secrets(text: str) -> str:
    """The one call site masking the values of secret-named env vars in diff output."""
    return mask_env_values(text)


def _stale(gen: generation.Generated, disk: dict[str, bytes], root) -> bool:
    """Whether base/ and overlays/ differ from what models/ generate (or a spec is invalid)."""
    if has_errors(gen.findings):
        return True
    plan = writer.plan(gen.tree, disk, root)
    return plan.changed or bool(plan.findings)


def run(repo_path: str | None, rev: str | None, markdown: bool, exit_code: bool, use_cache: bool = True) -> int:
    repo = repository(repo_path)
    base = gitrev.resolve(repo.root, rev)
    gen = generation.build(repo, use_cache)
    disk = writer.scan(repo.root)
    if _stale(gen, disk, repo.root):
        click.echo("warning: base/ and overlays/ are not what models/ generate (run 'mlgitops generate'); "
                   "this diff shows the files on disk", err=True)
    store = cache.Cache(repo.root, use_cache)
    result = rendered_diff.compare(repo.root, base, disk, store)
    warn([*gen.notes, *store.warnings])  # a cache it cannot use: said once, as check says it
    result.changes = [replace(c, text=_mask_secrets(c.text)) for c in result.changes]
    warnings = _guard(result, gen) + [rendered_diff.handover_finding(h, gen) for h in result.handovers]
    notes = sync_guard.canary_notes(result.before, result.after)
    if markdown:
        click.echo(diff_markdown.markdown(result, warnings, notes=notes), nl=False)
    else:
        click.echo(result.text(), nl=False)
        for note in notes:
            click.echo(f"note: {note}", err=True)
        emit(warnings, "text")
        if not result.changes:
            click.echo("no change in what the clusters get", err=True)
    if has_errors(warnings):  # a sync would fail: never merge that silently
        return 1
    return 1 if exit_code and result.changes else 0


def _guard(result: rendered_diff.Result, gen) -> list[Finding]:
    """What a sync of this change would break (immutable fields: errors) or delete (prune: warnings)."""
    broken = {c.overlay for c in result.changes if "does not build" in c.text.split("\n", 1)[0]}
    before = {o: objs for o, objs in result.before.items() if o not in broken}
    after = {o: objs for o, objs in result.after.items() if o not in broken}
    found = sync_guard.immutable_changes(before, after)
    if gen.config is not None:
        clusters = {env.name: env.cluster for env in gen.config.environments}
        engines = sync.engines(gen.config)
        found += sync_guard.pruned(before, after, lambda env: clusters.get(env, env), engines)
    return found
