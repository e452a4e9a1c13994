"""Shared test helpers: a throwaway repository with the example specs, and running the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import settings
from mlgitops.cli import main
from mlgitops.spec.import_text import spec_text
from mlgitops.tree import cache

# Hypothesis profiles. "thorough" (the default: `make test-all`, .ci/run) runs every property with the examples
# its test asks for; "standard" (`make test`: --hypothesis-profile=standard) a fifth of them, at least 10, and
# "fast" (`make test-fast`: --hypothesis-profile=fast) a tenth, at least 5, through `examples` below: the same
# properties, a smaller search (the fuzzers' long runs are the exhaustive tier's, see EXHAUSTIVE). Under
# pytest-xdist each worker is its own process: no shared example database to race on (a failing example is
# still printed with its @reproduce_failure blob).
_DATABASE = {"database": None} if os.environ.get("PYTEST_XDIST_WORKER") else {}
settings.register_profile("thorough", **_DATABASE)
settings.register_profile("standard", **_DATABASE)
settings.register_profile("fast", max_examples=10, **_DATABASE)
settings.load_profile("thorough")  # hypothesis' pytest plugin loads --hypothesis-profile after this
_SHARE = {"fast": (10, 5), "standard": (5, 10)}  # profile: (divisor, floor)


def examples(n: int) -> int:
    """The examples a property runs: n under the thorough profile, a fifth (at least 10) under the standard
    one, a tenth (at least 5) under the fast one."""
    divisor, floor = _SHARE.get(settings.get_current_profile_name(), (1, n))
    return min(n, max(floor, n // divisor))


# The third tier: repeats that only re-prove a case over more inputs (an SLO rule file's unit tests in every
# environment, the importer's mutations on every corpus input, a 300-model diff). `make test` leaves them out,
# `make test-all` and .ci/run run them; each names the cheaper test of its stage that stays in `make test`.
# They are slow too (never in `make test-fast`).
EXHAUSTIVE = (pytest.mark.slow, pytest.mark.exhaustive)


# Where the tests' temporary files go: a RAM-backed tmpfs when the machine has a roomy one and TMPDIR is not
# set. Every temporary folder follows TMPDIR (pytest's tmp_path, the product's build folders, git, kustomize).
# The suite creates and deletes ~66,000 files; on this machine's ext4 disk that cost ~0.4 ms of kernel time per
# file copied (a `generated` copy: 45 ms of sys CPU, 5 ms on tmpfs), a fifth of make test's CPU. Nothing
# a test checks depends on the file system (a failing test's folder stays there for a look; TMPDIR=/tmp
# keeps them on disk).
SCRATCH = Path("/dev/shm")
SCRATCH_ROOM = 4 << 30  # bytes free, at least: a small container /dev/shm (64 MB) is left alone


def pytest_configure(config):
    """TMPDIR set to SCRATCH (see above) in the main process, before pytest-xdist starts its workers (they
    inherit it) and before the first temporary folder."""
    if "TMPDIR" in os.environ or not (SCRATCH.is_dir() and os.access(SCRATCH, os.W_OK | os.X_OK)):
        return
    free = os.statvfs(SCRATCH)
    if free.f_bavail * free.f_frsize >= SCRATCH_ROOM:
        os.environ["TMPDIR"] = str(SCRATCH)
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again


def pytest_collection_modifyitems(items):
    """The slow tests first (order otherwise kept), so the long ones start early: pytest-xdist (--dist
    worksteal) hands each worker a contiguous share of this order, and a worker out of tests takes the end of
    the longest queue, so no worker waits long for another at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

ROOT = Path(__file__).resolve().parent.parent
# The example specs the tests build on, by name: a model a user adds while trying the README is not one.
EXAMPLES = [ROOT / "models" / f"{name}.yaml" for name in ("fraud-detector", "house-prices", "image-classifier")]


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(capsys, *args: str) -> Run:
    code = main(list(args))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


IMPORT_CASES = ROOT / "tests" / "cases" / "import"
# The corpus inputs the importer's mutation tests take in the fast loop (one serving, one training manifest):
# the others repeat the same mutations on other manifests and are slow.
IMPORT_FAST = ("triton", "pytorchjob")
# ... and in make test: one input of each shape the importer reads (a Deployment with its Service and monitor,
# a PVC beside it, an HPA, YAML anchors and CRLF, a Helm stream, a List, an input refused, an InferenceService, a
# Job, a CronJob, an MPIJob, a PyTorchJob, a TrainJob, a Katib Experiment). The other inputs repeat the same
# mutations on more manifests of those shapes: exhaustive (make test-all and .ci/run run every input).
IMPORT_STANDARD = (*IMPORT_FAST, "triton-pvc", "sklearn-flask", "fastapi-anchors-crlf", "helm-stream", "odd-shapes",
                   "refused", "kserve", "job", "cronjob", "mpi-hostpath", "trainjob-runtime", "katib")


def import_inputs() -> list:
    """Every corpus input of tests/cases/import as a parameter named after its case: slow but IMPORT_FAST,
    exhaustive but IMPORT_STANDARD."""
    def marks(name: str) -> tuple:
        return () if name in IMPORT_FAST else (pytest.mark.slow,) if name in IMPORT_STANDARD else EXHAUSTIVE
    return [pytest.param(p, id=p.parent.name, marks=marks(p.parent.name))
            for p in sorted(IMPORT_CASES.glob("*/input.yaml"))]


def spec_text_once(memo: dict[bytes, str], spec, sources, findings, environments) -> str:
    """import_text.spec_text through memo: a pure function of its arguments, written once for each distinct
    one (the key is their pickle: types, values and shared objects, what the YAML dumper sees). The importer's
    mutation tests import many inputs that give the very same model, findings and all (about half of them)."""
    key = pickle.dumps((spec, sources, findings, environments))
    if key not in memo:
        memo[key] = spec_text(spec, sources, findings, environments)
    return memo[key]


def make_repo(path: Path, models=EXAMPLES) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "mlgitops.yaml", path / "mlgitops.yaml")
    (path / "models").mkdir(exist_ok=True)
    for model in models:
        shutil.copy(model, path / "models" / model.name)
    return path


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root (but .mlgitops-cache and the lock) with its bytes and mtime."""
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".mlgitops-cache")
        for name in files:
            path = Path(folder) / name
            if name == ".mlgitops.lock":
                continue
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


CACHE_ENV = (cache.HOME_ENV, cache.KEY_ENV)


def _cache_env(folder: Path) -> dict[str, str]:
    """The cache home and key file of a test (or of the session's generated repository) under folder."""
    return {cache.HOME_ENV: str(folder / "cache"), cache.KEY_ENV: str(folder / "state" / "cache-key")}


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The tests' cache and cache key live in a temp folder, never in the user's ~/.cache (and the
    subprocesses tests start inherit it)."""
    folder = tmp_path_factory.mktemp("mlgitops-cache-home")
    saved = {name: os.environ.get(name) for name in CACHE_ENV}
    os.environ.update(_cache_env(folder))
    yield folder
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def _test_cache_homes(tmp_path_factory) -> Path:
    """The folder of the tests' cache homes (`_test_cache`), one per test process."""
    return tmp_path_factory.mktemp("test-caches")


@pytest.fixture(autouse=True)
def _test_cache(_test_cache_homes, monkeypatch) -> Iterator[Path]:
    """Each test its own cache home and key file: under pytest-xdist one worker runs many tests, and a test
    that deletes, replaces or forges cache entries must not change what the next one finds. A mkdtemp
    (mode 0700) in a folder of their own: tmp_path_factory.mktemp numbers each new folder by listing every
    earlier one, which grows quadratically over a worker's ~2,000 tests (seconds of CPU, mostly getdents)."""
    folder = Path(tempfile.mkdtemp(dir=_test_cache_homes))
    for name, value in _cache_env(folder).items():
        monkeypatch.setenv(name, value)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)  # as tmp_path is (tmp_path_retention_policy): not all at the end


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository holding mlgitops.yaml and the example specs, nothing generated yet."""
    return make_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def generated_once(tmp_path_factory, _private_cache) -> Path:
    """The example repository generated once per test process (its cache in the session's cache home);
    tests get a copy (`generated`)."""
    return generate_in_session(make_repo(tmp_path_factory.mktemp("generated-once") / "repo"), _private_cache)


def generate_in_session(repo: Path, session_cache: Path) -> Path:
    """repo generated, its cache in the session's cache home (session_cache: the `_private_cache` fixture),
    for tests to take copies of (`copy_repo`)."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, _cache_env(session_cache)), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = main(["generate", "--repo", str(repo)])
    assert code == 0, err.getvalue()
    return repo


def copy_repo(source: Path, repo: Path, session_cache: Path) -> Path:
    """source (a repository of the session, its cache in the session's cache home) copied to repo, mtimes
    included, with a copy of its cache (entries and key) in this test's cache home."""
    shutil.copytree(source, repo, symlinks=True, dirs_exist_ok=True)
    with mock.patch.dict(os.environ, _cache_env(session_cache)):
        entries, key = cache.location(source), cache.key_file()
    shutil.copytree(entries, cache.location(repo), symlinks=True)
    cache.key_file().parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy2(key, cache.key_file())  # mode 0600 kept: the cache refuses a key others can read
    return repo


@pytest.fixture
def generated(repo, generated_once, _private_cache) -> Path:
    """A repository whose tree has been generated: a copy of `generated_once`, mtimes included, with a copy
    of its cache (entries and key) in this test's cache home, so each test may change the tree or the cache
    freely and sees what a fresh `generate` would have left."""
    return copy_repo(generated_once, repo, _private_cache)


@pytest.fixture(scope="session")
def checked_once(tmp_path_factory, generated_once, _private_cache) -> Path:
    """`generated_once` copied and checked once per test process (a cold check, which must pass): its cache
    holds every unit's result."""
    repo = tmp_path_factory.mktemp("checked-once") / "repo"
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, _cache_env(_private_cache)):
        shutil.copytree(generated_once, repo, symlinks=True)
        shutil.copytree(cache.location(generated_once), cache.location(repo), symlinks=True)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "--repo", str(repo)])
    assert code == 0, out.getvalue() + err.getvalue()
    return repo


@pytest.fixture
def checked(repo, checked_once, _private_cache) -> Path:
    """`generated` whose cache also holds the check result of every unit (a copy of `checked_once`'s): a
    check builds only the units a test changes. For tests about what check finds, not about the cache or a
    cold check (those take `generated`)."""
    return copy_repo(checked_once, repo, _private_cache)
