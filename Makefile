# Two things a person wants to do: run the demo portal, and run every check. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal

.PHONY: demo test serve install install-dev browser mdbtools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

# Browser tests drive Debian's Chromium (Playwright cannot download its own browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "Chromium ontbreekt: installeer het Debian-pakket 'chromium' (browsertests worden anders overgeslagen)."; fi; }

# Toevoegen → Bestaande administratie reads old Access files (.mdb) with Debian's mdbtools.
mdbtools:
	@command -v mdb-export >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mdbtools >/dev/null; \
		else echo "mdbtools ontbreekt: installeer het Debian-pakket 'mdbtools' (.mdb-bestanden toevoegen werkt anders niet en de tests daarvan worden overgeslagen)."; fi; }

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Install, migrate, load the demo data and serve the portal with a django-q2 worker beside it. The demo's support
# users sign in to /beheer/ with their password only (ADMIN_REQUIRE_2FA=false); production asks a second factor.
demo: install mdbtools
	DEBUG=1 $(BIN)/python manage.py migrate --noinput -v0
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "Het back-upportaal draait op http://$(HOST):$(PORT)/  (klantenservice: http://$(HOST):$(PORT)/beheer/)"
	@echo "Log in met een demogebruiker hierboven, wachtwoord: demo-wachtwoord. Stoppen: Ctrl+C."
	@export DEBUG=1 WEBHOOK_ALLOW_HTTP=1 WEBHOOK_ALLOW_PRIVATE_ADDRESSES=1; \
	$(BIN)/python manage.py qcluster & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	ADMIN_REQUIRE_2FA=$${ADMIN_REQUIRE_2FA:-false} $(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

# Lint, format check, types, then the whole test suite; in CI (CI=true) once more with the portal database on the
# PostgreSQL server, which must then be there. That second pass runs only the tests that use the portal database
# (TEST_PORTAL_DATABASE_ONLY=1): the others do exactly what they did in the first.
test: install-dev browser mdbtools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest
	@if [ "$$CI" = "true" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		echo "== the suite again, with the portal database on PostgreSQL =="; \
		DATABASE_URL=$(TEST_DATABASE_URL) TEST_PORTAL_DATABASE_ONLY=1 $(BIN)/pytest -p no:randomly -m "not browser and not slow" -q; \
	else \
		echo "PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL pass of the portal database is skipped."; \
	fi

# Production serving: gunicorn (threaded workers) beside a django-q2 cluster, on whatever DATABASE_URL, REDIS_URL and
# BACKUP_S3_* say (see README, "In productie draaien"). Binds to WEB_BIND (default 127.0.0.1:8000).
serve: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py collectstatic --noinput -v0
	@$(BIN)/python manage.py qcluster & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn -c portal/gunicorn.conf.py portal.wsgi
