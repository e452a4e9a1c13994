"""The complexity gate of `make lint`: no function above cyclomatic complexity 15, at most 15 above 12.

    python benchmarks/complexity.py generator/mlgitops

Radon measures (its `cc` numbers: one per branch, loop, `and`/`or`, comprehension `if`, except clause).
The ceiling is where check-jsonschema, pre-commit and flux-local keep theirs; the budget above 12 keeps
the near-misses few, so a function that grows past the ceiling is split before it gets there. Prints
every function over either line, worst first, and exits 1 if the gate fails.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Function

CEILING = 15  # no function above this
NEAR = 12  # at most BUDGET functions above this
BUDGET = 15


def functions(blocks: list, prefix: str = "") -> Iterator[tuple[str, Function]]:
    """Every function, method and closure, named Class.method / outer.inner (radon lists a class's
    methods both on their own and inside the class: the classes are skipped)."""
    for block in blocks:
        if isinstance(block, Function):
            name = f"{prefix}{block.fullname}"
            yield name, block
            yield from functions(block.closures, f"{name}.")


def measure(root: Path) -> list[tuple[int, str]]:
    rows = []
    for path in sorted(root.rglob("*.py")):
        for name, block in functions(cc_visit(path.read_text(encoding="utf-8"))):
            rows.append((block.complexity, f"{path.as_posix()}:{block.lineno} {name}"))
    return sorted(rows, key=lambda row: (-row[0], row[1]))


def main(argv: list[str]) -> int:
    rows = [row for arg in argv or ["generator/mlgitops"] for row in measure(Path(arg))]
    over = [row for row in rows if row[0] > CEILING]
    near = [row for row in rows if row[0] > NEAR]
    for complexity, where in near:
        mark = "over the ceiling" if complexity > CEILING else "near"
        print(f"{where}: complexity {complexity} ({mark})")
    print(f"{len(rows)} functions: {len(over)} above {CEILING} (allowed 0), "
          f"{len(near)} above {NEAR} (allowed {BUDGET})")
    if over or len(near) > BUDGET:
        print("complexity gate FAILED: split the functions above (a table or a strategy, not another branch)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
