"""`make scan`: an independent scanner (checkov) on what the clusters receive, held to docs/security.md.

Builds every overlay of the repository (overlays/<env>/<model>[/training]) with the pinned kustomize into
one file each, runs checkov's Kubernetes checks on them, and fails when a check fails that docs/security.md
does not list with a decision and a reason (a row `| CKV_... | decision | reason |`). checkov is not a
dependency of mlgitops: the Makefile installs it into a virtual environment of its own.

    python .ci/scan.py --checkov .venv-scan/bin/checkov [--kubectl .venv/bin/kubectl] [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\|\s*`?(CKV2?_K8S_\d+)`?\s*\|[^|]*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|\s*$", re.MULTILINE)


def explained(security_md: str) -> dict[str, str]:
    """check id -> decision, for the rows of docs/security.md that give a decision and a reason."""
    return {m[1]: m[2] for m in ROW.finditer(security_md) if m[2] and m[3]}


def build(kubectl: str, out: Path) -> int:
    overlays = sorted(p.parent for p in (ROOT / "overlays").rglob("kustomization.yaml"))
    for folder in overlays:
        name = folder.relative_to(ROOT / "overlays").as_posix().replace("/", "_")
        built = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False)
        if built.returncode:
            sys.exit(f"scan: kubectl kustomize {folder} failed:\n{built.stderr}")
        (out / f"{name}.yaml").write_text(built.stdout)
    return len(overlays)


def failures(checkov: str, folder: Path) -> tuple[list[dict], int]:
    ran = subprocess.run([checkov, "-d", str(folder), "--framework", "kubernetes", "--quiet", "--compact",
                          "--output", "json"], capture_output=True, text=True, check=False)
    if ran.returncode not in (0, 1):
        sys.exit(f"scan: checkov exited {ran.returncode}:\n{ran.stderr[-2000:]}")
    reports = json.loads(ran.stdout) if ran.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    failed = [f for r in reports for f in r.get("results", {}).get("failed_checks", [])]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    return failed, passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", required=True)
    parser.add_argument("--kubectl", default=str(ROOT / ".venv/bin/kubectl"))
    parser.add_argument("--keep", type=Path, help="write the built overlays here instead of a temporary folder")
    args = parser.parse_args()
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        count = build(args.kubectl, out)
        failed, passed = failures(args.checkov, out)
    known = explained((ROOT / "docs/security.md").read_text(encoding="utf-8"))
    by_check = collections.Counter((f["check_id"], f["check_name"]) for f in failed)
    unexplained = 0
    for (check, name), n in sorted(by_check.items()):
        decision = known.get(check)
        unexplained += decision is None
        print(f"{check:12} {n:3} failed  {name}: {decision or 'NOT IN docs/security.md'}")
    print(f"scan: {count} overlays, {passed} checks passed, {len(failed)} failed, "
          f"{unexplained} kind(s) of failure not explained in docs/security.md ({time.monotonic() - start:.0f} s)")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
