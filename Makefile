# modelsteward: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true

.PHONY: install test test-fast demo bench bench-env lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make test: create .venv, install the package with its test dependencies, run the whole suite
test: $(STAMP)
	$(PY) -m pytest -q

## make test-fast: the suite without slow and integration tests
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not integration"

## make demo: the whole loop on the embedded default (SQLite MLflow, local artifacts)
demo: $(STAMP)
	$(VENV)/bin/steward demo

## make bench: benchmarks against peers, measured in the same run (see benchmarks/README.md)
bench: $(STAMP)
	$(PY) benchmarks/run_all.py

## make bench-env: .venv-bench with the benchmark peers (the `bench` extra: Evidently needs
## pandas<3, so it cannot live in .venv); benchmarks/drift_speed.py runs it when missing
BENCH_VENV := .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
$(BENCH_VENV)/.installed: pyproject.toml
	test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench']))" > $(BENCH_VENV)/requirements.txt
	DO_NOT_TRACK=1 $(BENCH_PY) -m pip install -q -r $(BENCH_VENV)/requirements.txt
	touch $@

bench-env: $(BENCH_VENV)/.installed

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src

clean:
	rm -rf $(VENV) .steward mlruns .pytest_cache .mypy_cache .ruff_cache
