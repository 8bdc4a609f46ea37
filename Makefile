# The commands people and CI use. `make serve` and `make test` are the README's two.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
SERVICES ?=
PYTEST_ARGS ?=

.PHONY: install serve run worker migrate lint fmt test test-fast check services-up services-down bench

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev,kafka,s3,elasticsearch]"
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/spice serve

run: serve

worker: $(STAMP)
	$(VENV)/bin/spice worker $(name)

migrate: $(STAMP)
	$(VENV)/bin/spice migrate

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy domain projections adapters workers app schema resolvers
	$(VENV)/bin/lint-imports

# The gate: starts the real services the suite needs, runs everything, stops them.
test: $(STAMP)
	bash scripts/services.sh up $(SERVICES)
	set -a; eval "$$(bash scripts/services.sh env)"; set +a; \
	  $(VENV)/bin/pytest -q $(PYTEST_ARGS); status=$$?; \
	  bash scripts/services.sh down; exit $$status

# Embedded adapters only: the inner loop.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -m "not postgres and not kafka and not opensearch and not s3 and not slow" $(PYTEST_ARGS)

check: lint test

bench: $(STAMP)
	$(PY) -m bench.run_all
