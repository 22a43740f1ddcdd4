# The two commands: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
UV := $(shell ./scripts/ensure-uv.sh)
PYTEST_WORKERS ?= 2

.PHONY: run test setup deploy-tools images lint types imports pytest spark-setup pytest-spark bench-spark frontend-deps frontend-build frontend-test bench bench-api bench-ingest bench-run demo clean

# --compile-bytecode: processes start in ~1 s instead of ~4 s where PYTHONDONTWRITEBYTECODE is set. uv compiles
# site-packages only; the project itself is installed editable (src/), so compileall writes its bytecode too
# (~200 modules that every `recon serve` would otherwise compile again, ~0.5-1 s of its start's CPU).
setup:
	$(UV) sync --frozen --compile-bytecode
	@$(UV) run --frozen --no-sync python -m compileall -q -j 0 src migrations

# checkov (uv tool), kubectl, podman/runc/debootstrap: what tests/deploy needs outside the Python environment.
deploy-tools: setup
	UV=$(UV) ./deploy/scripts/ensure-tools.sh

# The container images (podman, local Debian base): backend (api), worker, frontend; SBOMs in deploy/out/.
# RECON_SKIP_IMAGES=1 skips them (and their tests) in quick local runs; CI always builds them.
images: deploy-tools
	@if [ "$${RECON_SKIP_IMAGES:-}" = 1 ] && [ "$${CI:-}" != true ]; then \
		echo "RECON_SKIP_IMAGES=1: images not built"; else ./deploy/build-images.sh; fi

# The platform on the embedded default (SQLite, local files, in-process jobs under ./var): first the demo
# (administrator, project, datasets, rule set; idempotent), then the API on :2000 with metrics on :9091.
run: setup frontend-build
	$(UV) run python -m recon.demo_platform
	@echo "The Reconciliation Platform: http://localhost:2000"
	$(UV) run recon serve

# The web UI (frontend/): node modules with `npm ci` and Debian's chromium for the browser tests (no browser
# download); the build (frontend/dist, served by the api at /) when it is missing or stale.
frontend-deps:
	./scripts/ensure-frontend.sh deps

frontend-build: frontend-deps
	./scripts/ensure-frontend.sh build

# ESLint, tsc, Vitest, then the Playwright browser tests (they start their own api on SQLite).
frontend-test: setup frontend-build
	cd frontend && npm run --silent lint && npm run --silent typecheck && npm run --silent test
	cd frontend && npm run --silent e2e

lint: setup
	$(UV) run ruff check src tests bench
	$(UV) run ruff format --check src tests bench

types: setup
	$(UV) run mypy

imports: setup
	$(UV) run lint-imports

# The images are built before pytest (a first build takes minutes); tests/deploy refreshes them from the
# layer cache when run on its own.
pytest: setup deploy-tools images
	$(UV) run pytest -n $(PYTEST_WORKERS) --timeout 900 --durations 25 -m "not spark"

# The Spark backend (docs/scaling.md) as its own group: PySpark and sqlglot (the `spark` dependency group)
# are added to the environment here only, the tests share one local Spark session (Java 17: /usr/bin/java).
# They run in an environment of their own, .venv-spark, so that .venv stays exactly what `make setup` makes and
# the two pytest stages can run at once.
SPARK_ENV := UV_PROJECT_ENVIRONMENT=.venv-spark
spark-setup:
	$(SPARK_ENV) $(UV) sync --frozen --group spark --compile-bytecode

pytest-spark: spark-setup
	$(SPARK_ENV) $(UV) run --frozen --no-sync pytest tests/spark -m spark -n 0 --timeout 900 --durations 10

# lint, types, imports, frontend-test, images, pytest, pytest-spark: two streams at a time, each stage's wall
# time and the slowest tests printed (scripts/test-stages.sh; the CI must stay under 45 minutes).
test:
	MAKE="$(MAKE)" ./scripts/test-stages.sh

format: setup
	$(UV) run ruff format src tests bench
	$(UV) run ruff check --fix src tests bench

# Benchmarks print figures and ratios; they are run on purpose, never by `make test`.
bench: setup
	$(UV) run python bench/engine_bench.py

bench-api: setup
	$(UV) run python bench/api_bench.py

bench-ingest: setup
	$(UV) run python bench/dataset_ingest_bench.py

bench-run: setup
	$(UV) run python bench/api_run_bench.py

bench-spark: spark-setup
	$(SPARK_ENV) $(UV) run --frozen --no-sync python bench/spark_bench.py

demo: setup
	$(UV) run recon demo --rows 10000 --out demo-data

clean:
	rm -rf var demo-data .pytest_cache .mypy_cache .ruff_cache .venv-spark
