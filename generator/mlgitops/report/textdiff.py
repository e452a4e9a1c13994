"""Unified diffs of generated YAML that show only the lines that changed.

difflib's matcher treats a line that occurs in more than 1% of a long text as junk ("autojunk"); in
Kubernetes YAML that is every `namespace:` or label line, so equal lines showed up as removed and
re-added. The same output format as difflib.unified_diff, with autojunk off.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator


def _range(start: int, length: int) -> str:
    beginning = start + 1 if length else start  # difflib's convention: empty ranges name the line before
    return f"{beginning}" if length == 1 else f"{beginning},{length}"


def unified(a: list[str], b: list[str], fromfile: str = "", tofile: str = "", n: int = 3) -> Iterator[str]:
    """Lines of a unified diff of a and b (lines with their endings), like difflib.unified_diff."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    started = False
    for group in matcher.get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2] - first[1])} +{_range(first[3], last[4] - first[3])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield from ("-" + line for line in a[i1:i2])
            if tag in ("replace", "insert"):
                yield from ("+" + line for line in b[j1:j2])
