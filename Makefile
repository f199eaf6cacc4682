# Two commands on a fresh machine with Python and make: `make demo` and `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKERS ?= auto
FAST := not browser and not e2e and not crash and not slow

LOCALE_DIR := portal/locale
LANGUAGES := es fr de
CATALOGUES := $(foreach lang,$(LANGUAGES),$(LOCALE_DIR)/$(lang)/LC_MESSAGES/messages.mo)
# axe-core, the accessibility rules the browser tests inject into each page (git-ignored).
AXE := .cache/npm/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.11.0

.PHONY: demo test test-fast lint install clean messages compile axe

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[demo,test]'
	touch $(STAMP)

install: $(STAMP) compile

# The shopper's languages. `make messages` extracts every translatable text (babel.cfg says
# from where) into messages.pot and merges it into each language's .po: new texts arrive
# empty, changed ones marked fuzzy, for a translator to fill in (tests/i18n fails until then).
# `make compile` turns the .po files into the .mo files the portal reads (not committed).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-wrap \
		--sort-by-file --project=portal -o $(LOCALE_DIR)/messages.pot .
	for lang in $(LANGUAGES); do \
		if [ -f $(LOCALE_DIR)/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update --no-wrap --previous -i $(LOCALE_DIR)/messages.pot \
				-d $(LOCALE_DIR) -l $$lang; \
		else \
			$(BIN)/pybabel init --no-wrap -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -l $$lang; \
		fi; \
	done

compile: $(CATALOGUES)

$(LOCALE_DIR)/%/LC_MESSAGES/messages.mo: $(LOCALE_DIR)/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@ -l $*

axe: $(AXE)

$(AXE):
	npm install --no-save --no-audit --no-fund --prefix .cache/npm axe-core@$(AXE_VERSION)

demo: $(STAMP) compile
	$(BIN)/portal demo

# Every test, on SQLite and, when the local PostgreSQL answers (or PORTAL_TEST_DATABASE_URL is
# set), on PostgreSQL as well; spread over every core (WORKERS=0 runs them in one process).
test: $(STAMP) compile axe
	PORTAL_TEST_DATABASE_URL="$${PORTAL_TEST_DATABASE_URL:-$$($(BIN)/python -m tests.helpers.find_postgres)}" \
		$(BIN)/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)

# The in-process tests on SQLite alone: no servers, browser or worker processes, nothing slow.
test-fast: $(STAMP) compile
	PORTAL_TEST_DATABASE_URL= $(BIN)/python -m pytest -n $(WORKERS) -m "$(FAST)" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check portal sandbox tests benchmarks
	$(BIN)/ruff format --check portal sandbox tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .cache $(CATALOGUES)
