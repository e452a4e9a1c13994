"""The cache: an entry answers only the key it was written for, whole, signed with this machine's key;
anything else is a miss, never an error. It lives outside the repository.

And `generate` with a poisoned, forged or unusable cache still writes (and `--check` still reports) what the
specs say, and never writes outside base/, overlays/ and clusters/.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from conftest import examples, make_repo, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.tree import cache

A, B = cache.key("spec a"), cache.key("spec b")
SECRET = bytes(range(32))


@pytest.fixture
def store(tmp_path) -> cache.Store:
    return cache.Store(tmp_path, "generate")


def entry(store: cache.Store, digest: str) -> Path:
    return store.path(digest)


def test_an_entry_answers_its_own_key(store):
    store.put(A, b"payload of a")
    assert store.get(A) == b"payload of a"
    assert store.get(B) is None
    assert (store.hits, store.misses) == (1, 1)


def test_an_entry_copied_under_another_key_is_a_miss(store):
    store.put(A, b"payload of a")
    store.put(B, b"payload of b")
    shutil.copy(entry(store, A), entry(store, B))
    assert store.get(B) is None


def test_an_entry_of_another_kind_of_store_is_a_miss(tmp_path, store):
    store.put(A, b"[1, 2]")
    results = cache.Store(tmp_path, "results")
    entry(results, A).parent.mkdir(parents=True)
    shutil.copy(entry(store, A), entry(results, A))
    assert results.get(A) is None


@pytest.mark.parametrize("damage", [
    lambda blob: blob[: len(blob) - 3],
    lambda blob: blob[:40],
    lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),
    lambda blob: blob.replace(b"mlgitops-cache 3", b"mlgitops-cache 2"),
    lambda blob: b"",
], ids=["truncated", "cut-in-the-header", "one-bit-flipped", "older-format", "empty"])
def test_a_damaged_entry_is_a_miss(store, damage):
    store.put(A, b"payload of a")
    path = entry(store, A)
    path.write_bytes(damage(path.read_bytes()))
    assert store.get(A) is None


@settings(max_examples=examples(300), deadline=None)
@given(payload=st.binary(max_size=200), cut=st.integers(0, 400), at=st.integers(0, 400), xor=st.integers(1, 255))
def test_a_damaged_entry_never_decodes_to_another_payload(payload, cut, at, xor):
    blob = cache.encode(SECRET, "generate", A, payload)
    flipped = bytearray(blob)
    flipped[at % len(blob)] ^= xor
    for damaged in (blob[:cut], bytes(flipped)):
        assert cache.decode(SECRET, "generate", A, damaged) in (None, payload)
    assert cache.decode(SECRET, "generate", B, blob) is None
    assert cache.decode(SECRET, "results", A, blob) is None
    assert cache.decode(b"another machine's key".ljust(32), "generate", A, blob) is None


def _get_within(store: cache.Store, digest: str, seconds: float = 20.0):
    """store.get in a thread; a get still blocked after `seconds` fails the test instead of hanging it."""
    got: list = []
    worker = threading.Thread(target=lambda: got.append(store.get(digest)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "reading the cache entry blocked"
    return got[0]


def test_a_fifo_as_an_entry_is_a_miss_and_does_not_block(store):
    path = entry(store, A)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    assert _get_within(store, A) is None


def test_a_symlink_as_an_entry_is_not_followed(store):
    store.put(B, b"payload of b")
    path = entry(store, A)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")
    assert _get_within(store, A) is None
    path.unlink()
    path.symlink_to(entry(store, B))  # even to a good entry
    assert store.get(A) is None


def test_an_entry_larger_than_the_cap_is_not_read(store, monkeypatch):
    store.put(A, b"x" * 1000)
    monkeypatch.setattr(cache, "MAX_ENTRY", 500)
    assert store.get(A) is None


def test_the_cache_lives_outside_the_repository_one_folder_per_repository(tmp_path):
    one, two = cache.location(tmp_path / "one"), cache.location(tmp_path / "two")
    assert one != two and one.parent == two.parent == cache.home()
    assert tmp_path not in one.parents


def test_a_cache_home_inside_the_repository_means_no_cache_and_one_warning(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.HOME_ENV, str(tmp_path / "planted"))
    store = cache.Store(tmp_path, "generate")
    store.put(A, b"payload")
    assert store.get(A) is None
    assert len(store.warnings) == 1 and "inside the repository" in store.warnings[0]
    assert not (tmp_path / "planted").exists()


def test_an_entry_signed_with_another_machines_key_is_a_miss(tmp_path, monkeypatch):
    cache.Store(tmp_path / "repo", "generate").put(A, b"payload of a")
    monkeypatch.setenv(cache.KEY_ENV, str(tmp_path / "other-machine" / "cache-key"))
    other = cache.Store(tmp_path / "repo", "generate")
    assert other.enabled and other.get(A) is None


def test_the_key_file_is_made_private_and_a_readable_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.KEY_ENV, str(tmp_path / "state" / "cache-key"))
    reader = cache.Store(tmp_path / "repo", "generate")
    assert reader.get(A) is None and not (tmp_path / "state").exists()  # a run that only reads makes no key
    reader.put(A, b"a")
    assert (tmp_path / "state" / "cache-key").stat().st_mode & 0o777 == 0o600
    loose = tmp_path / "loose-key"
    loose.write_bytes(b"k" * cache.KEY_BYTES)
    loose.chmod(0o644)
    monkeypatch.setenv(cache.KEY_ENV, str(loose))
    store = cache.Store(tmp_path / "repo", "generate")
    assert store.get(A) is None
    assert not store.enabled and "only you can read" in store.warnings[0]


def test_a_cache_that_cannot_be_written_warns_once_and_stops_trying(store, monkeypatch):
    calls = []

    def refuse(path, content):
        calls.append(path)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache, "write_atomic", refuse)
    store.put(A, b"a")
    store.put(B, b"b")
    assert len(calls) == 1
    assert len(store.warnings) == 1 and "Permission denied" in store.warnings[0]


def test_a_disabled_store_neither_reads_nor_writes(tmp_path):
    store = cache.Store(tmp_path, "results", enabled=False)
    store.put(A, b"a")
    assert store.get(A) is None
    assert not cache.location(tmp_path).exists()


# generate, end to end


def generate_entries(repo: Path) -> set[Path]:
    return {p for p in (cache.location(repo) / "generate").rglob("*") if p.is_file()}


def set_replicas(repo: Path, old: str, new: str) -> None:
    spec = repo / "models/house-prices.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def test_an_older_versions_entry_copied_over_the_current_one_is_not_served(generated, capsys):
    """The poisoning seen: generate wrote replicas 2 for a spec saying 3, and --check said up to date."""
    v2 = generate_entries(generated)
    set_replicas(generated, "replicas: 2", "replicas: 3")
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    (v3,) = generate_entries(generated) - v2
    set_replicas(generated, "replicas: 3", "replicas: 2")
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0  # the tree says 2 again
    old = next(p for p in v2 if p.name != v3.name and "house-prices" in _names(p))
    shutil.copy(old, v3)
    set_replicas(generated, "replicas: 2", "replicas: 3")

    drift = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert drift.code == 1 and "+  replicas: 3" in drift.out
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    assert "replicas: 3" in (generated / "base/house-prices/deployment.yaml").read_text()


def _names(path: Path) -> str:
    return path.read_bytes().decode("latin-1")


def test_another_models_entry_under_this_models_key_is_no_name_collision(generated, capsys):
    entries = generate_entries(generated)
    fraud = next(p for p in entries if "fraud-detector" in _names(p) and "house-prices" not in _names(p))
    house = next(p for p in entries if "house-prices" in _names(p) and "fraud-detector" not in _names(p))
    shutil.copy(fraud, house)
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 0, result.err
    assert "name-collision" not in result.err + result.out


def test_generate_with_a_file_where_the_cache_belongs_runs_without_it(repo, capsys):
    cache.location(repo).parent.mkdir(parents=True, exist_ok=True)
    cache.location(repo).write_text("")
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 0
    assert result.err.count("mlgitops: warning: cannot write the cache") == 1
    assert (repo / "base/house-prices/deployment.yaml").is_file()
    cache.location(repo).unlink()


def test_generate_with_an_unwritable_cache_warns_and_writes_the_tree(tmp_path, capsys, monkeypatch):
    repo = make_repo(tmp_path / "repo")

    def refuse(path, content):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache, "write_atomic", refuse)  # as root, chmod would not stop the writes
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 0
    assert result.err.count("mlgitops: warning: cannot write the cache") == 1
    assert (repo / "base/house-prices/deployment.yaml").is_file()


def test_the_code_fingerprint_reads_every_source_file_and_schema_of_the_package():
    """What the fingerprint hashes (listed with os.scandir, read without importlib.resources): every .py file of
    the package, subpackages included, and every schema file of mlgitops.schemas, with their bytes."""
    from importlib import resources

    package = Path(cache.__file__).resolve().parent.parent
    assert sorted(cache._sources(str(package))) == sorted(
        (p.relative_to(package).as_posix(), str(p)) for p in package.rglob("*.py"))
    expected = {e.name: e.read_bytes() for e in resources.files("mlgitops.schemas").iterdir() if e.is_file()}
    assert {name: read() for name, read in cache._schemas()} == expected
    assert {"config.schema.json", "model.schema.json"} <= expected.keys()
