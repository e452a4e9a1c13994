"""Files `mlgitops init` writes besides the config: CI workflow, pre-commit config, .gitattributes, a README.

The workflow is the hardened one mlgitops's own repository runs (tests/test_workflows.py checks they
stay the same but for where mlgitops comes from): actions pinned by commit, read-only token, no
expressions inside run: scripts. Where CI and pre-commit get mlgitops is a `source.Source` (see there):
the GitHub Action at a commit, a Git URL at a commit, or unknown, when the workflow stops with an error
that says so and the hooks run the mlgitops on PATH.
"""

from __future__ import annotations

import json

from mlgitops.commands.source import Source

WORKFLOW_HEAD = """\
# Validates every pull request that touches models, config or generated files: drift, kustomize
# builds, Kubernetes schemas, fidelity and policies, annotated inline in the pull request; and shows
# what the clusters will get in the job summary.
#
# Hardened: every action pinned to a full commit SHA (its version in a comment), read-only token,
# no credentials left in the checkout, no ${{ }} expansion inside run: scripts (values go through env:).
# Written by 'mlgitops init'; mlgitops's own tests check it against GitHub's schema and zizmor.
name: mlgitops
on:
  pull_request:
  push:
    branches: [main]
permissions: {}
concurrency:
  group: mlgitops-${{ github.ref }}
  cancel-in-progress: true
jobs:
  check:
    name: check (shard ${{ matrix.shard }})
    runs-on: ubuntu-latest
    timeout-minutes: 20
    permissions:
      contents: read          # findings are annotations from workflow commands: nothing to write
    strategy:
      fail-fast: false
      matrix:
        shard: [1/3, 2/3, 3/3]   # each shard checks a deterministic third of the models
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1
        with:
          persist-credentials: false
          fetch-depth: 0         # the rendered diff compares with the pull request's base
"""

CACHE_STEP = """\
      # No actions/cache step: mlgitops keeps its cache outside the checkout, signed with a key each
      # runner makes, so a cache restored from another run (a pull request's) could only be misses.
"""

ACTION_STEPS = """\
      - name: Generated tree is up to date
        if: matrix.shard == '1/3'
        uses: @ACTION@   # mlgitops @VERSION@ (its action.yml installs it once per job)
        with:
          command: generate --check --format github
      - name: Check
        uses: @ACTION@
        with:
          command: check --shard ${{ matrix.shard }} --format github
      - name: What the clusters will get
        if: github.event_name == 'pull_request' && matrix.shard == '1/3'
        uses: @ACTION@
        with:
          command: diff --format markdown --base origin/${{ github.base_ref }}
          summary: "true"
"""

SETUP_PYTHON = """\
      - uses: actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97  # v7.0.0
        with:
          python-version: "3.11"
"""

GIT_INSTALL = """\
      - name: Install mlgitops (a pinned commit, its tested constraints, with kubectl/kustomize)
        env:
          MLGITOPS_GIT: @URL@
          MLGITOPS_COMMIT: @COMMIT@
        run: |
          src="$RUNNER_TEMP/mlgitops"
          git init -q "$src"
          git -C "$src" fetch -q --depth 1 "$MLGITOPS_GIT" "$MLGITOPS_COMMIT"
          git -C "$src" checkout -q FETCH_HEAD
          python -m pip install -c "$src/constraints.txt" "$src"
"""

UNKNOWN_INSTALL = """\
      - name: Install mlgitops
        # 'mlgitops init' did not know where your team gets mlgitops: delete this file and run
        #   mlgitops init --mlgitops-source OWNER/REPO@COMMIT             (mlgitops's GitHub Action), or
        #   mlgitops init --mlgitops-source git+https://HOST/PATH@COMMIT  (installed from Git),
        # or replace this step. Never 'pip install mlgitops': that name is not published, and whoever
        # claims it would run code here.
        run: |
          echo "::error title=mlgitops::this workflow does not say where mlgitops comes from: see its install step"
          exit 1
"""

RUN_STEPS = """\
      - name: Generated tree is up to date
        if: matrix.shard == '1/3'
        run: mlgitops generate --check --format github
      - name: Check
        env:
          SHARD: ${{ matrix.shard }}
        run: mlgitops check --shard "$SHARD" --format github
      - name: What the clusters will get
        if: github.event_name == 'pull_request' && matrix.shard == '1/3'
        env:
          BASE_REF: ${{ github.base_ref }}
        run: mlgitops diff --base "origin/$BASE_REF" --markdown >> "$GITHUB_STEP_SUMMARY"
"""


def workflow(source: Source | None, version: str) -> str:
    """.github/workflows/mlgitops.yml for mlgitops from `source` (None: not known)."""
    if source is not None and source.kind == "action":
        steps = ACTION_STEPS.replace("@ACTION@", str(source)).replace("@VERSION@", version)
        return WORKFLOW_HEAD + CACHE_STEP + steps
    if source is None:
        install = UNKNOWN_INSTALL
    else:
        install = GIT_INSTALL.replace("@URL@", json.dumps(source.location)).replace("@COMMIT@", json.dumps(source.commit))
    return WORKFLOW_HEAD + SETUP_PYTHON + install + CACHE_STEP + RUN_STEPS


FILES = r"^(models/.*\.ya?ml|mlgitops\.yaml|base/.*|overlays/.*|clusters/.*)$"

PRE_COMMIT_HOOKS = """\
# pre-commit (https://pre-commit.com): regenerate and check before each commit, with the hooks of
# mlgitops's repository at the commit CI uses (pre-commit installs them in an environment of its own).
repos:
- repo: @REPO@
  rev: @COMMIT@  # mlgitops @VERSION@
  hooks:
  - id: mlgitops-generate
  - id: mlgitops-check
"""

PRE_COMMIT_SYSTEM = """\
# pre-commit (https://pre-commit.com): regenerate and check before each commit.
# These hooks run the mlgitops on PATH (language: system): a commit made without it fails with
# "Executable 'mlgitops' not found". Given --mlgitops-source OWNER/REPO@COMMIT (or
# git+https://HOST/PATH@COMMIT), 'mlgitops init' writes mlgitops's own hooks instead, which pre-commit installs.
repos:
- repo: local
  hooks:
  - id: mlgitops-generate
    name: mlgitops generate
    entry: mlgitops generate
    language: system
    files: @FILES@
    pass_filenames: false
  - id: mlgitops-check
    name: mlgitops check
    entry: mlgitops check
    language: system
    files: @FILES@
    pass_filenames: false
    require_serial: true
"""


def pre_commit(source: Source | None, version: str) -> str:
    """.pre-commit-config.yaml: this repository's hooks when the source is known, else `language: system`."""
    if source is None:
        return PRE_COMMIT_SYSTEM.replace("@FILES@", FILES)
    return (PRE_COMMIT_HOOKS.replace("@REPO@", json.dumps(source.hooks_repo))
            .replace("@COMMIT@", source.commit).replace("@VERSION@", version))


GITATTRIBUTES = """\
# mlgitops: the generated tree, collapsed in pull request diffs and left out of language statistics
# (GitHub's linguist-generated); review the spec change in models/ instead.
base/** linguist-generated=true
overlays/** linguist-generated=true
clusters/** linguist-generated=true
"""

README = """\
# ML models

Each model is described once, in `models/<name>.yaml`. `mlgitops generate` turns the specs into
`base/`, `overlays/<env>/` and the sync objects in `clusters/`; commit all of them. Flux or Argo CD
applies what is merged.

    mlgitops new my-model --image registry.example.com/team/my-model:1.0.0
    $EDITOR models/my-model.yaml
    mlgitops generate && mlgitops check
    git add -A && git commit

In pull requests, CI (`.github/workflows/mlgitops.yml`) checks that the generated tree is up to date,
runs `mlgitops check` (findings inline, on the spec line), and shows in the job summary what the
clusters will get. Bootstrapping a cluster (`flux bootstrap ... --path=clusters/<cluster>/flux`, or an
Argo CD Application for `clusters/<cluster>/argocd`): see docs/gitops.md in mlgitops. The clusters
follow the branch `git.branch` of `mlgitops.yaml` names (default `main`): commit to that branch.
"""
