# 快警 dispatch platform. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
export PYTHONUNBUFFERED := 1
UV_VERSION := 0.13.9
export UV_VERSION
STATE := $(or $(KJ_STATE_DIR),$(CURDIR)/.local)
# uv at the pinned version, in its own virtual environment (infra/install.sh; PEP 668)
UV := $(STATE)/uv/bin/uv
RUN := $(UV) run --frozen
PYTEST_ARGS ?=
# make test: two pytest workers (decision 0159), then the serial tests (chaos) alone
TEST_WORKERS ?= 2

.PHONY: help install up down clean topics seed prune strays migrate schemas test test-unit lint run demo bench soak study chaos

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## Debian packages that are missing, uv (pinned, private venv), the Python packages (uv.lock), promtool, kustomize
	@bash infra/install.sh
	@bash deploy/install-tools.sh

up: install ## start Kafka and PostgreSQL (reused when up), migrate, create topics, seed the city
	@bash infra/kafka/kafka.sh start
	@bash infra/postgres/postgres.sh start
	@$(RUN) kj-infra wait --deadline 90
	@$(RUN) kj-infra migrate
	@$(RUN) kj-infra topics
	@$(RUN) kj-infra seed

down: ## stop Kafka and PostgreSQL, keep their data
	@bash infra/kafka/kafka.sh stop
	@bash infra/postgres/postgres.sh stop

clean: ## stop both and erase their data (downloaded jars stay cached)
	@bash infra/kafka/kafka.sh clean
	@bash infra/postgres/postgres.sh clean

migrate: ## apply pending database migrations
	@$(RUN) kj-infra migrate

topics: ## create the topic catalogue's topics that are missing
	@$(RUN) kj-infra topics

seed: ## load the city (KJ_CITY_DIR, default cities/shaoyang) into PostgreSQL
	@$(RUN) kj-infra seed

strays: ## list the topics and databases that interrupted test and benchmark runs left; DELETE=1 removes them (not while a run is going)
	@$(RUN) kj-infra strays $(if $(DELETE),--delete,)

prune: ## delete the mechanics rows past their retention (KJ_RETENTION_*) and print every table's size
	@$(RUN) kj-infra prune

deploy-gen: ## regenerate dashboards, alert rules, Kafka/PostgreSQL resources and manifests in deploy/
	@$(RUN) python -m deploy.gen

schemas: ## regenerate the JSON Schema files in schemas/json from the models
	@$(RUN) python -m kj_schemas.export

test: up ## everything: unit, integration and end-to-end tests against the real broker and database
	@$(RUN) pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial" $(PYTEST_ARGS)
	@$(RUN) pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]  # 5: nothing selected

test-unit: install ## unit tests only (no servers), in seconds
	@$(RUN) pytest tests/unit -q $(PYTEST_ARGS)

lint: install ## ruff, mypy, the layer rules (import-linter, .importlinter) and the generated files
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@$(RUN) mypy schemas/src runtime/src $(wildcard services/*/src) sim/src deploy
	@$(RUN) lint-imports --no-cache
	@$(RUN) python -m deploy.gen --check

bench: up ## run every benchmark (bench/bench_*.py); figures go to bench/results.json
	@for b in bench/bench_*.py; do echo "== $$b"; $(RUN) python -m bench.$$(basename $$b .py) || exit 1; done
	@$(RUN) python -m bench.summary

DURATION ?=
soak: up ## the whole stack under a province's load for DURATION seconds (default 180): lag, e2e p99, RSS, files, database, broker every 30 s; report and plot in .local/soak/
	@$(RUN) python -m bench.soak --duration $(or $(DURATION),180)
	@$(RUN) python -m bench.summary >/dev/null

demo: up ## the main job: the four services driven by a simulated city, live dashboard (DURATION=300 ends with a report)
	@bash deploy/demo-prometheus.sh start || echo "prometheus: not available; the demo runs without it"
	@$(RUN) kj-sim demo $(if $(DURATION),--duration $(DURATION),); status=$$?; \
	 if [ -n "$(DURATION)" ] && bash deploy/demo-prometheus.sh status >/dev/null 2>&1; then \
	   $(RUN) python -m deploy.snapshot --prometheus http://127.0.0.1:$${KJ_PROMETHEUS_PORT:-19090} \
	     --minutes $$(( $(if $(DURATION),$(DURATION),0) / 60 + 1 )) --out $(STATE)/demo/latest/board-135.png || true; \
	 fi; \
	 bash deploy/demo-prometheus.sh stop; exit $$status

run: up ## the four services alone against the local infrastructure, logs to the terminal; Ctrl-C stops
	@$(RUN) python -m kj_sim.services

PROFILE ?= full
chaos: install ## kill, pause and poison the stack under load, then verify (PROFILE=ci: 2 min; DURATION=S); its own broker and database
	@$(RUN) python -m kj_sim.chaos --profile $(PROFILE) $(if $(DURATION),--duration $(DURATION),)
	@$(RUN) python -m bench.summary >/dev/null

study: install ## the offline study: policies and posts over 5 seeded days at 1x and 2x load; table and plots in docs/study/
	@OPENBLAS_NUM_THREADS=1 $(RUN) python -m kj_sim.study.run
	@$(RUN) python -m bench.summary >/dev/null
