# The two commands: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
UV := $(shell ./scripts/ensure-uv.sh)
PYTEST_WORKERS ?= 2

.PHONY: run test setup lint types imports pytest bench bench-api bench-ingest bench-run demo clean

# --compile-bytecode: processes start in ~1 s instead of ~4 s where PYTHONDONTWRITEBYTECODE is set.
setup:
	$(UV) sync --frozen --compile-bytecode

# The platform on the embedded default (SQLite, local files, in-process jobs under ./var): first the demo
# (administrator, project, datasets, rule set; idempotent), then the API on :2000 with metrics on :9091.
run: setup
	$(UV) run python -m recon.demo_platform
	$(UV) run recon serve

lint: setup
	$(UV) run ruff check src tests bench
	$(UV) run ruff format --check src tests bench

types: setup
	$(UV) run mypy

imports: setup
	$(UV) run lint-imports

pytest: setup
	$(UV) run pytest -n $(PYTEST_WORKERS) --timeout 600

test: lint types imports pytest

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

demo: setup
	$(UV) run recon demo --rows 10000 --out var/demo

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
