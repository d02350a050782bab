# wasmimport: `make demo` and `make test` do everything on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SAMPLES := textkit numkit

.PHONY: all setup toolchain wasm samples real-modules test demo lint bench clean

all: test

# The development virtual environment, with wasmimport installed editable (which builds
# the compiled call path, wasmimport/_speedups.c, in place with the machine's C compiler).
setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml setup.py wasmimport/_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dask]'
	touch $@

# Debian clang + lld + wasi-libc, installed if the probe build fails.
toolchain:
	tools/ensure-toolchain.sh

# Rebuild every wasm module (test guests and samples) from the C sources in this repo.
wasm: toolchain setup
	$(MAKE) -C tests/guests all PYTHON=$(abspath $(PY))
	for s in $(SAMPLES); do $(MAKE) -C sample_pkgs/$$s wasm || exit 1; done

# Install the sample packages for real (a wheel each, not editable) into the venv.
samples: setup wasm
	$(PY) -m pip install -q --force-reinstall --no-deps $(addprefix ./sample_pkgs/,$(SAMPLES))

# Modules published by other projects (PyPI, npm), pinned, for tests/test_real_modules.py.
real-modules: setup
	$(PY) tools/fetch-real-modules.py

# The whole suite runs twice: on the compiled call path, then on the pure-Python one,
# sharing one throwaway compile cache (the 69 MB real module compiles once, not twice).
test: samples real-modules lint
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
	WASMIMPORT_CACHE_DIR=$$cache $(PY) -m pytest && \
	WASMIMPORT_CACHE_DIR=$$cache WASMIMPORT_PURE=1 $(PY) -m pytest

demo: samples
	$(PY) examples/demo.py

lint: setup
	$(PY) -m mypy
	$(PY) -m ruff check wasmimport tests benchmarks examples sample_pkgs tools

# Benchmarks run against a normal (non-editable) install, as users have it.
bench: setup toolchain wasm
	rm -rf .bench-venv
	$(PYTHON) -m venv .bench-venv
	.bench-venv/bin/python -m pip install -q .
	.bench-venv/bin/python benchmarks/bench_call.py
	$(PY) benchmarks/bench_import.py --python .bench-venv/bin/python
	.bench-venv/bin/python benchmarks/bench_limits.py

clean:
	$(MAKE) -C tests/guests clean
	for s in $(SAMPLES); do $(MAKE) -C sample_pkgs/$$s clean; done
	rm -rf build *.egg-info .bench-venv
