"""Where a team's CI and pre-commit get mlgitops from: `init --mlgitops-source`, or how this mlgitops was installed.

Two forms, both pinned to a full commit so that CI runs exactly what was reviewed:

- `OWNER/REPO@COMMIT`: the GitHub Action at the root of mlgitops's repository (`uses: OWNER/REPO@COMMIT`),
  which installs that commit with its constraints.txt; pre-commit takes the hooks of `https://github.com/OWNER/REPO`.
- `git+URL@COMMIT` (https, ssh or file URL, any Git host): the workflow fetches that commit and installs it with
  its constraints.txt; pre-commit takes the hooks of URL.

Never a package name: `mlgitops` is not published on a public index, and whoever registered the name first would
run code in every team's CI. Without a source, `init` writes a workflow that stops with an error saying so, and
pre-commit hooks that run the `mlgitops` on PATH (`language: system`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata

from mlgitops.report.findings import FatalError

COMMIT = r"[0-9a-f]{40}|[0-9a-f]{64}"  # SHA-1 or SHA-256 object names, in full
_ACTION = re.compile(rf"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{{0,38}}))/(?P<repo>[A-Za-z0-9._-]{{1,100}})@(?P<commit>{COMMIT})")
_GIT = re.compile(rf"git\+(?P<url>(?:https|ssh|file)://[^\s\x00-\x1f\x7f]+)@(?P<commit>{COMMIT})")
_GITHUB = re.compile(r"(?:https://|ssh://git@)github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?")

FORMS = "OWNER/REPO@COMMIT (the GitHub Action) or git+https://HOST/PATH@COMMIT (from Git)"


@dataclass(frozen=True)
class Source:
    """A pinned mlgitops: `action` (a GitHub repository whose root is the action) or `git` (a Git URL)."""

    kind: str
    location: str  # OWNER/REPO for an action, the clone URL for git
    commit: str

    @property
    def hooks_repo(self) -> str:
        """What pre-commit's `repo:` names."""
        return f"https://github.com/{self.location}" if self.kind == "action" else self.location

    def __str__(self) -> str:
        return f"{self.location}@{self.commit}" if self.kind == "action" else f"git+{self.location}@{self.commit}"


def parse(text: str) -> Source:
    """`--mlgitops-source` as given, or one line saying what it should look like (exit 2)."""
    action = _ACTION.fullmatch(text)
    if action:
        return Source("action", f"{action['owner']}/{action['repo']}", action["commit"])
    git = _GIT.fullmatch(text)
    if git:
        return Source("git", git["url"], git["commit"])
    hint = f"give {FORMS}"
    if re.search(r"@[\w.-]+\Z", text) and not re.search(rf"@(?:{COMMIT})\Z", text):
        hint = "pin a full commit, not a tag or branch (git ls-remote URL TAG prints it); " + hint
    raise FatalError(f"--mlgitops-source {text!r} is not a pinned mlgitops source", hint)


def from_direct_url(text: str) -> Source | None:
    """The source pip recorded when this mlgitops was installed from Git at a commit (PEP 610
    direct_url.json); None for an index, a local folder or an editable checkout."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    vcs = record.get("vcs_info") if isinstance(record, dict) else None
    url, commit = (record.get("url"), vcs.get("commit_id")) if isinstance(vcs, dict) else (None, None)
    if vcs is None or vcs.get("vcs") != "git" or not isinstance(url, str) or not isinstance(commit, str):
        return None
    github = _GITHUB.fullmatch(url)
    try:
        return parse(f"{github['owner']}/{github['repo']}@{commit}" if github else f"git+{url}@{commit}")
    except FatalError:
        return None


def installed() -> Source | None:
    """Where the running mlgitops came from, when pip recorded a Git commit for it."""
    try:
        text = metadata.distribution("mlgitops").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    return from_direct_url(text) if text else None
