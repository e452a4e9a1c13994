"""`mlgitops diff --markdown`: the change plan and the rendered diff for a pull-request comment or
$GITHUB_STEP_SUMMARY: first the table of what changes (prod rows first and marked), then one block per
model (and per cluster's sync objects), collapsed when long.

The output never exceeds LIMIT characters: 65,536 is GitHub's limit for a pull-request comment and a
check run's summary (a job summary may hold 1 MiB), so the same text can be posted anywhere. The table
gets at most TABLE_SHARE of it; what does not fit is cut at a line, and a closing note says how much
was left out.
"""

from __future__ import annotations

import re

from mlgitops.check import change_plan
from mlgitops.check.rendered_diff import Change, Result
from mlgitops.report.findings import Finding, Severity

LIMIT = 65_536
RESERVE = 1_500  # kept free for the closing note
MIN_LINES = 5  # a model cut to fewer lines than this is left out whole
MAX_WARNINGS = 20
MAX_NAMES = 10
OPEN_LINES = 30  # a block this short is shown open; longer ones open on click
TABLE_SHARE = 0.4
_BACKTICKS = re.compile(r"`+")


def _counts(text: str) -> tuple[int, int]:
    lines = text.splitlines()
    added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++ "))
    removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("--- "))
    return added, removed


def _block(model: str, envs: list[str], body: str, counts: tuple[int, int], note: str = "") -> str:
    fence = "`" * max(3, max((len(m) for m in _BACKTICKS.findall(body)), default=0) + 1)
    opened = " open" if body.count("\n") <= OPEN_LINES and not note else ""
    return (f"<details{opened}><summary><code>{model}</code>: {', '.join(envs)} (+{counts[0]} -{counts[1]} "
            f"lines)</summary>\n\n{fence}diff\n{body}{fence}\n{note}\n</details>\n\n")


def _by_model(changes: list[Change]) -> list[tuple[str, list[str], str]]:
    """A block per model (or cluster), naming each place once: `dev, dev training, prod`, never `dev, dev`."""
    models: dict[str, list[Change]] = {}
    for change in changes:
        models.setdefault(change.group, []).append(change)
    out = []
    for model in sorted(models):
        mine = sorted(models[model], key=lambda c: c.where)
        body = "".join(c.text if c.text.endswith("\n") else c.text + "\n" for c in mine)
        out.append((model, list(dict.fromkeys(c.where for c in mine)), body))
    return out


def _table(rows: list[change_plan.Row], room: int) -> str:
    """The change plan as a table, with as many rows as fit in `room` characters."""
    if not rows:
        return ""
    head = f"**Change plan**: {change_plan.counts(rows)}\n\n"
    keep = len(rows)
    text = change_plan.markdown_table(rows, keep)
    while len(head) + len(text) > room and keep > 0:
        keep = max(0, min(keep - 1, keep * room // (len(head) + len(text))))
        text = change_plan.markdown_table(rows, keep)
    return head + text


def _warnings(findings: list[Finding]) -> str:
    """Errors (what a sync would break) in a CAUTION box, warnings (what it would prune, hand over) below."""
    out = []
    for severity, box in ((Severity.ERROR, "CAUTION"), (Severity.WARNING, "WARNING")):
        some = [f for f in findings if f.severity is severity]
        if not some:
            continue
        lines = [f"> [!{box}]\n"]
        for f in some[:MAX_WARNINGS]:
            lines.append(f"> - `{f.location()}`: {f.message}. {f.hint}\n")
        if len(some) > MAX_WARNINGS:
            lines.append(f"> - … and {len(some) - MAX_WARNINGS} more: run `mlgitops diff` to see them all\n")
        out.append("".join(lines) + "\n")
    return "".join(out)


def _note(models: list[tuple[str, list[str], str]], cut: tuple[str, int] | None, limit: int) -> str:
    lines = sum(body.count("\n") for _, _, body in models) + (cut[1] if cut else 0)
    parts = []
    if cut:
        parts.append(f"the last {cut[1]} lines of `{cut[0]}`")
    if models:
        names = ", ".join(f"`{m}`" for m, _, _ in models[:MAX_NAMES])
        more = f" and {len(models) - MAX_NAMES} more" if len(models) > MAX_NAMES else ""
        parts.append(f"{len(models)} more model{'s' if len(models) != 1 else ''} ({names}{more})")
    return (f"**Cut to fit {limit:,} characters**: left out {' and '.join(parts)}, {lines:,} diff lines in all. "
            "Run `mlgitops diff` for the whole diff.\n")


def _fitting(lines: list[str], room: int) -> list[str]:
    """The leading lines whose lengths add up to at most room."""
    kept: list[str] = []
    for line in lines:
        room -= len(line)
        if room < 0:
            break
        kept.append(line)
    return kept


def markdown(result: Result, warnings: list[Finding], limit: int = LIMIT, notes: list[str] | None = None,
             rows: list[change_plan.Row] | None = None) -> str:
    out = [f"**mlgitops diff** against {result.base.describe()}\n\n"]
    if notes:
        out.append("> [!NOTE]\n" + "".join(f"> - {n}\n" for n in notes[:MAX_WARNINGS]) + "\n")
    if not result.changes and not warnings:
        return "".join(out) + "The clusters get no change.\n"
    out.append(_warnings(warnings))
    out.append(_table(rows or [], int(limit * TABLE_SHARE)))
    used = sum(len(x) for x in out)
    models = _by_model(result.changes)
    for i, (model, envs, body) in enumerate(models):
        block = _block(model, envs, body, _counts(body))
        if used + len(block) + RESERVE <= limit:
            out.append(block)
            used += len(block)
            continue
        lines = body.splitlines(keepends=True)
        room = limit - used - RESERVE - len(_block(model, envs, "", _counts(body), "\n*(cut: 000000 more lines)*\n"))
        kept = _fitting(lines, room)
        cut = None
        if len(kept) >= MIN_LINES:
            cut = (model, len(lines) - len(kept))
            out.append(_block(model, envs, "".join(kept), _counts(body), f"\n*(cut: {cut[1]} more lines)*\n"))
        out.append(_note(models[i + 1:] if cut else models[i:], cut, limit))
        break
    return "".join(out)
