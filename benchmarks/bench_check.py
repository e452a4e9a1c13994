"""Time `mlgitops check` on synthesized repositories of N models x 3 environments (a benchmark, not a test).

For each N: synthesize and generate, then run the real CLI as a subprocess and time
  cold         no cache (the cache's results/ removed): every overlay built, validated, checked,
  unchanged    a second run, answered from the content-addressed cache,
  one changed  after one spec changed and `generate` ran: only that model's overlays are rebuilt,
and, in the same run, the naive pipeline a team writes by hand: one `kubectl kustomize` process per
overlay in a loop (validation not even counted). --naive-sample K builds only K overlays and scales
the time up (the loop is linear), to keep large runs short; the table says when it did.

    .venv/bin/python benchmarks/bench_check.py [--sizes 100,300,1000] [--repeat 2] [--naive-sample 0]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import cli_command, machine, timed, wait_quiet
from mlgitops.kube import kustomize
from mlgitops.tree import cache
from synth import change_one, synthesize

SUMMARY = re.compile(r"(\d+) models, (\d+) overlays, (\d+) resources: (\d+) errors?, (\d+) warnings?")
TARGETS = {"cold": 20.0, "unchanged": 1.5, "changed": 1.5, "ratio": 6.0}
err = Console(stderr=True, highlight=False)


def run_check(repo: Path, max_wait: float) -> tuple[float, tuple[int, ...]]:
    run, proc = timed([*cli_command(), "check", "--repo", str(repo)], wait_quiet(max_wait))
    match = SUMMARY.search(proc.stdout)
    if not match or proc.returncode != 0:
        raise SystemExit(f"check failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return run.seconds, tuple(int(x) for x in match.groups())


def generate(repo: Path) -> None:
    proc = subprocess.run([*cli_command(), "generate", "--repo", str(repo)], check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])


def naive_loop(repo: Path, sample: int) -> tuple[float, int, int]:
    """One `kubectl kustomize` per overlay; returns (seconds for all overlays, overlays, built)."""
    overlays = sorted(p.parent for p in repo.glob("overlays/*/*/kustomization.yaml"))
    chosen = overlays if not sample or sample >= len(overlays) else random.Random(0).sample(overlays, sample)
    argv = kustomize.build_argv()
    start = time.perf_counter()
    for overlay in chosen:
        subprocess.run([*argv, str(overlay)], check=True, capture_output=True)
    spent = time.perf_counter() - start
    return spent * len(overlays) / len(chosen), len(overlays), len(chosen)


def measure(work: Path, n: int, repeat: int, sample: int, max_wait: float) -> dict:
    repo = work / f"repo-{n}"
    synthesize(repo, n)
    generate(repo)
    cold, unchanged, changed = [], [], []
    counts = ()
    for k in range(repeat):
        for kind in ("results", "check-memo"):  # every built result, and the whole run's (check/memo.py)
            shutil.rmtree(cache.location(repo) / kind, ignore_errors=True)
        seconds, counts = run_check(repo, max_wait)
        cold.append(seconds)
        unchanged.append(run_check(repo, max_wait)[0])
        change_one(repo, k)
        generate(repo)
        changed.append(run_check(repo, max_wait)[0])
        err.print(f"N={n} run {k + 1}: cold {cold[-1]:.2f} s, unchanged {unchanged[-1]:.2f} s, "
                  f"one changed {changed[-1]:.2f} s")
    wait_quiet(max_wait)
    naive, overlays, built = naive_loop(repo, sample)
    err.print(f"N={n} naive loop: {naive:.1f} s for {overlays} overlays ({built} built)")
    return {"n": n, "models": counts[0], "overlays": counts[1], "resources": counts[2], "cold": min(cold),
            "unchanged": min(unchanged), "changed": min(changed), "naive": naive, "sampled": built < overlays}


def table(rows: list[dict]) -> Table:
    t = Table(title="mlgitops check (best of the repeats; wall-clock seconds, CLI start-up included)")
    for column in ("N", "overlays", "resources", "cold", "unchanged", "one changed", "naive loop", "naive / cold",
                   "resources/s cold"):
        t.add_column(column, justify="right")
    for r in rows:
        t.add_row(str(r["n"]), str(r["overlays"]), str(r["resources"]), f"{r['cold']:.2f}", f"{r['unchanged']:.2f}",
                  f"{r['changed']:.2f}", f"{r['naive']:.1f}{'*' if r['sampled'] else ''}",
                  f"{r['naive'] / r['cold']:.1f}x", f"{r['resources'] / r['cold']:.0f}")
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--naive-sample", type=int, default=0, help="overlays the naive loop builds (0: all)")
    parser.add_argument("--max-wait", type=float, default=30.0, help="seconds to wait for an idle machine")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    out = Console(highlight=False)
    out.print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-check-") as folder:
        rows = [measure(Path(folder), n, args.repeat, args.naive_sample, args.max_wait) for n in sizes]
    out.print(table(rows))
    if any(r["sampled"] for r in rows):
        out.print("* naive loop time scaled up from a sample of overlays (--naive-sample)")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        out.print(f"growth {first['n']} -> {last['n']} models (x{last['n'] / first['n']:.0f}): cold "
                  f"x{last['cold'] / first['cold']:.1f}, unchanged x{last['unchanged'] / first['unchanged']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
