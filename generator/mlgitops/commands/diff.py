"""`mlgitops diff`: the built manifests that change against a Git revision, i.e. what the clusters will get."""

from __future__ import annotations

from dataclasses import replace

import click

from mlgitops.check import change_plan, diff_markdown, gitrev, rendered_diff, sync_guard
from mlgitops.check.policies import Settings
from mlgitops.commands.common import emit, repository, warn
from mlgitops.render import sync
from mlgitops.render.engines import ENGINES
from mlgitops.render.units import KUSTOMIZATION, Unit
from mlgitops.report.findings import Finding, Position, has_errors
from mlgitops.report.formats import errors_only
from mlgitops.report.redact import mask_secrets
from mlgitops.spec.layers import locate
from mlgitops.tree import cache, generation, stat_index, writer
from mlgitops.tree.layout import intended


def _mask_secrets(text: str) -> str:
    """The one call site masking secrets in diff output, text and markdown alike: secret-named env vars and
    any value the secret detector matches (report/secrets.py)."""
    return mask_secrets(text)


SPEC_ERRORS = ("models/ has errors (named below), so this diff shows the files on disk, not what the specs will "
               "generate: fix them and run 'mlgitops generate'")
STALE = "base/ and overlays/ are not what models/ generate (run 'mlgitops generate'); this diff shows the files on disk"


def _stale(gen: generation.Generated, disk: dict[str, bytes], root) -> str:
    """Why the files on disk are not what models/ generate: a spec (or the config) is invalid, or they differ."""
    if has_errors(gen.findings):
        return SPEC_ERRORS
    plan = writer.plan(gen.tree, disk, root)
    return STALE if plan.changed or plan.findings else ""


def run(repo_path: str | None, rev: str | None, markdown: bool, exit_code: bool, use_cache: bool = True) -> int:
    repo = repository(repo_path)
    base = gitrev.resolve(repo.root, rev)
    gen = generation.build(repo, use_cache)
    disk = stat_index.StatIndex(repo.root, gen.tree, gen.origins, gen.cached).scan()  # generate's: read only what
    stale = _stale(gen, disk, repo.root)  # it cannot vouch for (no stamp: this scan records nothing)
    if stale:
        click.echo(f"warning: {stale}", err=True)
    store = cache.Cache(repo.root, use_cache)
    result = rendered_diff.compare(repo.root, base, disk, store)
    warn([*gen.notes, *store.warnings])  # a cache it cannot use: said once, as check says it
    result.changes = [replace(c, text=_mask_secrets(c.text)) for c in result.changes]
    if not has_errors(gen.findings):  # as build keeps its cache: the values the masking found clean are kept too
        generation.keep_clean_values(repo.root, use_cache)
    places = _places(gen)
    rows = rendered_diff.plan(result, places)
    # an invalid spec is an error at its line (as generate and check say it): a broken spec is never "no change"
    warnings = (errors_only(gen.findings) + rendered_diff.build_failure_findings(result) + _guard(result, gen, disk)
                + _volumes(result, gen, places)
                + [rendered_diff.handover_finding(h, gen) for h in result.handovers])
    renames = _rename_notes(result, gen, places)
    notes = sync_guard.canary_notes(result.before, result.after)
    if markdown:
        click.echo(diff_markdown.markdown(result, warnings, notes=[stale] * bool(stale) + renames + notes, rows=rows),
                   nl=False)
    else:
        _text(base.describe(), rows, renames, result, notes, warnings, stale)
    if has_errors(warnings):  # a sync would fail: never merge that silently
        return 1
    return 1 if exit_code and result.changes else 0


def _text(base: str, rows: list, renames: list[str], result: rendered_diff.Result, notes: list[str],
          warnings: list, stale: str) -> None:
    """The terminal form: the change table, the renames and the diff on stdout; notes and findings on stderr."""
    click.echo(f"# base: {base}\n" + change_plan.text_table(rows)
               + "".join(f"# {n}\n" for n in renames) + "".join(c.text for c in result.changes), nl=False)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    emit(warnings, "text")
    if not result.changes:
        click.echo("no change in the files on disk, but models/ has errors: the diff cannot say what the clusters "
                   "get" if stale == SPEC_ERRORS else "no change in what the clusters get", err=True)


def _places(gen: generation.Generated) -> change_plan.Places:
    """Each environment's cluster, and which are production (as the policies decide it)."""
    if gen.config is None:
        return change_plan.Places()
    envs = gen.config.environments
    return change_plan.Places({e.name: e.cluster for e in envs},
                              frozenset(e.name for e in envs if Settings.for_environment(e.name, e.policies).production))


def _rename_notes(result: rendered_diff.Result, gen: generation.Generated, places: change_plan.Places) -> list[str]:
    """"renamed a → b", with what each engine deletes (the old unit) and creates (the new one)."""
    engines = [ENGINES[name] for name in sync.engines(gen.config)] if gen.config else []
    out = []
    for change in result.changes:
        old, new = Unit.parse(change.overlay), Unit.parse(change.new_overlay)
        if old is None or new is None:
            continue
        what = "; ".join(f"{e.deletion(old)} for {old.folder}, and applies {new.folder} as a new unit"
                         for e in engines) or f"{old.folder} is deleted and {new.folder} created"
        out.append(f"renamed {old.model} → {new.model} in {places.of_unit(new).env} (cluster "
                   f"{places.of_unit(new).cluster}): {what}")
    return out


SAFE_REBIND = ("a PersistentVolume binds one claim: keep the old claim's name, or move the volume in steps: merge the "
               "change without volumeName, make sure the volume's persistentVolumeReclaimPolicy is Retain, delete the "
               "old claim (kubectl delete pvc), free the volume (kubectl patch pv <volume> --type json -p "
               "'[{\"op\":\"remove\",\"path\":\"/spec/claimRef\"}]'), then set volumeName again "
               "(docs/diff.md#renames-and-volumes)")


def _held_claims(gen: generation.Generated, places: change_plan.Places) -> list[change_plan.Claim]:
    """The claims every environment's specs give, with the namespace the overlay sets."""
    if gen.config is None:
        return []
    out = []
    for env in gen.config.environments:
        for entry in gen.entries:
            objects = [dict(m.obj, metadata={**m.obj.get("metadata", {}), "namespace": env.namespace})
                       for m in intended(entry.model, gen.config, env.name) if m.obj.get("kind") == "PersistentVolumeClaim"]
            out += change_plan.claims(places.of_unit(Unit(entry.name, env.name)), objects,
                                      f"held in environment {env.name}")
    return out


def _volumes(result: rendered_diff.Result, gen: generation.Generated, places: change_plan.Places) -> list[Finding]:
    """A new claim whose volumeName a kept claim, or another environment on the same cluster, holds."""
    new, kept = rendered_diff.claims_in_change(result, places)
    if not new:  # the common case: render no spec again
        return []
    out = []
    for claim, holder in change_plan.volume_conflicts(new, kept + _held_claims(gen, places)):
        out.append(Finding("volume-name-conflict", f"{claim.place.env}: new {change_plan.ident(claim.key)} binds "
                           f"volumeName {claim.volume}, which {change_plan.ident(holder.key)} ({holder.why}) still "
                           "holds on the same cluster: the new claim stays Pending and its pods never start",
                           *_where(gen, claim.place.model, claim.place.env, "/spec/serving/storage/volumeName"),
                           SAFE_REBIND, object=f"PersistentVolumeClaim/{claim.key[2]}"))
    return out


def _where(gen: generation.Generated, model: str, env: str, pointer: str) -> tuple[str, Position]:
    """The spec line that sets this field in this environment (its override, or the spec's own)."""
    entry = next((e for e in gen.entries if e.name == model), None)
    if entry is None or gen.config is None or env not in gen.config.env_names:
        return f"models/{model}.yaml", Position()
    return locate(entry.model.layers(gen.config, env), entry.model.doc, pointer)


def _guard(result: rendered_diff.Result, gen, disk: dict[str, bytes]) -> list[Finding]:
    """What a sync of this change would break (immutable fields: errors) or delete (prune: warnings)."""
    broken = {c.overlay for c in result.changes if "does not build" in c.text.split("\n", 1)[0]}
    before = {o: objs for o, objs in result.before.items() if o not in broken}
    after = {o: objs for o, objs in result.after.items() if o not in broken}
    found = sync_guard.immutable_changes(before, after)
    if gen.config is not None:
        clusters = {env.name: env.cluster for env in gen.config.environments}
        engines = sync.engines(gen.config)
        units_now = frozenset(u[0].folder for u in map(Unit.of_file, disk) if u and u[1] == KUSTOMIZATION)
        found += sync_guard.pruned(before, after, lambda env: clusters.get(env, env), engines, units_now)
    return found
