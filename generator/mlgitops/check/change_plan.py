"""`mlgitops diff` as a change plan: per cluster, environment, model and object, what a sync creates,
changes (which fields), deletes or renames, with the prod rows marked. Pure: it reads built objects.

Objects are matched by (kind, namespace, name), as the API server and both engines identify them. A
model renamed in the change (every unit of `a` gone, units of `b` new, and `a`'s built objects with `a`
written as `b` mostly equal to `b`'s) is paired up, so its rows read "renamed a → b" instead of a
deletion and a creation of every object.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mlgitops.render.units import TRAINING, ClusterPath, Unit, cluster_of
from mlgitops.tree.yamlemit import dumps

Key = tuple[str, str, str]  # kind, namespace, name
CREATED, CHANGED, DELETED, RENAMED = "created", "changed", "deleted", "renamed"
MAX_FIELDS = 6  # fields named per changed object; more are counted
MAX_DEPTH = 9
RENAME_SIMILARITY = 0.6  # share of equal lines, after writing the old name as the new one
_MISSING = object()


def key(obj: dict) -> Key:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return str(obj.get("kind", "")), str(meta.get("namespace", "") or ""), str(meta.get("name", ""))


def ident(k: Key) -> str:
    """`Deployment ml-prod/x`, or `Namespace ml-prod` for a cluster-scoped object."""
    return f"{k[0]} {k[1]}/{k[2]}" if k[1] else f"{k[0]} {k[2]}"


def index(objects: Iterable[dict]) -> dict[Key, dict]:
    return {key(o): o for o in objects if isinstance(o, dict)}


# --- which fields changed ---

def _named(items: list) -> dict[str, object] | None:
    """A list of maps with unique `name`s (containers, env, volumes, ports) by name; None otherwise."""
    if not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    names = {i["name"]: i for i in items}
    return names if len(names) == len(items) else None


def _list_leaves(old: list, new: list, path: str, out: list[str], depth: int) -> None:
    a, b = _named(old), _named(new)
    if a is not None and b is not None:
        for name in sorted(a.keys() | b.keys()):
            _leaves(a.get(name, _MISSING), b.get(name, _MISSING), f"{path}[{name}]", out, depth + 1)
    elif len(old) == len(new):
        for i, (x, y) in enumerate(zip(old, new, strict=True)):
            _leaves(x, y, f"{path}[{i}]", out, depth + 1)
    else:
        out.append(path)


def _leaves(old: object, new: object, path: str, out: list[str], depth: int = 0) -> None:
    if old == new:
        return
    if depth >= MAX_DEPTH:
        out.append(path)
    elif isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(old.keys() | new.keys(), key=str):
            _leaves(old.get(k, _MISSING), new.get(k, _MISSING), f"{path}.{k}" if path else str(k), out, depth + 1)
    elif isinstance(old, list) and isinstance(new, list):
        _list_leaves(old, new, path, out, depth)
    else:
        out.append(path or "(whole object)")


def changed_fields(old: dict, new: dict) -> list[str]:
    """The paths of the values that differ: `spec.template.spec.containers[main].image`."""
    out: list[str] = []
    _leaves(old, new, "", out)
    return out


def fields_text(fields: list[str]) -> str:
    shown = ", ".join(fields[:MAX_FIELDS])
    return shown + (f" (+{len(fields) - MAX_FIELDS} more)" if len(fields) > MAX_FIELDS else "")


# --- renames ---

def _word(name: str) -> re.Pattern[str]:
    """The name as a whole word: `a` in `a-canary` and `ml-prod/a`, not in `ab`."""
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])")


def renamed_text(text: str, old: str, new: str) -> str:
    return _word(old).sub(new, text)


def as_renamed(obj: dict, old: str, new: str) -> dict:
    """The object with every whole-word `old` written as `new` (how it would read had it been `new`'s)."""
    renamed = _rename_value(obj, _word(old), new)
    assert isinstance(renamed, dict)
    return renamed


def _rename_value(value: object, pattern: re.Pattern[str], new: str) -> object:
    if isinstance(value, dict):
        return {_rename_value(k, pattern, new): _rename_value(v, pattern, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_value(v, pattern, new) for v in value]
    return pattern.sub(new, value) if isinstance(value, str) else value


def _text(objects: list[dict]) -> list[str]:
    return sorted("".join(dumps(o) for o in objects).splitlines())


def _models(objects: dict[str, list[dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for overlay, objs in objects.items():
        if Unit.parse(overlay) is not None:
            out.setdefault(Unit.at(overlay).model, []).extend(objs)
    return out


def renames(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, str]:
    """Models renamed in this change (old -> new): every unit of the old name gone, the new name's units
    all new, and the built objects mostly the same once the old name is written as the new one."""
    old, new = _models(before), _models(after)
    gone = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    scores = []
    for a in gone:
        text = [renamed_text(line, a, "\0") for line in _text(old[a])]
        for b in added:
            other = [renamed_text(line, b, "\0") for line in _text(new[b])]
            ratio = difflib.SequenceMatcher(None, text, other, autojunk=False).ratio()
            if ratio >= RENAME_SIMILARITY:
                scores.append((-ratio, a, b))
    out: dict[str, str] = {}
    for _, a, b in sorted(scores):
        if a not in out and b not in out.values():
            out[a] = b
    return out


def renamed_overlay(overlay: str, renamed: dict[str, str]) -> str | None:
    """The folder this overlay's unit moves to when its model is renamed."""
    unit = Unit.parse(overlay)
    if unit is None or unit.model not in renamed:
        return None
    return Unit(renamed[unit.model], unit.env, unit.kind).folder


# --- rows ---

@dataclass(frozen=True)
class Place:
    """Where a group of objects goes: its cluster, environment(s), model ('' for what models share)."""

    cluster: str
    env: str
    model: str
    prod: bool = False


@dataclass(frozen=True)
class Places:
    """Which cluster each environment deploys to, and which environments are production (mlgitops.yaml)."""

    clusters: dict[str, str] = field(default_factory=dict)  # environment -> cluster
    prod: frozenset[str] = frozenset()

    def of_unit(self, unit: Unit) -> Place:
        env = f"{unit.env} ({TRAINING})" if unit.training else unit.env
        return Place(self.clusters.get(unit.env, unit.env), env, unit.model, unit.env in self.prod)

    def of_cluster_file(self, path: str) -> Place:
        """A file under clusters/: a unit's own sync object belongs to its unit; the rest to every
        environment of the cluster."""
        where = ClusterPath.parse(path)
        if where is None:
            return Place(cluster_of(path), "", "")
        unit = where.unit()
        if unit is not None and (unit.env in self.clusters or not self.clusters):
            return self.of_unit(unit)
        envs = sorted(e for e, c in self.clusters.items() if c == where.cluster)
        return Place(where.cluster, ", ".join(envs), "", any(e in self.prod for e in envs))


@dataclass(frozen=True)
class Row:
    place: Place
    obj: str  # `Deployment ml-prod/x`
    action: str  # created, changed, deleted, renamed
    fields: tuple[str, ...] = ()
    note: str = ""  # "a → b" for a rename

    def what(self) -> str:
        """The action with its detail: `changed: spec.replicas`, `renamed a → b`."""
        if self.action == RENAMED:
            extra = f"; changed: {fields_text(list(self.fields))}" if self.fields else ""
            return f"renamed {self.note}{extra}"
        if self.action == CHANGED:
            return f"changed: {fields_text(list(self.fields))}"
        return self.action


@dataclass
class Pairing:
    """Old and new objects of one group, matched: by key, and across a rename by the renamed key."""

    pairs: list[tuple[Key | None, dict | None, Key | None, dict | None]] = field(default_factory=list)


def pair(old: list[dict], new: list[dict], rename: tuple[str, str] | None = None) -> Pairing:
    """Objects matched by (kind, namespace, name); with a rename, the old name written as the new one."""
    a, b = index(old), index(new)
    moved = {(k[0], k[1], renamed_text(k[2], *rename)): k for k in a} if rename else {k: k for k in a}
    out = Pairing()
    for k in sorted(set(moved) | set(b)):
        was = moved.get(k)
        out.pairs.append((was, a.get(was) if was else None, k if k in b else None, b.get(k)))
    return out


def _row(place: Place, was: Key | None, old: dict | None, now: Key | None, new: dict | None,
         rename: tuple[str, str] | None) -> Row | None:
    if old is None and now is not None:
        return Row(place, ident(now), CREATED)
    if new is None and was is not None:
        return Row(place, ident(was), DELETED)
    assert was is not None and now is not None and old is not None and new is not None
    if was != now and rename:
        # what differs other than the name: unequal as written, and unequal once the old name reads as the new
        # (an image or URI that happened to hold the name, unchanged, is not a change)
        besides = set(changed_fields(as_renamed(old, *rename), new))
        fields = [f for f in changed_fields(old, new) if f in besides]
        return Row(place, ident(now), RENAMED, tuple(fields), f"{ident(was)} → {ident(now)}")
    fields = changed_fields(old, new)
    return Row(place, ident(now), CHANGED, tuple(fields)) if fields else None


def rows(place: Place, old: list[dict], new: list[dict], rename: tuple[str, str] | None = None) -> list[Row]:
    """One row per object a sync creates, changes, deletes or renames in this group."""
    out = []
    for was, a, now, b in pair(old, new, rename).pairs:
        row = _row(place, was, a, now, b, rename)
        if row is not None:
            out.append(row)
    return out


# --- the table ---

def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _prod(place: Place) -> str:
    return "**prod**" if place.prod else ""


def markdown_table(table: list[Row], limit: int) -> str:
    """A markdown table, cut after `limit` rows with a line saying how many were left out."""
    if not table:
        return ""
    lines = ["| | cluster | environment | model | object | change |\n", "|---|---|---|---|---|---|\n"]
    for r in table[:limit]:
        p = r.place
        lines.append(f"| {_prod(p)} | {_cell(p.cluster)} | {_cell(p.env)} | {_cell(p.model or '—')} | "
                     f"`{_cell(r.obj)}` | {_cell(r.what())} |\n")
    if len(table) > limit:
        lines.append(f"\n*… and {len(table) - limit} more rows: run `mlgitops diff` to see them all.*\n")
    return "".join(lines) + "\n"


def text_table(table: list[Row]) -> str:
    """The plain table: one line per row, prod rows marked with `!`, aligned columns."""
    if not table:
        return ""
    cells = [("", "cluster", "environment", "model", "object", "change")]
    cells += [("!" if r.place.prod else "", r.place.cluster, r.place.env, r.place.model or "-", r.obj, r.what())
              for r in table]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    out = ["".join(f"{c[i]:<{widths[i]}}  " for i in range(5)) + c[5] + "\n" for c in cells]
    return "# change plan (! = prod)\n" + "".join(f"# {line}" for line in out)


def counts(table: list[Row]) -> str:
    """`2 created, 1 changed (1 in prod)`."""
    found = {a: sum(1 for r in table if r.action == a) for a in (CREATED, CHANGED, DELETED, RENAMED)}
    text = ", ".join(f"{n} {a}" for a, n in found.items() if n)
    prod = sum(1 for r in table if r.place.prod)
    return text + (f" ({prod} in prod)" if prod else "")


# --- claims that bind a PersistentVolume by name ---

CLAIM = "PersistentVolumeClaim"


@dataclass(frozen=True)
class Claim:
    """A claim naming its volume (spec.volumeName), where it is, and why it is there after the sync."""

    place: Place
    key: Key
    volume: str
    why: str = ""  # for a holder: "kept: protected from prune", "in environment staging"


def claims(place: Place, objects: Iterable[dict], why: str = "") -> list[Claim]:
    out = []
    for obj in objects:
        spec = obj.get("spec") if isinstance(obj, dict) else None
        if obj.get("kind") == CLAIM and isinstance(spec, dict) and isinstance(spec.get("volumeName"), str):
            out.append(Claim(place, key(obj), spec["volumeName"], why))
    return out


def volume_conflicts(new: list[Claim], held: list[Claim]) -> list[tuple[Claim, Claim]]:
    """Each new claim with the claim that still holds its volume on the same cluster: a PersistentVolume
    binds one claim (its spec.claimRef), so the new one stays Pending while the other exists."""
    out = []
    for claim in new:
        for holder in held:
            same_object = holder.key == claim.key and holder.place.cluster == claim.place.cluster
            if holder.volume == claim.volume and holder.place.cluster == claim.place.cluster and not same_object:
                out.append((claim, holder))
                break
    return out
