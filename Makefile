# Every target creates .venv/ itself, with the pinned versions of pyproject.toml + constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: generate check test bench lint docs clean slo-test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,lint]'
	touch $(STAMP)

generate: $(STAMP)
	$(BIN)/mlgitops generate

check: $(STAMP)
	$(BIN)/mlgitops generate --check

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_generate.py

lint: $(STAMP)
	$(BIN)/ruff check generator tests benchmarks
	$(BIN)/mypy generator/mlgitops
	$(BIN)/lint-imports
	$(BIN)/zizmor --offline --no-progress .github/workflows/
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

docs: $(STAMP)
	$(BIN)/python -m mlgitops.commands.docs > docs/spec.md
	$(BIN)/python -m mlgitops.commands.docs rules > docs/rules.md

# promtool on every generated SLO rule file and its unit tests (Debian/Ubuntu: apt-get install prometheus)
slo-test:
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus" >&2; exit 2; }
	@for d in overlays/*/*/slo; do (cd $$d && promtool check rules rules.yaml && promtool test rules rules.test.yaml) || exit 1; done

clean:
	rm -rf $(VENV) .mlgitops-cache .pytest_cache .hypothesis
