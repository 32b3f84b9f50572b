# Rally: `make demo` to run it, `make test` to test it. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
STAMP  := $(VENV)/.installed
# The suite's line coverage of src/rally (revisions included) may not fall below this.
COVERAGE_FLOOR ?= 93

.PHONY: install demo test lint test-only bench bench-import bench-migrate bench-damaged bench-earlier bench-web bench-demo bench-scale bench-cli bench-scaleout lock clean bench-online bench-sqlite bench-login-flood bench-week bench-pages

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@$(BIN)/python -m compileall -q src >/dev/null
	@touch $(STAMP)

# axe-core (accessibility checks of the browser tests), pinned by package-lock.json.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)  ## Create .venv and node_modules with the pinned dependencies.

demo: $(STAMP)  ## Run Rally on a local SQLite database with demo leagues and account.
	$(BIN)/rally demo $(DEMO_ARGS)

lint: $(STAMP)  ## ruff check, ruff format --check, mypy.
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test-only: $(STAMP) $(NODE_STAMP)  ## The test suite alone (SQLite and PostgreSQL, browser tests included).
	scripts/ensure-chromium
	$(BIN)/pytest -n 2 --dist loadfile --cov --cov-report= $(PYTEST_ARGS)
	$(BIN)/python scripts/coverage_report.py --fail-under $(COVERAGE_FLOOR)

test: lint test-only  ## Lint, type-check and run the whole suite.

bench: bench-import bench-migrate bench-damaged bench-earlier bench-web bench-demo bench-scale bench-online bench-sqlite bench-login-flood bench-week bench-pages  ## All benchmarks (print figures; slow).

bench-import: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py

bench-migrate: $(STAMP)
	$(BIN)/python benchmarks/bench_migrate.py

bench-damaged: $(STAMP)
	$(BIN)/python benchmarks/bench_damaged.py

bench-earlier: $(STAMP)  ## Repair of databases the earlier fix ran on, vs the pristine upgrade.
	$(BIN)/python benchmarks/bench_earlier.py

bench-web: $(STAMP)
	$(BIN)/python benchmarks/bench_web.py

bench-login-flood: $(STAMP)
	$(BIN)/python benchmarks/bench_login_flood.py

bench-week: $(STAMP)
	$(BIN)/python benchmarks/bench_week.py

bench-pages: $(STAMP)
	$(BIN)/python benchmarks/bench_pages.py

bench-demo: $(STAMP)
	$(BIN)/python benchmarks/bench_demo.py

bench-sqlite: $(STAMP)
	$(BIN)/python benchmarks/bench_sqlite.py

bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py

bench-online: $(STAMP)  ## Online vs offline legacy upgrade under a concurrent legacy writer (SCALES="1 10 100").
	$(BIN)/python benchmarks/bench_online.py --scales $(or $(SCALES),1 10)

bench-cli: $(STAMP)  ## How long `rally --help` and `rally db --help` take to start.
	$(BIN)/python benchmarks/bench_cli.py

bench-scaleout: $(STAMP)  ## One instance vs two behind HAProxy vs two reading a replica.
	$(BIN)/python benchmarks/bench_scaleout.py

lock: $(STAMP)  ## Re-resolve requirements.lock from pyproject.toml.
	$(UV) pip compile --quiet pyproject.toml --extra dev -o requirements.lock

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache test-output
