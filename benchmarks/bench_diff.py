"""Time `mlgitops diff` for a one-spec pull request on synthesized repositories (a benchmark, not a test).

For each N: synthesize N specs and generate, commit on `main`, then on a branch `feature` bump one
spec's version (synth.change_one), generate and commit: a one-spec pull request. Then run the real CLI
as a subprocess (start-up included) and time
  one changed   `mlgitops diff` (base: the merge base with main) with no built output cached yet
                (the cache's results/ removed; the generate cache is warm, as after `generate`),
  again         the same run again: the changed overlays' built output comes from the cache,
  no cache      `mlgitops diff --no-cache`: nothing cached at all, the whole tree rendered for the
                staleness check (a CI job without a restored cache),
  before        with --compare REV: REV's mlgitops (e.g. the revision before the fast path) running
                `diff --base main`; its output must equal ours but for our first line.
Every run is checked: exit 0, and the diff names only overlays of the changed model.

    .venv/bin/python benchmarks/bench_diff.py [--sizes 100,300] [--repeat 2] [--compare 4a12437]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import BUSY, cli_command, machine, snapshot, timed, wait_quiet
from mlgitops.tree import cache
from synth import change_one, model_name, synthesize

TARGET = (300, 2.0)  # one changed at N=300 in at most 2 s
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.com", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
MEASURES = (("one changed", "changed"), ("again", "again"), ("no cache", "nocache"), ("before", "before"))
err = Console(stderr=True, highlight=False)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def cli(repo: Path, *args: str, argv: list[str] | None = None) -> list[str]:
    return [*(argv or cli_command()), *args, "--repo", str(repo)]


def pull_request(work: Path, n: int, k: int) -> Path:
    """A repository of n models on `main`, and a branch `feature` that changes model k."""
    repo = work / f"repo-{n}-{k}"
    synthesize(repo, n)
    subprocess.run(cli(repo, "generate"), check=True, capture_output=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "feature")
    change_one(repo, k)
    subprocess.run(cli(repo, "generate"), check=True, capture_output=True)
    git(repo, "commit", "-qam", f"bump {model_name(k)}")
    return repo


def run_diff(repo: Path, k: int, max_wait: float, *args: str, argv: list[str] | None = None):
    run, proc = timed(cli(repo, "diff", *args, argv=argv), wait_quiet(max_wait))
    changed = sorted(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("+++ "))
    if proc.returncode != 0 or not changed or any(c.split("/")[3] != model_name(k) for c in changed):
        raise SystemExit(f"diff {' '.join(args)} exited {proc.returncode}, changed {changed}:\n{proc.stderr[-2000:]}")
    return run, proc.stdout


def _changed_lines(diff: str) -> list[str]:
    """The added and removed lines of the overlays' hunks: the change plan, clusters/ and the hunk headers
    (one per object since the change plan) may differ between revisions, what changes may not."""
    overlays = diff.split("--- a/clusters/", 1)[0]
    return sorted(line for line in overlays.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---"))


def measure(work: Path, n: int, repeat: int, max_wait: float, before: list[str] | None) -> dict:
    times: dict[str, list] = {key: [] for _, key in MEASURES}  # Runs
    for k in range(repeat):
        repo = pull_request(work, n, k)
        shutil.rmtree(cache.location(repo) / "results", ignore_errors=True)
        run, ours = run_diff(repo, k, max_wait)
        times["changed"].append(run)
        times["again"].append(run_diff(repo, k, max_wait)[0])
        times["nocache"].append(run_diff(repo, k, max_wait, "--no-cache")[0])
        if before:
            run, theirs = run_diff(repo, k, max_wait, "--base", "main", argv=before)
            if _changed_lines(ours) != _changed_lines(theirs):
                raise SystemExit(f"N={n}: the diff differs from the one --compare's revision prints")
            times["before"].append(run)
        err.print(f"N={n} run {k + 1}: " + ", ".join(f"{label} {cell(times[key][-1])} s" for label, key in MEASURES
                                                   if times[key]))
        shutil.rmtree(repo)
    return {"n": n, **{key: min(runs, key=lambda r: r.seconds) if runs else None for key, runs in times.items()}}


def cell(run) -> str:
    """Seconds, with * when other processes kept the CPUs busy as the run started."""
    return f"{run.seconds:.2f}{'*' if run.busy > BUSY else ''}"


def table(rows: list[dict]) -> Table:
    t = Table(title="mlgitops diff, one spec changed (best of the repeats; wall-clock seconds, start-up included)")
    t.add_column("N", justify="right")
    for label, key in MEASURES:
        if any(r[key] is not None for r in rows):
            t.add_column(label, justify="right")
    for r in rows:
        t.add_row(str(r["n"]), *(cell(r[key]) for _, key in MEASURES if r[key] is not None))
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,300")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--compare", metavar="REV", help="also time this revision's mlgitops (e.g. 4a12437)")
    parser.add_argument("--max-wait", type=float, default=30.0, help="seconds to wait for an idle machine")
    args = parser.parse_args(argv)
    out = Console(highlight=False)
    out.print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-diff-") as folder:
        work = Path(folder)
        before = None
        if args.compare:
            pkg, _ = snapshot(args.compare, work)
            code = f"import sys; sys.path.insert(0, {str(pkg)!r}); from mlgitops.cli import main; sys.exit(main(sys.argv[1:]))"
            before = [sys.executable, "-c", code]
        rows = [measure(work, int(n), args.repeat, args.max_wait, before) for n in args.sizes.split(",")]
    out.print(table(rows))
    out.print(f"* other processes used more than {BUSY:.0%} of the CPUs as the run started (--max-wait)")
    n, target = TARGET
    for r in rows:
        if r["n"] == n:
            verdict = "met" if r["changed"].seconds <= target else "missed"
            out.print(f"target: one changed at N={n} <= {target:.1f} s: {verdict} ({cell(r['changed'])} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
