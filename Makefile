# Accord: `make run` serves the API with the demo loaded; `make test` runs the suite on SQLite,
# then on PostgreSQL at 127.0.0.1:5432 when it answers (on CI, CI=true, it must answer).
# `make run HOST=... PORT=...` serves there, and links in mail, feeds and sign-in mails lead
# there too, unless ACCORD_BASE_URL says otherwise (`accord serve`, engine/settings.py).

VENV      := .venv
PYTHON    := $(VENV)/bin/python
ACCORD    := $(VENV)/bin/accord
INSTALLED := $(VENV)/.installed
PG_HOST   ?= 127.0.0.1
PG_PORT   ?= 5432
HOST      ?= 127.0.0.1
PORT      ?= 8000
PYTEST_ARGS ?=

SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c

# Whether PostgreSQL answers: pg_isready when it is installed, else a TCP connect.
PG_ANSWERS = if command -v pg_isready >/dev/null 2>&1; then \
	  pg_isready -q -h $(PG_HOST) -p $(PG_PORT) -t 3; \
	else \
	  $(PYTHON) -c "import socket; socket.create_connection(('$(PG_HOST)', $(PG_PORT)), 3).close()" 2>/dev/null; \
	fi

.PHONY: install catalogs messages run test lint bench soak fuzz

$(PYTHON):
	python3 -m venv $(VENV)

# Reinstall only when pyproject.toml changed since the last install.
$(INSTALLED): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $@

# The translations (engine/i18n.py): `make catalogs` compiles each engine/locales/*/LC_MESSAGES/messages.po
# into the .mo that Accord reads (never committed); `make messages` extracts every marked string into
# messages.pot and merges it into each catalog, new strings untranslated, changed ones fuzzy (the
# workflow files' words through engine/i18n.py's extractor, imported from this checkout: PYTHONPATH).
LOCALES := engine/locales
install: $(INSTALLED) catalogs

catalogs: $(INSTALLED)
	$(VENV)/bin/pybabel compile --statistics -d $(LOCALES) -D messages

messages: $(INSTALLED)
	PYTHONPATH=. $(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output --project Accord \
	  --copyright-holder "Accord" --msgid-bugs-address "" -k N_ -k NP_:1c,2 -o $(LOCALES)/messages.pot .
	$(VENV)/bin/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages --no-wrap --ignore-obsolete

run: install
	$(ACCORD) migrate
	$(ACCORD) demo
	@token=$$($(ACCORD) admin create --name "Demo administrator" --email admin@accord.example | tail -n 1) \
	  && echo "" \
	  && echo "Demo administrator token (a new one each run): $$token" \
	  && echo "  curl -H 'Authorization: Bearer $$token' http://$(HOST):$(PORT)/api/v1/agreements" \
	  && echo "API documentation: http://$(HOST):$(PORT)/docs" \
	  && echo "Web pages (sign in with the token): http://$(HOST):$(PORT)/" \
	  && echo ""
	$(ACCORD) serve --host $(HOST) --port $(PORT)

test: install
	ACCORD_TEST_DATABASE=sqlite $(PYTHON) -m pytest $(PYTEST_ARGS)
	@if $(PG_ANSWERS); then \
	  echo "== PostgreSQL at $(PG_HOST):$(PG_PORT)"; \
	  ACCORD_TEST_DATABASE=postgresql $(PYTHON) -m pytest $(PYTEST_ARGS); \
	elif [ "$${CI:-}" = "true" ]; then \
	  echo "PostgreSQL does not answer at $(PG_HOST):$(PG_PORT); on CI that is a failure." >&2; \
	  exit 1; \
	else \
	  echo "PostgreSQL does not answer at $(PG_HOST):$(PG_PORT): the PostgreSQL run was NOT done" \
	       "(set CI=true to make this a failure)." >&2; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy engine workflows api notifications

# Benchmarks (docs/BENCHMARKS.md): sizes CI can afford by default; `make bench BENCH_FULL=1` runs the
# full ones (worker pass over 1M agreements, 10 s per HTTP scenario, 100,000 requests for memory).
BENCH_FULL ?=
bench: install
	@echo "== bench/engine_transition.py"
	$(PYTHON) bench/engine_transition.py
	@for n in 10000 100000 $(if $(BENCH_FULL),1000000); do \
	  echo "== bench/worker_pass.py --agreements $$n --due 1000"; \
	  $(PYTHON) bench/worker_pass.py --agreements $$n --due 1000; \
	done
	@echo "== bench/profile_transition.py --statements (one transition in process, Accord and the floor)"
	@for app in accord floor; do $(PYTHON) bench/profile_transition.py --app $$app --statements; done
	@echo "== bench/hostile_imports.py"
	$(PYTHON) bench/hostile_imports.py
	@echo "== bench/http_transitions.py"
	@if $(PG_ANSWERS); then dbs=sqlite,postgresql; else dbs=sqlite; \
	  echo "PostgreSQL does not answer at $(PG_HOST):$(PG_PORT): HTTP benchmark on SQLite only"; fi; \
	  $(PYTHON) bench/http_transitions.py --databases $$dbs \
	    $(if $(BENCH_FULL),--seconds 10 --rounds 3 --memory-requests 100000,--seconds 5 --rounds 2 --memory-requests 10000)

# Load and fault tests at full length (tests/soak; `make test` runs them for a few seconds each):
# 30 s of load per scenario on SQLite, then on PostgreSQL when it answers (the PostgreSQL pass
# restarts the local cluster mid-load: run it where nothing else uses that PostgreSQL).
SOAK_SECONDS ?= 30
soak: install
	ACCORD_SOAK_SECONDS=$(SOAK_SECONDS) ACCORD_TEST_DATABASE=sqlite $(PYTHON) -m pytest tests/soak $(PYTEST_ARGS)
	@if $(PG_ANSWERS); then \
	  echo "== PostgreSQL at $(PG_HOST):$(PG_PORT)"; \
	  ACCORD_SOAK_SECONDS=$(SOAK_SECONDS) ACCORD_TEST_DATABASE=postgresql $(PYTHON) -m pytest tests/soak $(PYTEST_ARGS); \
	elif [ "$${CI:-}" = "true" ]; then \
	  echo "PostgreSQL does not answer at $(PG_HOST):$(PG_PORT); on CI that is a failure." >&2; \
	  exit 1; \
	else \
	  echo "PostgreSQL does not answer at $(PG_HOST):$(PG_PORT): the PostgreSQL soak was NOT run." >&2; \
	fi

# Schemathesis over a live server (every phase, stateful included) as an administrator, on a fresh
# SQLite file with the demo loaded; `make test` runs the same checks in process (tests/test_hostile.py).
# The token's own revocation and person edits are left out so the run keeps its administrator.
FUZZ_PORT ?= 8765
FUZZ_EXAMPLES ?= 30
fuzz: install
	@dir=$$(mktemp -d) && export ACCORD_DATABASE_URL=sqlite+aiosqlite:///$$dir/accord.db ACCORD_SCHEDULER_ENABLED=false \
	  && $(ACCORD) migrate >/dev/null && $(ACCORD) demo >/dev/null \
	  && token=$$($(ACCORD) admin create --name Fuzz --email fuzz@accord.example | tail -n 1) \
	  && { $(ACCORD) serve --port $(FUZZ_PORT) >$$dir/serve.log 2>&1 & pid=$$!; } \
	  && trap "kill $$pid" EXIT && sleep 5 \
	  && $(VENV)/bin/st run http://127.0.0.1:$(FUZZ_PORT)/openapi.json -H "Authorization: Bearer $$token" \
	       --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
	       --phases examples,coverage,fuzzing,stateful --max-examples $(FUZZ_EXAMPLES) \
	       --exclude-path-regex '^/api/v1/(tokens/.*|people/\{person_id\})$$'
