"""Every figure of issue 22 in one run, for one or more revisions side by side (a benchmark, not a test).

    make bench-all                                   # the working tree alone
    .venv/bin/python benchmarks/bench_all.py --rev main --rev WORKTREE --generate-n 1000 --check-n 300,1000

For each revision (a git revision, unpacked with `git archive` and imported ahead of the editable install,
or WORKTREE for this checkout's generator/), the real CLI runs as a subprocess (`python -m mlgitops`), so
start-up and imports count. Every figure is the best of --repeat runs; before each run the 1-minute load
average is read, and the table shows the highest one a figure's runs started under (other engineers run
tests on this machine: a figure measured at load 12 on 2 CPUs is not a quiet machine's).

rows (the targets of issue 22):
  start-up        `mlgitops --version`; `mlgitops validate` of one 7-resource file, outside a repository
  validate        one core (the process pinned), marginal rate incl. parsing: a ~6,000-resource file,
                  then the same four times over; (4 - 1) x resources / (t4 - t1)
  generate N      on --workdir (default /dev/shm): cold (no output, empty cache), unchanged, one changed
  check N         cold (empty cache), warm (unchanged), and the naive loop (one `kubectl kustomize` per
                  overlay, --naive-sample of them, scaled) measured once in the same run: naive / cold;
                  with --busy, all three while another process keeps one core busy (a Python loop pinned
                  to it), the rows marked "busy core"
  diff            a one-spec pull request at --diff-n: no built output cached, then again (cached)
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_diff import GIT_ENV
from bench_generate import machine, snapshot
from bench_validate import synthesize as validate_corpus
from mlgitops.kube import kustomize
from synth import CONFIG, REPO, change_one, model_name, synthesize

WORKTREE = "WORKTREE"
SUMMARY = re.compile(r"(\d+) models, (\d+) overlays, (\d+) resources")


@dataclass
class Figure:
    """The best of the runs of one row for one revision, and the highest load any of them started under."""

    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    def add(self, seconds: float, cpu: float, load: float) -> None:
        self.seconds.append(seconds)
        self.cpu.append(cpu)
        self.loads.append(load)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)

    def cell(self) -> str:
        if not self.seconds:
            return "-"
        return f"{self.best:.2f} s (CPU {self.best_cpu:.2f} s; load {max(self.loads):.1f})"


@dataclass
class Version:
    name: str
    env: dict[str, str]
    config: Path  # the revision's own mlgitops.yaml, which the synthesized repositories copy (its schema's)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "mlgitops", *args]


def load() -> float:
    return os.getloadavg()[0]


Ran = tuple[float, float, float, str]  # wall seconds, CPU seconds (user + system), load before, stdout


def run(version: Version, args: list[str], cwd: Path | None = None, one_core: bool = False,
        expect: Callable[[subprocess.CompletedProcess[str]], bool] | None = None) -> Ran:
    """One CLI run; exits with its output when expect says no."""
    before = load()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    pin = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if one_core else None
    start = time.perf_counter()
    proc = subprocess.run(version.argv(*args), cwd=cwd, env=version.env, capture_output=True, text=True,
                          timeout=1800, check=False, preexec_fn=pin)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    if not (expect(proc) if expect else proc.returncode == 0):
        raise SystemExit(f"{version.name}: mlgitops {' '.join(args)} exited {proc.returncode}:\n"
                         f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    return wall, cpu, before, proc.stdout


def best_of(repeat: int, once: Callable[[], Ran]) -> Figure:
    figure = Figure()
    for _ in range(repeat):
        figure.add(*once()[:3])
    return figure


@contextmanager
def versions(revs: list[str], work: Path) -> Iterator[list[Version]]:
    found = []
    for i, rev in enumerate(revs):
        env = {**os.environ, "MLGITOPS_CACHE_DIR": str(work / f"cache-{i}"),
               "MLGITOPS_CACHE_KEY": str(work / f"cache-key-{i}")}
        if rev == WORKTREE:
            pkg, config = REPO / "generator", CONFIG
        else:
            pkg, config = snapshot(rev, work / f"rev-{i}")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pkg), os.environ.get("PYTHONPATH")]))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(pkg / "mlgitops")], check=False,
                       capture_output=True)  # bytecode written before timing, as an installed package has it
        found.append(Version(rev, env, config))
    yield found


def clear_cache(version: Version) -> None:
    shutil.rmtree(version.env["MLGITOPS_CACHE_DIR"], ignore_errors=True)


def clear_results(version: Version) -> None:
    """Forget every built and checked result (cache.location(repo)/results, and the whole run's, check-memo),
    keeping generate's cache."""
    for kind in ("results", "check-memo"):
        for results in Path(version.env["MLGITOPS_CACHE_DIR"]).glob(f"*/{kind}"):
            shutil.rmtree(results)


# --- rows -------------------------------------------------------------------------------------------------------

def startup(version: Version, work: Path, repeat: int) -> dict[str, Figure | float]:
    small = work / "outside" / "small.yaml"
    if not small.exists():
        small.parent.mkdir(parents=True)
        small.write_text(validate_corpus(7)[0][1])
    return {"--version": best_of(repeat, lambda: run(version, ["--version"])),
            "validate, one small file": best_of(repeat, lambda: run(version, ["validate", str(small)],
                                                                    cwd=small.parent))}


def validate_rate(version: Version, work: Path, repeat: int) -> dict[str, Figure | float]:
    folder = work / "outside"
    one, four = folder / "one.yaml", folder / "four.yaml"
    if not one.exists():
        text = "".join(t if t.startswith("---") else "---\n" + t for _, t in validate_corpus(6000))
        one.write_text(text)
        four.write_text(text * 4)
    counted = run(version, ["validate", str(one)], cwd=folder)[3]
    resources = int(re.search(r"(\d+) resources", counted)[1])  # type: ignore[index]
    t1 = best_of(repeat, lambda: run(version, ["validate", str(one)], cwd=folder, one_core=True))
    t4 = best_of(repeat, lambda: run(version, ["validate", str(four)], cwd=folder, one_core=True))
    return {"validate x1": t1, "validate x4": t4, "resources": resources,
            "rate": 3 * resources / max(t4.best - t1.best, 1e-9),
            "rate (CPU)": 3 * resources / max(t4.best_cpu - t1.best_cpu, 1e-9)}


def generate_rows(version: Version, work: Path, n: int, repeat: int) -> dict[str, Figure | float]:
    cold, unchanged, changed = Figure(), Figure(), Figure()
    for k in range(repeat):
        repo = work / f"gen-{n}-{k}"
        shutil.rmtree(repo, ignore_errors=True)
        synthesize(repo, n, config=version.config)
        clear_cache(version)
        cold.add(*run(version, ["generate", "-q", "--repo", str(repo)])[:3])
        unchanged.add(*run(version, ["generate", "-q", "--repo", str(repo)])[:3])
        change_one(repo, k)
        changed.add(*run(version, ["generate", "-q", "--repo", str(repo)])[:3])
        shutil.rmtree(repo)
    return {f"generate N={n} cold": cold, f"generate N={n} unchanged": unchanged,
            f"generate N={n} one changed": changed}


def naive_loop(repo: Path, sample: int) -> float:
    """One `kubectl kustomize` per overlay (validation not even counted), scaled from `sample` overlays."""
    overlays = sorted(p.parent for p in repo.glob("overlays/*/*/kustomization.yaml"))
    chosen = random.Random(0).sample(overlays, min(sample, len(overlays))) if sample else overlays
    argv = kustomize.build_argv()
    start = time.perf_counter()
    for overlay in chosen:
        subprocess.run([*argv, str(overlay)], check=True, capture_output=True)
    return (time.perf_counter() - start) * len(overlays) / len(chosen)


@contextmanager
def busy_core(busy: bool) -> Iterator[None]:
    """With busy: another process spinning on one core (the lowest this process may use) meanwhile. Its CPU
    time is not counted: it is reaped after the runs, outside any run's getrusage window. It runs in a session
    of its own, as another job or terminal's process does: with the kernel's autogroup scheduling
    (/proc/sys/kernel/sched_autogroup_enabled, on here) CPU time is shared between sessions first, so a spinner
    left in the benchmark's session would take its share from mlgitops's own process alone (measured by chk23:
    check's main thread waited 10.2 s for 2.3 s of CPU that way, 7.7-8.2 s with the spinner in a session of
    its own), which no unrelated process does."""
    if not busy:
        yield
        return
    core = min(os.sched_getaffinity(0))
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                              preexec_fn=lambda: os.sched_setaffinity(0, {core}), start_new_session=True)
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


def check_rows(version: Version, work: Path, n: int, repeat: int, naive: dict[int, Figure],
               sample: int, busy: bool = False) -> dict[str, Figure | float]:
    repo = work / f"check-{n}-{version.name}"
    if not repo.exists():
        synthesize(repo, n, config=version.config)
    clear_cache(version)
    run(version, ["generate", "-q", "--repo", str(repo)])
    cold, warm = Figure(), Figure()
    with busy_core(busy):
        for _ in range(repeat):
            clear_results(version)
            cold.add(*run(version, ["check", "--repo", str(repo)])[:3])
            warm.add(*run(version, ["check", "--repo", str(repo)])[:3])
        if n not in naive:
            naive[n] = Figure()
            before = load()
            seconds = naive_loop(repo, sample)
            naive[n].add(seconds, seconds, before)
    mark = " (busy core)" if busy else ""
    return {f"check N={n} cold{mark}": cold, f"check N={n} warm{mark}": warm,
            f"check N={n} naive / cold{mark}": naive[n].best / cold.best}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def diff_rows(version: Version, work: Path, n: int, repeat: int) -> dict[str, Figure | float]:
    changed, again = Figure(), Figure()
    for k in range(repeat):
        repo = work / f"diff-{n}-{k}"
        shutil.rmtree(repo, ignore_errors=True)
        synthesize(repo, n, config=version.config)
        clear_cache(version)
        run(version, ["generate", "-q", "--repo", str(repo)])
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "base")
        git(repo, "checkout", "-qb", "feature")
        change_one(repo, k)
        run(version, ["generate", "-q", "--repo", str(repo)])
        git(repo, "commit", "-qam", f"bump {model_name(k)}")
        clear_results(version)
        changed.add(*run(version, ["diff", "--repo", str(repo)])[:3])
        again.add(*run(version, ["diff", "--repo", str(repo)])[:3])
        shutil.rmtree(repo)
    return {f"diff N={n}, one spec": changed, f"diff N={n}, one spec, cached": again}


# --- the table --------------------------------------------------------------------------------------------------

def cell(value: Figure | float, row: str) -> str:
    if isinstance(value, Figure):
        return value.cell()
    return f"{value:,.0f} resources/s" if row.startswith("rate") else f"{value:.1f}x"


def print_table(names: list[str], results: list[dict[str, Figure | float]]) -> None:
    rows = [row for row in results[0] if row != "resources"]
    print("| figure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for row in rows:
        label = f"validate, one core, marginal {row}" if row.startswith("rate") else row
        print(f"| {label} | " + " | ".join(cell(r[row], row) for r in results) + " |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", action="append", default=None,
                        help=f"a git revision to measure, repeatable; {WORKTREE} for this checkout (default)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, the best kept (default 3)")
    parser.add_argument("--generate-n", default="1000", help="model counts for generate (default 1000)")
    parser.add_argument("--check-n", default="300,1000", help="model counts for check (default 300,1000)")
    parser.add_argument("--diff-n", default="300", help="model counts for diff (default 300)")
    parser.add_argument("--naive-sample", type=int, default=60, help="overlays the naive loop builds (0: all)")
    parser.add_argument("--busy", action="store_true",
                        help="measure the check rows (and the naive loop) with another process busy on one core")
    parser.add_argument("--only", default="startup,validate,generate,check,diff",
                        help="which rows, comma-separated (default all)")
    parser.add_argument("--workdir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None)
    return parser.parse_args(argv)


def sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def measure(version: Version, work: Path, args: argparse.Namespace,
            naive: dict[int, Figure]) -> dict[str, Figure | float]:
    only = set(args.only.split(","))
    out: dict[str, Figure | float] = {}
    if "startup" in only:
        out.update(startup(version, work, args.repeat))
    if "validate" in only:
        out.update(validate_rate(version, work, args.repeat))
    for n in sizes(args.generate_n) if "generate" in only else []:
        out.update(generate_rows(version, work, n, args.repeat))
    for n in sizes(args.check_n) if "check" in only else []:
        out.update(check_rows(version, work, n, args.repeat, naive, args.naive_sample, args.busy))
    for n in sizes(args.diff_n) if "diff" in only else []:
        out.update(diff_rows(version, work, n, args.repeat))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    revs = args.rev or [WORKTREE]
    print(f"machine: {machine()}; load (1 min) at start {load():.1f}; best of {args.repeat}; "
          f"workdir {args.workdir or tempfile.gettempdir()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-all-", dir=args.workdir) as tmp, \
            versions(revs, Path(tmp)) as found:
        naive: dict[int, Figure] = {}
        results = []
        for version in found:
            print(f"measuring {version.name} ...", file=sys.stderr, flush=True)
            results.append(measure(version, Path(tmp), args, naive))
        print_table([v.name for v in found], results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
