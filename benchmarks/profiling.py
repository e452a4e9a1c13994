"""Where `generate` spends its time: cProfile on in-process runs (no process start-up), for --profile."""

from __future__ import annotations

import cProfile
import pstats
import shutil
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

from synth import CONFIG, synthesize


def shorten(stats: pstats.Stats, package_parent: Path) -> pstats.Stats:
    """Like Stats.strip_dirs, but keeps the package path (yaml/emitter.py, mlgitops/render/workload.py)."""
    paths = sysconfig.get_paths()
    prefixes = [f"{package_parent}/", *(f"{paths[k]}/" for k in ("purelib", "platlib", "stdlib"))]

    def key(k):
        path = next((k[0][len(p):] for p in prefixes if k[0].startswith(p)), k[0])
        return (path, k[1], k[2])

    table: Any = stats  # the attributes strip_dirs rewrites are not in the stubs
    table.stats = {key(k): (cc, nc, tt, ct, {key(c): v for c, v in callers.items()})
                   for k, (cc, nc, tt, ct, callers) in table.stats.items()}
    table.top_level = {key(k) for k in table.top_level}
    table.fcn_list = None
    label = pstats.func_std_string  # type: ignore[attr-defined]
    table.max_name_len = max(len(label(k)) for k in table.stats)
    return stats


def profile(work: Path, n: int, seed: int = 0, top: int = 25, out_dir: Path | None = None,
            config: Path = CONFIG) -> None:
    """Profile a cold run (empty output) and then an unchanged run of n synthesized models; print the
    top entries by cumulative and by own time; save the .prof files in out_dir if given."""
    import mlgitops  # imported here, after --rev has set the import path
    from mlgitops.tree.generation import run

    package_parent = Path(mlgitops.__file__).parent.parent
    repo = work / f"profile-{n}"
    synthesize(repo, n, seed, config)
    for label in ("cold", "unchanged"):
        profiler = cProfile.Profile()
        start = time.perf_counter()
        outcome = profiler.runcall(run, repo)
        seconds = time.perf_counter() - start
        if outcome.exit_code != 0:
            raise RuntimeError(f"in-process {label} run failed: {[str(f) for f in outcome.findings][:5]}")
        plan = outcome.plan
        print(f"\n=== profile: {label} run, N={n}, in process: {seconds:.2f} s under cProfile "
              f"({len(plan.write)} written, {plan.unchanged} unchanged) ===")
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(out_dir / f"generate-{label}-{n}.prof")
        for sort in ("cumulative", "tottime"):
            print(f"\n--- top {top} by {sort} ---")
            stats = shorten(pstats.Stats(profiler, stream=sys.stdout), package_parent)
            stats.sort_stats(sort).print_stats(top)
    shutil.rmtree(repo)
