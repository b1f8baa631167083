# parcours — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml constraints.txt package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	# axe-core (npm) for the accessibility checks of the service's pages in the browser tests
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the service's browser tests will be skipped"; fi
	touch $(STAMP)

install: $(STAMP)

## Generate the fictional demo territory, load it and write its outputs to out/demo.
demo: $(STAMP)
	$(BIN)/parcours demo --out out/demo

## The test suite (offline; tests needing the internet or an R5 jar are skipped with a reason).
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check parcours tests bench
	$(BIN)/ruff format --check parcours tests bench
	$(BIN)/mypy

## Benchmarks (peers for bench/engines.py: see the top of that file).
bench: $(STAMP)
	$(BIN)/python bench/load.py
	$(BIN)/python bench/engines.py

clean:
	rm -rf $(VENV) out parcours-data .pytest_cache .mypy_cache .ruff_cache
