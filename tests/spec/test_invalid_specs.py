"""The corpus of bad specs: each folder under tests/cases/invalid/ is one case, found by parametrize.

`mlgitops generate` must refuse the spec with exit code 1, print exactly the findings in expected.txt
(no traceback), and leave every file on disk as it was (bytes, mtime, inode), the cache aside.

A case folder holds:
  model.yaml    the bad spec, copied byte for byte
  expected.txt  the exact finding lines generate prints to stderr (each with its `    hint:` line);
                `{tmp}` stands for the test's temporary folder (the repository is {tmp}/repo)
  filename      optional: where model.yaml goes, relative to the repository root (default models/m.yaml);
                its bytes are the name as is, so a name that is not UTF-8 can be tested
  extra/        optional: more files, copied into the repository root (extra/models/a.yml -> models/a.yml)
  symlinks.txt  optional: one `link -> target` per line; link relative to the repository root, target
                written into the link as is (it may lead outside the repository)
  xfail.txt     optional: why the tool does not print expected.txt yet (a strict xfail, so a fix flips it)

The repository around the case holds mlgitops.yaml and the example specs of models/, generated once
before the bad spec is added, so there is a committed tree that must survive the failed run.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import copy_repo, generate_in_session
from mlgitops.cli import main

pytestmark = pytest.mark.slow  # one generate per case folder (120 of them); make test-fast leaves them out

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parents[1] / "cases" / "invalid"
DEFAULT_SPEC = "models/m.yaml"
CACHE_DIR = ".mlgitops-cache"
OLD_MTIME_NS = 1_000_000_000 * 10**9  # 2001-09-09: any write after the first run shows in the mtime
TRAILER = re.compile(r"(?P<errors>\d+) errors?, \d+ warnings?\nnothing was written\n")


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path

    def read(self, name: str, default: str = "") -> str:
        path = self.folder / name
        return path.read_text(encoding="utf-8") if path.exists() else default

    @property
    def spec_path(self) -> str:
        path = self.folder / "filename"  # bytes, as the file system holds them: they need not be UTF-8
        return os.fsdecode(path.read_bytes().strip()) if path.exists() else DEFAULT_SPEC

    @property
    def expected(self) -> str:
        return self.read("expected.txt")

    @property
    def symlinks(self) -> list[tuple[str, str]]:
        pairs = [line.split("->") for line in self.read("symlinks.txt").splitlines() if line.strip()]
        return [(link.strip(), target.strip()) for link, target in pairs]

    def install(self, repo: Path) -> None:
        """Add the case's files to a repository."""
        spec = repo / self.spec_path
        spec.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.folder / "model.yaml", spec)
        if (self.folder / "extra").is_dir():
            shutil.copytree(self.folder / "extra", repo, dirs_exist_ok=True)
        for link, target in self.symlinks:
            (repo / link).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, repo / link)


def load_cases() -> list:
    params = []
    for folder in sorted(p for p in CASES.iterdir() if p.is_dir()):
        case = Case(folder.name, folder)
        reason = case.read("xfail.txt").strip()
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.fixture(scope="module")
def generated_old(tmp_path_factory, _private_cache) -> Path:
    """mlgitops.yaml and the example specs, their tree generated, every file's mtime set in the past: once
    per test process (its cache in the session's cache home); each case gets a copy (`old_repo`)."""
    root = tmp_path_factory.mktemp("invalid-specs") / "repo"
    root.mkdir(parents=True)
    shutil.copyfile(ROOT / "mlgitops.yaml", root / "mlgitops.yaml")
    shutil.copytree(ROOT / "models", root / "models")
    generate_in_session(root, _private_cache)
    for folder, _dirs, files in os.walk(root):
        for name in files:
            os.utime(Path(folder) / name, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    return root


@pytest.fixture
def old_repo(tmp_path, generated_old, _private_cache) -> Path:
    """A copy of `generated_old` (mtimes kept) at {tmp}/repo, with a copy of its cache in this test's cache
    home: what generating there would have left."""
    return copy_repo(generated_old, tmp_path / "repo", _private_cache)


def snapshot(top: Path) -> dict[str, tuple]:
    """Every folder, file and symlink under top (but the cache): bytes, mtime and inode of files, link
    targets. The cache may learn the valid specs of a failed run; it is not output."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != CACHE_DIR]
        for name in sorted(dirs + files):
            path = Path(folder) / name
            rel = path.relative_to(top).as_posix()
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir",)
            else:
                info = path.stat()
                out[rel] = ("file", path.read_bytes(), info.st_mtime_ns, info.st_ino)
    return out


def finding_lines(err: str) -> str:
    """stderr without its trailer (the error count and 'nothing was written'), checked on the way."""
    match = TRAILER.search(err)
    assert match and match.end() == len(err), f"stderr does not end with the summary:\n{err}"
    body = err[: match.start()]
    assert int(match["errors"]) == len([ln for ln in body.splitlines() if not ln.startswith("    hint:")])
    return body


@pytest.mark.parametrize("case", load_cases())
def test_bad_spec_is_refused_and_nothing_is_written(case: Case, old_repo, tmp_path, capsys):
    repo = old_repo
    case.install(repo)
    capsys.readouterr()
    before = snapshot(tmp_path)

    code = main(["generate", "--repo", str(repo)])
    out, err = capsys.readouterr()

    assert not re.search(r"^Traceback \(most recent call last\)", out + err, re.MULTILINE)
    assert out == ""
    assert finding_lines(err.replace(str(tmp_path.resolve()), "{tmp}")) == case.expected
    assert code == 1
    assert snapshot(tmp_path) == before


def test_the_corpus_is_large_enough():
    assert len(load_cases()) >= 30
