# Every target creates .venv/ itself, with the pinned versions of pyproject.toml + constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: generate check test test-fast bench lint docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,lint]'
	touch $(STAMP)

generate: $(STAMP)
	$(BIN)/mlgitops generate

check: $(STAMP)
	$(BIN)/mlgitops generate --check

# Both run on every core (pytest-xdist, `-n auto` in pyproject); test-fast leaves out the tests marked slow
# (fuzzers, subprocess-heavy scenarios) and still reaches every stage.
test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_generate.py

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

clean:
	rm -rf $(VENV) .mlgitops-cache .pytest_cache .hypothesis
