# The commands people and CI use. `make serve` and `make test` are the README's two.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
SERVICES ?=
PYTEST_ARGS ?=
# `spice codegen`'s generators, each in its own environment (tools/codegen/requirements.txt).
CODEGEN := tools/codegen
CODEGEN_PY_STAMP := $(CODEGEN)/.venv/.installed
CODEGEN_NODE_STAMP := $(CODEGEN)/node_modules/.installed

.PHONY: install codegen-tools graphiql-assets serve run worker migrate lint fmt test test-fast check services-up services-down bench

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev,kafka,s3,elasticsearch,terminus]"
	touch $(STAMP)

$(CODEGEN_PY_STAMP): $(CODEGEN)/requirements.txt
	test -x $(CODEGEN)/.venv/bin/python || python3 -m venv $(CODEGEN)/.venv
	$(CODEGEN)/.venv/bin/pip install -q -r $(CODEGEN)/requirements.txt
	touch $@

# `npm ci` installs exactly the committed lock (and empties node_modules first).
$(CODEGEN_NODE_STAMP): $(CODEGEN)/package.json $(CODEGEN)/package-lock.json
	cd $(CODEGEN) && npm ci --no-audit --no-fund
	touch $@

codegen-tools: $(CODEGEN_PY_STAMP) $(CODEGEN_NODE_STAMP)

# GraphiQL's UMD bundles and their licenses are committed in app/graphiql/assets,
# so the server needs neither a CDN nor Node; this refreshes them from the lock
# (after editing app/graphiql/package.json: `npm install --package-lock-only` there).
GRAPHIQL := app/graphiql
GRAPHIQL_FILES := react/umd/react.production.min.js react/LICENSE:react.LICENSE \
  react-dom/umd/react-dom.production.min.js react-dom/LICENSE:react-dom.LICENSE \
  graphiql/graphiql.min.js graphiql/graphiql.min.css graphiql/LICENSE:graphiql.LICENSE \
  graphql-ws/umd/graphql-ws.min.js graphql-ws/LICENSE.md:graphql-ws.LICENSE
graphiql-assets:
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  cp $(GRAPHIQL)/package.json $(GRAPHIQL)/package-lock.json "$$tmp"; \
	  (cd "$$tmp" && npm ci --no-audit --no-fund --ignore-scripts); \
	  for entry in $(GRAPHIQL_FILES); do \
	    source=$${entry%%:*}; target=$${entry#*:}; [ "$$target" = "$$entry" ] && target=$$(basename $$source); \
	    cp "$$tmp/node_modules/$$source" "$(GRAPHIQL)/assets/$$target"; \
	  done

install: $(STAMP) codegen-tools

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
test: $(STAMP) codegen-tools
	bash scripts/services.sh up $(SERVICES)
	set -a; eval "$$(bash scripts/services.sh env)"; set +a; \
	  $(VENV)/bin/pytest -q $(PYTEST_ARGS); status=$$?; \
	  bash scripts/services.sh down; exit $$status

# Embedded adapters only: the inner loop.
test-fast: $(STAMP) codegen-tools
	$(VENV)/bin/pytest -q -m "not postgres and not kafka and not opensearch and not elasticsearch and not s3 and not slow" $(PYTEST_ARGS)

check: lint test

bench: $(STAMP)
	$(PY) -m bench.run_all
