# Two commands on a fresh machine with Python and make: `make demo` and `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKERS ?= auto
FAST := not browser and not e2e and not crash and not slow

.PHONY: demo test test-fast lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[demo,test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/portal demo

# Every test, on SQLite and, when the local PostgreSQL answers (or PORTAL_TEST_DATABASE_URL is
# set), on PostgreSQL as well; spread over every core (WORKERS=0 runs them in one process).
test: $(STAMP)
	PORTAL_TEST_DATABASE_URL="$${PORTAL_TEST_DATABASE_URL:-$$($(BIN)/python -m tests.helpers.find_postgres)}" \
		$(BIN)/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)

# The in-process tests on SQLite alone: no servers, browser or worker processes, nothing slow.
test-fast: $(STAMP)
	PORTAL_TEST_DATABASE_URL= $(BIN)/python -m pytest -n $(WORKERS) -m "$(FAST)" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check portal sandbox tests benchmarks
	$(BIN)/ruff format --check portal sandbox tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
