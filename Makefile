# The two commands: `make run` serves the tracker, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck test-sqlite test-postgresql postgres-binaries chromium harfbuzz-subset redis-server dovecot bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

# `tracker serve` starts `tracker worker` (the jobs) beside gunicorn and stops it with itself.
run: $(VENV)/.installed
	$(BIN)/tracker db upgrade
	$(BIN)/tracker seed
	$(BIN)/tracker serve

# PostgreSQL's server binaries, for the throwaway test cluster.
postgres-binaries:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
	  || [ -n "$$TRACKER_PG_BINDIR" ] || { \
	    echo "Installing PostgreSQL 15 server binaries (Debian's postgresql-15)..."; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql-15 >/dev/null; }

# Debian's Chromium, for the browser tests (Playwright drives it; it downloads no browser).
chromium:
	@[ -x /usr/bin/chromium ] || [ -n "$$TRACKER_CHROMIUM" ] || { \
	    echo "Installing Chromium (Debian's chromium) for the browser tests..."; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's Redis server, for the tests of the job queue on Redis (they start their own).
redis-server:
	@command -v redis-server >/dev/null 2>&1 || [ -n "$$TRACKER_REDIS_SERVER" ] || { \
	    echo "Installing Redis (Debian's redis-server) for the job queue tests..."; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server >/dev/null; }

# Debian's Dovecot IMAP server, for the tests of fetching mail (they start their own).
dovecot:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || [ -n "$$TRACKER_DOVECOT" ] || { \
	    echo "Installing Dovecot (Debian's dovecot-imapd) for the mail fetching tests..."; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dovecot-imapd >/dev/null; }

# HarfBuzz's subsetter, which WeasyPrint uses to embed fonts; without it WeasyPrint
# warns on import, and the tests treat warnings as errors.
harfbuzz-subset:
	@ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || { \
	    echo "Installing HarfBuzz's subsetter (Debian's libharfbuzz-subset0) for PDF fonts..."; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libharfbuzz-subset0 >/dev/null; }

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# pytest exits 5 when it collects nothing: say so, and fail.
PYTEST = $(BIN)/pytest $(PYTEST_ARGS) --db $(1) || { status=$$?; \
  [ $$status -ne 5 ] || echo "pytest collected no tests on $(1)" >&2; exit $$status; }

test-sqlite: $(VENV)/.installed-test harfbuzz-subset chromium redis-server dovecot
	$(call PYTEST,sqlite)

test-postgresql: $(VENV)/.installed-test harfbuzz-subset postgres-binaries chromium redis-server dovecot
	$(call PYTEST,postgresql)

test: lint typecheck test-sqlite test-postgresql

# Benchmarks print their figures; they are not tests.
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.letters
	$(BIN)/python -m bench.dashboard
	$(BIN)/python -m bench.scorecards
	$(BIN)/python -m bench.public
	$(BIN)/python -m bench.upload
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
