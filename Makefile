# Every target creates .venv/ itself, with the pinned versions of pyproject.toml + constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: generate check test test-all test-fast test-install bench bench-all lint docs clean slo-test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,lint]'
	touch $(STAMP)

generate: $(STAMP)
	$(BIN)/mlgitops generate

check: $(STAMP)
	$(BIN)/mlgitops generate --check

# Three tiers, each on every core (pytest-xdist, `-n auto` in pyproject; the slow tests are scheduled first, see
# tests/conftest.py), each reaching every stage:
# - test-all (and .ci/run): every test, each property with all its examples (hypothesis' thorough profile);
# - test: leaves out the tests marked exhaustive (repeats that only re-prove a case over more inputs: SLO rule
#   files of more environments, the importer's mutations on more corpus inputs, a 300-model diff; each names
#   the cheaper test that stays) and runs each property with a fifth of its examples (the standard profile);
# - test-fast: leaves out the slow tests too (fuzzers, subprocess-heavy scenarios, the repeats of a case over
#   more layouts, versions or files) and runs each property with a tenth of its examples (the fast profile).
# Python's default bytecode caching even where the environment turns it off (PYTHONDONTWRITEBYTECODE=1): each
# xdist worker and each `mlgitops` a test starts would otherwise compile mlgitops and re-rewrite every test
# module's asserts again (__pycache__/ is git-ignored).
# The tests marked install (pip installs mlgitops into a fresh virtual environment, through the configured index)
# run in test-install only: .ci/run runs test-all and test-install, so CI still runs every test.
test test-all test-fast test-install: export PYTHONDONTWRITEBYTECODE =

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not exhaustive and not install" --hypothesis-profile=standard

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "not install"

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not exhaustive and not install" --hypothesis-profile=fast

test-install: $(STAMP)
	$(BIN)/python -m pytest -q -m install

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_generate.py

# Every figure of issue 22 (start-up, validate, generate, check, diff), best of 3, the load before each run.
# BENCH_ARGS="--rev ca0aa1b --rev WORKTREE" puts a revision beside the working tree.
bench-all: $(STAMP)
	$(BIN)/python benchmarks/bench_all.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check generator tests benchmarks
	$(BIN)/mypy generator/mlgitops
	$(BIN)/lint-imports
	$(BIN)/zizmor --offline --no-progress .github/workflows/
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/python benchmarks/complexity.py generator/mlgitops

docs: $(STAMP)
	$(BIN)/python -m mlgitops.commands.docs > docs/spec.md
	$(BIN)/python -m mlgitops.commands.docs rules > docs/rules.md

# promtool on every generated SLO rule file and its unit tests (Debian/Ubuntu: apt-get install prometheus)
slo-test:
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus" >&2; exit 2; }
	@for d in overlays/*/*/slo; do (cd $$d && promtool check rules rules.yaml && promtool test rules rules.test.yaml) || exit 1; done

clean:
	rm -rf $(VENV) .mlgitops-cache .pytest_cache .hypothesis

# Supported ranges: the lowest versions pyproject.toml's dependency ranges allow (pip has no lowest-direct
# resolution: .ci/lowest_constraints.py pins each range's floor), in a venv of their own, then the tests but
# the workflow and architecture tests, which need the lint tools (check-jsonschema wants click>=8.5, import-linter rich>=14.2).
LOWEST := .venv-lowest
.PHONY: test-lowest scan
test-lowest:
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(PYTHON) .ci/lowest_constraints.py pyproject.toml > $(LOWEST)/lowest-constraints.txt
	$(LOWEST)/bin/pip install --quiet --disable-pip-version-check -c $(LOWEST)/lowest-constraints.txt -e '.[test]'
	$(LOWEST)/bin/python -m pytest -q -p no:cacheprovider -m "not slow and not install" --ignore=tests/test_workflows.py --ignore=tests/test_architecture.py

# An independent scanner on the built overlays, held to docs/security.md (about a minute; not in .ci/run).
# checkov is not a dependency of mlgitops: it gets a venv of its own.
SCAN := .venv-scan
$(SCAN)/.installed:
	$(PYTHON) -m venv $(SCAN)
	$(SCAN)/bin/pip install --quiet --disable-pip-version-check checkov==3.3.30
	touch $@

scan: $(STAMP) $(SCAN)/.installed
	$(BIN)/python .ci/scan.py --checkov $(SCAN)/bin/checkov --kubectl $(BIN)/kubectl
