"""Findings print in one order whatever order they arrive in: parallel builds (check --jobs), the cache (a warm
run replays records) and Python's per-process set order all change the arrival order, and output must not."""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys

import pytest
from conftest import make_repo
from mlgitops.report.findings import Finding, Position, Severity
from mlgitops.report.formats import FORMATS

SPEC = "models/house-prices.yaml"

# the same spec line and message: differing only in object, hint, severity or environments
TIED = [
    Finding("image-latest", "image 'x:latest' is tagged :latest", SPEC, Position(15, 12), "pin a tag", Severity.ERROR,
            "Deployment/house-prices-canary"),
    Finding("image-latest", "image 'x:latest' is tagged :latest", SPEC, Position(15, 12), "pin a tag", Severity.ERROR,
            "Deployment/house-prices"),
    Finding("image-latest", "image 'x:latest' is tagged :latest", SPEC, Position(15, 12), "pin a digest"),
    Finding("image-latest", "image 'x:latest' is tagged :latest", SPEC, Position(15, 12), "pin a tag",
            Severity.WARNING),
    Finding("image-latest", "image 'x:latest' is tagged :latest", SPEC, Position(15, 12), "pin a tag",
            environments=("staging",)),
    Finding("image-latest", "image 'x:latest' is tagged :latest", SPEC, Position(15, 12), "pin a tag",
            environments=("prod",)),
]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_findings_tied_on_place_and_message_print_the_same_in_any_arrival_order(fmt):
    outputs = {FORMATS[fmt](list(order)) for order in itertools.permutations(TIED)}
    assert len(outputs) == 1, f"{len(outputs)} different {fmt} outputs for one set of findings"


@pytest.mark.slow  # 8 Python processes; the fast loop keeps the same findings printed alike in any arrival order
def test_findings_tied_on_place_and_message_print_the_same_in_every_process():
    """The formats deduplicate through a set, whose order follows string hashes: a new one per process. TIED
    reaches each process pickled on stdin (its strings are hashed there, with that process's seed): importing
    this module would import conftest, pytest, hypothesis and the whole CLI in each, 8x over."""
    script = ("import pickle, sys\n"
              "from mlgitops.report.formats import FORMATS\n"
              "tied = pickle.load(sys.stdin.buffer)\n"
              "print(''.join(FORMATS[f](tied) for f in sorted(FORMATS)))\n")
    outputs = {subprocess.run([sys.executable, "-c", script], input=pickle.dumps(TIED), check=True,
                              capture_output=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
               for seed in range(8)}
    assert len(outputs) == 1, f"{len(outputs)} different outputs for one set of findings"


# Nine mlgitops processes, each generating or checking the examples (6.5 CPU-s): exhaustive. make test keeps
# what each run varies: the findings printed alike in any arrival order (what --jobs changes) and by processes
# of 8 hash seeds (the two tests above), and a warm check answering with the cold one's findings
# (tests/check/test_pipeline.py, test_unchanged_repository_is_answered_from_the_cache).
@pytest.mark.slow
@pytest.mark.exhaustive
def test_check_prints_the_same_bytes_cold_warm_with_any_jobs_and_hash_seed(tmp_path):
    """A spec with a problem in every environment, checked repeatedly: no cache, cold cache, warm cache,
    --jobs 1 and 2, and a different PYTHONHASHSEED (set order) each run."""
    repo = make_repo(tmp_path / "repo")
    spec = repo / SPEC
    spec.write_text(spec.read_text().replace("house-prices:1.4.0", "house-prices:latest"))
    cache = tmp_path / "cache"

    def run(seed: int, *args: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": str(seed), "XDG_CACHE_HOME": str(cache), "MLGITOPS_CACHE_DIR": str(cache),
               "XDG_STATE_HOME": str(tmp_path / "state")}
        proc = subprocess.run([sys.executable, "-m", "mlgitops", *args, "--repo", str(repo)], env=env,
                              capture_output=True, text=True, check=False, timeout=300)
        assert "Traceback" not in proc.stderr
        return f"{proc.returncode}\n{proc.stdout}{proc.stderr}"

    assert run(0, "generate").startswith("0\n")
    outputs = [run(seed, "check", *args) for seed, args in enumerate(
        [("--no-cache", "--jobs", "1"), ("--no-cache", "--jobs", "2"), ("--jobs", "2"), ("--jobs", "1"),
         ("--jobs", "2"), ("--format", "json", "--jobs", "1")], start=1)]
    assert "(image-latest)" in outputs[0]
    assert len(set(outputs[:5])) == 1, outputs[:5]
    json_runs = {run(seed, "check", "--format", "json", "--jobs", jobs) for seed, jobs in ((7, "2"), (8, "1"))}
    assert json_runs == {outputs[5]}
