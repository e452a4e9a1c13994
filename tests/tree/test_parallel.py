"""Specs rendered in worker processes give the same tree and the same findings as in one process."""

from __future__ import annotations

import os
import shutil
import signal

import pytest
from conftest import ROOT
from mlgitops.spec.repo import Repo
from mlgitops.tree import generation, parallel


@pytest.fixture
def one_per_worker(monkeypatch):
    """Any two specs go to two worker processes (a real run needs parallel.POOL_MIN per worker)."""
    monkeypatch.setattr(parallel, "POOL_MIN", 1)
    monkeypatch.setattr(parallel, "workers", lambda count: 2 if count >= 2 else 1)


def _build(root):
    return generation.build(Repo(root), use_cache=False, store_cache=False, keep_models=False)


def test_workers_render_the_same_tree_in_the_same_order(repo, one_per_worker, monkeypatch):
    pooled = _build(repo)
    monkeypatch.setattr(parallel, "workers", lambda count: 1)
    alone = _build(repo)
    assert list(pooled.tree.items()) == list(alone.tree.items())
    assert [e.name for e in pooled.entries] == [e.name for e in alone.entries] == sorted(e.name for e in alone.entries)
    assert [m.name for m in pooled.models] == [e.name for e in pooled.entries]  # parsed again on demand


def test_a_spec_error_from_a_worker_keeps_its_position(repo, one_per_worker, monkeypatch):
    shutil.copy(ROOT / "tests/cases/invalid/cpu-target-over-100/model.yaml", repo / "models/broken.yaml")
    pooled = _build(repo)
    monkeypatch.setattr(parallel, "workers", lambda count: 1)
    alone = _build(repo)
    assert pooled.findings and pooled.findings == alone.findings
    assert any(f.file == "models/broken.yaml" and f.position.line > 1 for f in pooled.findings)
    assert [e.name for e in pooled.entries] == [e.name for e in alone.entries]


def test_a_pool_only_when_each_cpu_gets_enough_specs():
    assert parallel.workers(parallel.POOL_MIN - 1) == 1
    assert parallel.workers(0) == 1


def test_a_caller_that_reads_every_model_renders_in_this_process_and_keeps_them(repo, one_per_worker):
    kept = generation.build(Repo(repo), use_cache=False, store_cache=False)  # as check and diff call it
    assert kept.entries and all(e._model is not None for e in kept.entries)
    pooled = _build(repo)  # generate's: workers send back files, not Models
    assert pooled.entries and all(e._model is None for e in pooled.entries)


def test_a_worker_killed_from_outside_leaves_its_specs_to_this_process(repo, one_per_worker, monkeypatch):
    """A worker that dies mid-chunk (the OOM killer, a stray kill): its chunk is rendered here, the run
    still gives the whole tree in order."""
    alone = _build(repo)
    parent, real = os.getpid(), parallel.render

    def dies_in_a_worker(rel, raw, config):
        if os.getpid() != parent and rel.endswith("house-prices.yaml"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(rel, raw, config)

    monkeypatch.setattr(parallel, "render", dies_in_a_worker)
    pooled = _build(repo)
    assert list(pooled.tree.items()) == list(alone.tree.items())
    assert [e.name for e in pooled.entries] == [e.name for e in alone.entries]
