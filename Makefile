# parcours — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

ADDOK := $(VENV)/addok
# pytest keeps its rewritten test modules as .pyc: collecting them again costs 6 s a process
unexport PYTHONDONTWRITEBYTECODE
#: pytest's options for both test commands: two workers (the machine's cores), the module's
#: tests on one worker (its fixtures built once), the slowest tests listed.
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadfile --durations=20

.PHONY: demo test test-fast fuzz lint bench install clean

$(STAMP): pyproject.toml constraints.txt constraints-addok.txt package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	# a real Addok geocoder for the Addok client's tests, in its own virtualenv (exact pins)
	test -x $(ADDOK)/bin/python || $(PYTHON) -m venv $(ADDOK)
	$(ADDOK)/bin/python -m pip install --quiet -c constraints-addok.txt addok addok-fr addok-france addok-csv
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
	$(PYTEST)

## The suite without the end-to-end tests (marked slow: processes, browser, Dask, PostgreSQL).
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

## Exploratory: Hypothesis and schemathesis draw at random, many more examples (see tests/conftest.py).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz PARCOURS_SCHEMA_EXAMPLES=100 $(BIN)/python -m pytest -m hypothesis -p no:xdist

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
