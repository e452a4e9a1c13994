"""`mlgitops status` as text: a table for terminals, markdown for a release pull request, json for scripts.

Pure: rows (plain dicts, see spec/fleet.py) in, text out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

COLUMNS = (("model", "model"), ("environment", "env"), ("version", "version"), ("image_short", "image"),
           ("weights", "weights"), ("pods", "pods"), ("gpus", "GPUs"), ("canary", "canary"), ("drift", "drift"))


def _weights(uri: str, pinned: str) -> str:
    """The weights' last path parts and how they are pinned: `…/3.1.4/model.json (immutable)`, `(mutable)`."""
    if not uri:
        return ""
    scheme, _, path = uri.partition("://")
    parts = [p for p in (path or scheme).split("/") if p]
    short = uri if len(parts) <= 3 else "…/" + "/".join(parts[-2:]) + ("/" if uri.endswith("/") else "")
    return f"{short} ({pinned or 'mutable'})"


def _cell(row: dict[str, Any], key: str) -> str:
    value = row[key]
    if key == "drift":
        return "differs from specs" if value else ""
    if key == "weights":
        return _weights(value, row["weights_pinned"])
    if key == "canary" and value and row["canary_weights"] != row["weights"]:
        return f"{value} {_weights(row['canary_weights'], row['canary_weights_pinned'])}"
    return str(value)


def _totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        out[row["environment"]] = out.get(row["environment"], 0) + row["gpus"]
    return out


def _aligned(rows: list[dict[str, Any]]) -> list[str]:
    """The table's lines: a header, a rule, one line per row, every column as wide as its widest cell."""
    cells = [[title for _, title in COLUMNS]] + [[_cell(r, key) for key, _ in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = _aligned(rows)
    flags = [f"! {r['model']}: {flag}" for r in rows for flag in r["flags"]]
    gpus = ", ".join(f"{env} {n}" for env, n in _totals(rows).items())
    return "\n".join(lines + (["", *flags] if flags else []) + ["", f"GPUs at most (per environment): {gpus}"]) + "\n"


def format_markdown(rows: list[dict[str, Any]]) -> str:
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    body = "".join("| " + " | ".join(_cell(r, key).replace("|", "\\|") or " " for key, _ in COLUMNS) + " |\n"
                   for r in rows)
    flags = "".join(f"- :warning: **{r['model']}**: {flag}\n" for r in rows for flag in r["flags"])
    return head + body + (f"\n{flags}" if flags else "")


def format_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps({"models": rows, "gpus": _totals(rows)}, indent=2, sort_keys=True) + "\n"


FORMATS: dict[str, Callable[[list[dict[str, Any]]], str]] = {"table": format_table, "markdown": format_markdown,
                                                    "json": format_json}
