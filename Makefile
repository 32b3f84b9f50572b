# Rally: `make demo` to run it, `make test` to test it. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
STAMP  := $(VENV)/.installed
# The suite's line coverage of src/rally (revisions included) may not fall below this.
COVERAGE_FLOOR ?= 93

.PHONY: install demo test lint test-only bench bench-import bench-migrate bench-web bench-demo bench-scale bench-cli bench-scaleout lock clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@$(BIN)/python -m compileall -q src >/dev/null
	@touch $(STAMP)

install: $(STAMP)  ## Create .venv and install Rally with its pinned dependencies.

demo: $(STAMP)  ## Run Rally on a local SQLite database with demo leagues and account.
	$(BIN)/rally demo $(DEMO_ARGS)

lint: $(STAMP)  ## ruff check, ruff format --check, mypy.
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test-only: $(STAMP)  ## The test suite alone (SQLite and PostgreSQL, browser tests included).
	scripts/ensure-chromium
	$(BIN)/pytest -n 2 --dist loadfile --cov --cov-report= $(PYTEST_ARGS)
	$(BIN)/python scripts/coverage_report.py --fail-under $(COVERAGE_FLOOR)

test: lint test-only  ## Lint, type-check and run the whole suite.

bench: bench-import bench-migrate bench-web bench-demo bench-scale  ## All benchmarks (print figures; slow).

bench-import: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py

bench-migrate: $(STAMP)
	$(BIN)/python benchmarks/bench_migrate.py

bench-web: $(STAMP)
	$(BIN)/python benchmarks/bench_web.py

bench-demo: $(STAMP)
	$(BIN)/python benchmarks/bench_demo.py

bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py

bench-cli: $(STAMP)  ## How long `rally --help` and `rally db --help` take to start.
	$(BIN)/python benchmarks/bench_cli.py

bench-scaleout: $(STAMP)  ## One instance vs two behind HAProxy vs two reading a replica.
	$(BIN)/python benchmarks/bench_scaleout.py

lock: $(STAMP)  ## Re-resolve requirements.lock from pyproject.toml.
	$(UV) pip compile --quiet pyproject.toml --extra dev -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-output
