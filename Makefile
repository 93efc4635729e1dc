# The two commands that matter: `make serve` and `make test`. Both bootstrap .venv from nothing:
# `make serve` installs the runtime dependencies only (`pip install -e .`, RUNTIME_STAMP), the other
# targets add the test tools on top (`pip install -e '.[test]'`, STAMP).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
HOST ?= 127.0.0.1
PORT ?= 4567
DATA_DIR ?= .qconnect-data
PYTEST_ARGS ?=

.PHONY: serve test lint typecheck unit fuzz coverage-doc bench bench-import bench-search bench-scale bench-ingest bench-retrieval bench-write-wait bench-all clean

$(RUNTIME_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(PIP) -e '.[test]'
	touch $(STAMP)

serve: $(RUNTIME_STAMP)
	$(VENV)/bin/qconnect-local serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

test: lint typecheck coverage-doc unit

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

coverage-doc: $(STAMP)
	$(PY) scripts/coverage_doc.py --check

# Parallel over the machine's cores (pytest-xdist); each worker has its own server and databases.
unit: $(STAMP)
	$(VENV)/bin/pytest -q -n auto $(PYTEST_ARGS)

# `make test` runs the fuzzing bounded (Hypothesis profile "ci"); this is the long run.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=long $(VENV)/bin/pytest -q tests/test_fuzz.py $(PYTEST_ARGS)

# Benchmarks are scripts, not tests: each prints its figures beside a baseline measured in the
# same run (docs/benchmarks.md records them with the command).
bench: $(STAMP)
	$(PY) bench/bench_api.py

bench-import: $(STAMP)
	$(PY) bench/bench_import.py

bench-search: $(STAMP)
	$(PY) bench/bench_search.py

bench-scale: $(STAMP)
	$(PY) bench/bench_scale.py

bench-ingest: $(STAMP)
	$(PY) bench/bench_ingest.py

bench-write-wait: $(STAMP)
	$(PY) bench/bench_write_wait.py

bench-retrieval: $(STAMP)
	$(PY) bench/bench_retrieval.py

# Every benchmark script one after the other (bench/run_all.py: ~20 min on 2 vCPUs), merged
# into docs/benchmarks.json and rendered into its generated section of docs/benchmarks.md.
# `BENCH_QUICK=1 make bench-all`: each script's quick/smoke sizes (~5 minutes), written to
# bench/results/benchmarks-quick.json and printed as the section would read, docs/ left alone.
BENCH_QUICK ?=
BENCH_ALL_QUICK := $(filter 1 yes true,$(BENCH_QUICK))
BENCH_ALL_JSON ?= $(if $(BENCH_ALL_QUICK),bench/results/benchmarks-quick.json,docs/benchmarks.json)

bench-all: $(STAMP)
	$(PY) bench/run_all.py $(if $(BENCH_ALL_QUICK),--quick) --out $(BENCH_ALL_JSON); status=$$?; \
	$(PY) scripts/benchmarks_doc.py --json $(BENCH_ALL_JSON) $(if $(BENCH_ALL_QUICK),--print) && exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
