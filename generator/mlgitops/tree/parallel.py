"""Render the specs the cache misses, in worker processes when there are enough of them to pay for it.

Rendering is pure (spec bytes + config -> files and findings), so the specs are shared out to forked
workers in order and their results come back in the same order: the tree, the findings and their
positions are the same as a run in one process. Only the reading of the specs and the writes stay in
the parent (generation.py, writer.py), so a Ctrl-C still stops before anything is written: the workers
ignore SIGINT and are terminated (SIGTERM) when the parent's KeyboardInterrupt leaves the pool.
"""

from __future__ import annotations

import multiprocessing
import os

from mlgitops.report import interrupts, secrets
from mlgitops.report.findings import Finding, has_errors
from mlgitops.spec.config import Config
from mlgitops.spec.model import Model, parse_model
from mlgitops.tree.layout import Tree, model_tree

POOL_MIN = 50  # specs per worker below which forking costs more than it saves (~100 specs on 2 CPUs, measured)
CHUNKS_PER_WORKER = 8  # small enough chunks that one slow worker does not finish long after the other

Rendered = tuple[str | None, Model | None, Tree, list[Finding]]  # name (None: an error stops it), model, files, findings

_config: Config | None = None  # the run's config, inherited by the forked workers (never pickled)


def render(rel: str, raw: bytes, config: Config) -> Rendered:
    """One spec parsed, validated and rendered; name None when an error stops it."""
    model, found = parse_model(rel, raw, config)
    if model is None:
        return None, None, {}, found
    tree, found = model_tree(model, config)
    if has_errors(found):
        return None, None, {}, found
    return model.name, model, tree, found


def workers(count: int) -> int:
    """How many processes render count specs: 1 (this one) unless each of two or more CPUs gets POOL_MIN."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, count // POOL_MIN))


def render_all(specs: list[tuple[str, bytes]], config: Config, pool: bool = True) -> list[Rendered]:
    """render() of each (path, bytes), in order; in workers when pool allows and there are enough specs.
    From workers, a result carries no Model (the parent parses one again if it asks: generation.Entry)."""
    jobs = workers(len(specs)) if pool else 1
    if jobs < 2:
        return [render(rel, raw, config) for rel, raw in specs]
    global _config
    _config = config
    chunk = max(1, len(specs) // (jobs * CHUNKS_PER_WORKER))
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_ignore_sigint) as workers_pool:
            results = workers_pool.map(_work, specs, chunksize=chunk)
    finally:
        _config = None
    for _rendered, clean in results:
        secrets.add_found_clean(clean)  # what the workers' secret checks cleared, for the parent to keep
    return [rendered for rendered, _clean in results]


def _ignore_sigint() -> None:
    interrupts.reset_in_child()


_sent: set[bytes] = set()  # in a worker: the cleared values' digests already sent to the parent


def _work(spec: tuple[str, bytes]) -> tuple[Rendered, set[bytes]]:
    assert _config is not None, "the config is set before the workers fork"
    name, _model, tree, found = render(*spec, _config)
    clean = secrets.found_clean() - _sent
    _sent.update(clean)
    return (name, None, tree, found), clean
