"""Files `mlgitops init` writes besides the config: CI workflow, pre-commit config, a README for the team.

The workflow is the hardened one mlgitops's own repository runs (tests/test_workflows.py checks they
stay the same but for the install step): actions pinned by commit, read-only token, no expressions
inside run: scripts. `@VERSION@` is the mlgitops version that writes it.
"""

WORKFLOW = """\
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
      - uses: actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97  # v7.0.0
        with:
          python-version: "3.11"
      - name: Install mlgitops (pinned, with kubectl/kustomize)
        # Pinned to the version that wrote this file; install it from where your team gets mlgitops,
        # e.g. "mlgitops @ git+https://<git host>/mlgitops@<tag>" with its constraints.txt.
        run: python -m pip install "mlgitops==${MLGITOPS_VERSION}"
        env:
          MLGITOPS_VERSION: "@VERSION@"
      # No actions/cache step: mlgitops keeps its cache outside the checkout, signed with a key each
      # runner makes, so a cache restored from another run (a pull request's) could only be misses.
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

PRE_COMMIT = """\
# pre-commit (https://pre-commit.com): regenerate and check before each commit.
repos:
- repo: local
  hooks:
  - id: mlgitops-generate
    name: mlgitops generate
    entry: mlgitops generate
    language: system
    files: ^(models/.*\\.ya?ml|mlgitops\\.yaml|base/.*|overlays/.*|clusters/.*)$
    pass_filenames: false
  - id: mlgitops-check
    name: mlgitops check
    entry: mlgitops check
    language: system
    files: ^(models/.*\\.ya?ml|mlgitops\\.yaml|base/.*|overlays/.*|clusters/.*)$
    pass_filenames: false
    require_serial: true
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
