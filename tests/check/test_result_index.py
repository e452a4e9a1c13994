"""A warm check reads the last run's unit results from one signed index, and only while each entry it
copied is the same file: an index never answers what the per-unit entries would not."""

from __future__ import annotations

import os
from pathlib import Path

from mlgitops.check import cache_index
from mlgitops.check import pipeline as check
from mlgitops.tree import cache


def verdict(result: check.Result) -> list[str]:
    return sorted(f"{f.location()}: {f.message} ({f.rule})" for f in result.findings)


def index_file(repo: Path) -> Path:
    files = [p for p in (cache.location(repo) / "results-index").rglob("*") if p.is_file()]
    assert len(files) == 1
    return files[0]


def index_hits(monkeypatch) -> list[int]:
    """The index hits of every ResultIndex made from now on, read when the run is over."""
    made: list[cache_index.ResultIndex] = []
    original = cache_index.ResultIndex.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(cache_index.ResultIndex, "__init__", recording)
    return made  # type: ignore[return-value]


def test_a_warm_check_is_answered_by_the_index_with_the_same_verdict(generated, monkeypatch):
    first = check.run(check.Options(generated))
    made = index_hits(monkeypatch)
    second = check.run(check.Options(generated))
    assert made[0].index_hits == second.overlays == second.cache_hits
    assert verdict(second) == verdict(first)


def test_an_entry_rewritten_since_the_index_was_made_is_read_again(checked, monkeypatch):
    check.run(check.Options(checked))
    entry = sorted(p for p in (cache.location(checked) / "results").rglob("*") if p.is_file())[0]
    entry.write_bytes(entry.read_bytes())  # the same bytes, but not the same file any more (mtime, ctime)
    made = index_hits(monkeypatch)
    result = check.run(check.Options(checked))
    assert made[0].index_hits == result.overlays - 1
    assert result.cache_hits == result.overlays  # the entry itself still verifies


def test_an_index_signed_with_another_key_is_ignored(checked, monkeypatch, tmp_path):
    first = verdict(check.run(check.Options(checked)))
    monkeypatch.setenv(cache.KEY_ENV, str(tmp_path / "other-key"))
    cache._secrets.clear()
    made = index_hits(monkeypatch)
    result = check.run(check.Options(checked))  # every entry and the index fail to verify
    assert made[0].index_hits == 0 and result.cache_hits == 0
    assert verdict(result) == first


def test_a_damaged_index_is_a_miss_not_a_wrong_verdict(checked, monkeypatch):
    first = verdict(check.run(check.Options(checked)))
    path = index_file(checked)
    blob = path.read_bytes()
    path.write_bytes(blob[:-40] + bytes(40))
    made = index_hits(monkeypatch)
    result = check.run(check.Options(checked))
    assert made[0].index_hits == 0 and result.cache_hits == result.overlays  # the entries answer instead
    assert verdict(result) == first
    assert os.path.getsize(index_file(checked)) > 0  # and the index is written again
