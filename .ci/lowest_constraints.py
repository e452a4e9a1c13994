"""Print a pip constraints file pinning each runtime dependency of pyproject.toml to its lowest allowed version.

pip has no lowest-direct resolution; this gives it one: `name>=X,<Y` becomes `name==X` (the floor of the
range must be a version that exists and works, which `make test-lowest` proves). Dependencies of the
dependencies resolve as usual. Python 3.10 has no tomllib: the [project] dependencies list is read as text.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REQUIREMENT = re.compile(r'^\s*"(?P<name>[A-Za-z0-9._-]+)(?P<spec>[^";]*)"', re.MULTILINE)


def floors(pyproject: str) -> list[str]:
    block = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.MULTILINE | re.DOTALL)
    if block is None:
        raise SystemExit("pyproject.toml: no [project] dependencies list")
    pins = []
    for match in REQUIREMENT.finditer(block.group(1)):
        floor = re.search(r">=\s*([\w.]+)", match["spec"])
        if floor is None:
            raise SystemExit(f"pyproject.toml: {match['name']}{match['spec']} has no lower bound (>=)")
        pins.append(f"{match['name']}=={floor.group(1)}")
    return pins


if __name__ == "__main__":
    print("\n".join(floors(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml").read_text())))
