# wasmimport: `make demo` and `make test` do everything on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SAMPLES := textkit numkit
# the mmh3 drop-in: built and judged by mmh3's own suite in a venv of its own (mmh3-suite)
WASM_PKGS := $(SAMPLES) mmh3-wasm
# Every other supported CPython (3.10-3.13), from pyenv: 3.10 runs the suite on the wasmer
# backend (wasmer has wheels only up to 3.10), 3.12 and 3.13 on wasmtime.
OTHER_PYTHONS := 3.10 3.12 3.13
PYENV_ROOT ?= $(or $(shell pyenv root 2>/dev/null),$(HOME)/.pyenv)
pyenv_python = $(or $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python))),\
	$(error CPython $(1) is not installed under $(PYENV_ROOT): run `pyenv install $(1)`))
# CPython 3.14 and 3.15 come from Debian sid, in a root made once by tools/sid.sh (needs
# root) and cached here; `make test SID_PYTHONS=` leaves them out.
SID_ROOT ?= .cache/sid
SID_PYTHONS ?= 3.14 3.15
# Any other interpreter the suite should run on: make test EXTRA_PYTHONS="/opt/py/bin/python3"
EXTRA_PYTHONS ?=

.PHONY: all setup toolchain wasm samples samples-everywhere real-modules mmh3-suite test demo \
	brotli-wasm brotli-suite \
	lint bench clean pythons sid-root test-sid test-extra bench-sid dist web-deps test-pyodide \
	chromium web-big test-chromium demo-web bench-web component-deps sample-wasm \
	componentize-py-deps

all: test

# The development virtual environment, with wasmimport installed editable (which builds
# the compiled call path, wasmimport/_speedups.c, in place with the machine's C compiler).
setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml setup.py wasmimport/_speedups.c wasmimport/_speedups_compound.h
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dask]'
	touch $@

# One virtual environment per other supported Python, each with wasmimport installed
# editable (its own build of the extension) and the wasmer extra (a no-op after 3.10).
pythons: $(foreach v,$(OTHER_PYTHONS),.venv-$(v)/.installed)
.venv-%/.installed: pyproject.toml setup.py wasmimport/_speedups.c wasmimport/_speedups_compound.h
	$(call pyenv_python,$*) -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/python -m pip install -q -e '.[test,dask,wasmer]'
	touch $@

# Debian clang + lld + wasi-libc, installed if the probe build fails.
toolchain:
	tools/ensure-toolchain.sh

# Rebuild every wasm module (test guests and samples) from the C sources in this repo.
wasm: sample-wasm brotli-wasm component-deps componentize-py-deps
	$(MAKE) -C tests/guests all PYTHON=$(abspath $(PY)) COMPONENTIZE_PY="$(COMPONENTIZE_PY)"

# The sample packages' modules alone (all `make demo` needs: no npm, no componentize-py).
sample-wasm: toolchain setup
	for s in $(WASM_PKGS); do $(MAKE) -C sample_pkgs/$$s wasm PYTHON=$(abspath $(PY)) || exit 1; done

# Install the sample packages for real (a wheel each, not editable): into the development
# venv (enough for the demo), and for the tests into every other venv too.
samples: setup sample-wasm
	$(PY) -m pip install -q --force-reinstall --no-deps $(addprefix ./sample_pkgs/,$(SAMPLES))
samples-everywhere: samples pythons
	for py in $(foreach v,$(OTHER_PYTHONS),.venv-$(v)/bin/python); do \
	  $$py -m pip install -q --force-reinstall --no-deps $(addprefix ./sample_pkgs/,$(SAMPLES)) \
	  || exit 1; done

# Modules published by other projects (PyPI, npm), pinned, for tests/test_real_modules.py.
real-modules: setup
	$(PY) tools/fetch-real-modules.py

# The whole suite runs on the compiled call path, then on the pure-Python one, then on
# CPython 3.12 and 3.13, then on 3.10 with the wasmer backend, all sharing one throwaway
# compile cache (the 69 MB real module compiles once per engine, not once per run); then
# the contract tests inside Pyodide on the js backend, under Node (test-pyodide) and in
# headless Chromium (test-chromium); then 3.14 and 3.15 in the sid root.
# mmh3 5.x's own test suite (its pinned sdist, fetched by pip) against mmh3-wasm, in a fresh
# venv, on both call paths: see tools/mmh3_suite.py and docs/drop-in.md.
mmh3-suite: setup wasm
	$(PY) tools/mmh3_suite.py

# Brotli's own Python test suite (from its pinned sdist, which brotli-wasm is also built
# from) against sample_pkgs/brotli-wasm, in a fresh venv, on both call paths:
# tools/brotli_suite.py and docs/drop-in.md.
brotli-wasm: toolchain setup
	$(MAKE) -C sample_pkgs/brotli-wasm wasm PYTHON=$(abspath $(PY))
brotli-suite: brotli-wasm
	$(PY) tools/brotli_suite.py

test: samples-everywhere real-modules component-deps lint mmh3-suite brotli-suite
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && export WASMIMPORT_CACHE_DIR=$$cache && \
	$(PY) -m pytest && \
	WASMIMPORT_PURE=1 $(PY) -m pytest && \
	.venv-3.12/bin/python -m pytest && \
	.venv-3.13/bin/python -m pytest && \
	WASMIMPORT_BACKEND=wasmer .venv-3.10/bin/python -m pytest
	$(MAKE) test-pyodide test-chromium
	$(if $(SID_PYTHONS),$(MAKE) test-sid)
	$(if $(EXTRA_PYTHONS),$(MAKE) test-extra)

# The Debian sid root (tools/sid.sh): CPython 3.14 and 3.15 with their -venv and -dev
# packages, and the wasm toolchain installed by tools/ensure-toolchain.sh.
sid-root:
	tools/sid.sh $(SID_ROOT) root

# In the sid root: the whole suite and mmh3's on each of SID_PYTHONS (tools/suite.sh, on a
# copy of this checkout, one compile cache for both), then `make demo` from a clean copy of
# HEAD with sid's own python3 and toolchain.
test-sid: sid-root wasm real-modules component-deps
	tools/sid.sh $(SID_ROOT) sync .
	tools/sid.sh $(SID_ROOT) run rm -rf /tmp/wasmimport-test-cache
	for v in $(SID_PYTHONS); do \
	  WASMIMPORT_CACHE_DIR=/tmp/wasmimport-test-cache tools/sid.sh $(SID_ROOT) run \
	    tools/suite.sh /usr/bin/python$$v /opt/wasmimport-venv-$$v || exit 1; done
	tools/sid.sh $(SID_ROOT) run rm -rf /tmp/wasmimport-test-cache
	tools/sid.sh $(SID_ROOT) demo .

# EXTRA_PYTHONS: the whole suite and mmh3's on each, in .venv-extra-N (tools/suite.sh).
test-extra: wasm real-modules
	n=0; for py in $(EXTRA_PYTHONS); do n=$$((n + 1)); \
	  tools/suite.sh $$py .venv-extra-$$n || exit 1; done

demo: samples
	$(PY) examples/demo.py

# What there is to publish, in dist/ (tools/dist.py): the sdist, the platform wheel (with the
# compiled _speedups) and the pure py3-none-any wheel (for micropip in Pyodide), both built
# from the sdist; the sample packages' wheels in dist/samples/.
dist: setup wasm
	rm -rf dist
	$(PY) tools/dist.py dist

# The component toolchain: npm jco (pinned, tools/component/package.json), whose wasm-tools
# (embed, new, wit, print, parse) tools/component/wasm_tools.mjs drives, in a git-ignored
# cache; `python -m wasmimport build --wit` and tests/guests/components use it.
COMPONENT_CACHE ?= .cache/component
component-deps: $(COMPONENT_CACHE)/.installed
$(COMPONENT_CACHE)/.installed: tools/component/package.json tools/component/package-lock.json
	mkdir -p $(COMPONENT_CACHE)
	cp tools/component/package.json tools/component/package-lock.json $(COMPONENT_CACHE)/
	cd $(COMPONENT_CACHE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The second component toolchain: PyPI componentize-py (pinned, tools/component/
# componentize-py.txt; 47 MB), which builds tests/guests/components/pyguest from Python.
CPY_CACHE ?= .cache/componentize-py
COMPONENTIZE_PY = PYTHONPATH=$(abspath $(CPY_CACHE)) $(abspath $(PY)) \
	$(abspath $(CPY_CACHE))/bin/componentize-py
componentize-py-deps: $(CPY_CACHE)/.installed
$(CPY_CACHE)/.installed: tools/component/componentize-py.txt | setup
	rm -rf $(CPY_CACHE)
	$(PY) -m pip install -q --target $(CPY_CACHE) -r tools/component/componentize-py.txt
	touch $@

# The web: npm pyodide (pinned, tools/web/package.json) and the pure wheels Pyodide needs
# for the suite (tools/web/wheels.txt, from PyPI), in a git-ignored cache.
WEB_CACHE ?= .cache/web
web-deps: $(WEB_CACHE)/.installed
$(WEB_CACHE)/.installed: tools/web/package.json tools/web/package-lock.json tools/web/wheels.txt \
		| setup
	mkdir -p $(WEB_CACHE)/wheels
	cp tools/web/package.json tools/web/package-lock.json $(WEB_CACHE)/
	cd $(WEB_CACHE) && npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m pip download -q --only-binary=:all: --no-deps --python-version 3.14 \
	  --platform any --implementation py -d $(WEB_CACHE)/wheels -r tools/web/wheels.txt
	touch $@

# The contract tests inside Pyodide under Node, on the js backend, against the pure wheel
# and the sample wheels of `make dist` installed with micropip (tools/web/pyodide_suite.mjs).
# The test modules that are about the contract rather than CPython's own machinery (the
# two call paths, processes, signals, venvs, the file cache): tests in them that need what
# Pyodide lacks are marked needs(...) and deselected there, counted in the summary. Then
# mmh3's own suite against mmh3-wasm, inside Pyodide too.
PYODIDE_TESTS ?= $(addprefix tests/,test_js_backend.py test_guests.py test_types.py \
	test_rich_types.py test_rich_roundtrip.py test_rich_host.py test_abi.py test_manifest.py \
	test_load.py test_module.py test_finder.py test_host.py test_limits.py test_samples.py \
	test_fuzz.py test_wasi.py test_components.py test_resources.py test_arguments.py test_tracebacks.py)
test-pyodide: dist web-deps
	WEB_CACHE=$(WEB_CACHE) node tools/web/pyodide_suite.mjs -q $(PYODIDE_TESTS)
	WEB_CACHE=$(WEB_CACHE) $(PY) tools/mmh3_suite.py --pyodide

# The browser: Debian's chromium (installed by tools/web/ensure-chromium.sh when
# /usr/bin/chromium is missing) driven by npm playwright-core.  tools/web/serve.py serves, on
# a free port of 127.0.0.1, Pyodide (WEB_CACHE), the wheels of `make dist`, micropip's wheel,
# the 9 MiB module and the test page tools/web/page/; the page (steps.mjs, check.py)
# micropip-installs the wheels offline, checks the samples' results and imports the 9 MiB
# module (above Chromium's 8 MiB limit for a synchronous compile on the main thread), then
# does the same in a Web Worker and types into the demo page (examples/web/); and
# tools/web/chromium_test.mjs judges what it left in window.results, printing what the
# page's Python printed on a failure.  `--node` runs the same steps in Pyodide under Node.
chromium:
	tools/web/ensure-chromium.sh

# The 9 MiB module, generated (tools/web/bigmodule.py: code, not data) into build/web/big.
web-big: build/web/big/big.wasm
build/web/big/big.wasm: tools/web/bigmodule.py | setup
	$(PY) tools/web/bigmodule.py build/web/big

test-chromium: dist web-deps web-big chromium
	WEB_CACHE=$(WEB_CACHE) PYTHON=$(PY) node tools/web/chromium_test.mjs
	WEB_CACHE=$(WEB_CACHE) PYTHON=$(PY) node tools/web/chromium_test.mjs --node

# The per-call cost on the js backend against a no-op JS call (benchmarks/bench_web.py), in
# Pyodide under Node, then on the main thread of a page in headless Chromium
# (tools/web/bench_page.mjs, the test's server and browser driving: tools/web/browser.mjs).
bench-web: dist web-deps chromium
	WEB_CACHE=$(WEB_CACHE) PYTHON=$(PY) $(PY) benchmarks/bench_web.py --both

# A sample package in the browser: examples/web/ served by tools/web/serve.py (the test's
# server) on 127.0.0.1 until Ctrl-C, on a free port (or DEMO_PORT); it prints the URL to open.
DEMO_PORT ?= 0
demo-web: dist web-deps
	$(PY) tools/web/serve.py --cache $(WEB_CACHE) --port $(DEMO_PORT) --page /demo/

lint: setup
	$(PY) -m mypy
	$(PY) -m ruff check wasmimport tests benchmarks examples sample_pkgs tools

# Benchmarks run against a normal (non-editable) install, as users have it.
bench: setup toolchain wasm real-modules
	rm -rf .bench-venv
	$(PYTHON) -m venv .bench-venv
	.bench-venv/bin/python -m pip install -q ".[debug]" ./sample_pkgs/mmh3-wasm ./sample_pkgs/brotli-wasm
	.bench-venv/bin/python benchmarks/bench_call.py
	.bench-venv/bin/python benchmarks/bench_mmh3.py
	.bench-venv/bin/python benchmarks/bench_brotli.py
	.bench-venv/bin/python benchmarks/bench_resources.py
	.bench-venv/bin/python benchmarks/bench_components.py
	$(PY) benchmarks/bench_import.py --python .bench-venv/bin/python
	.bench-venv/bin/python benchmarks/bench_limits.py
	.bench-venv/bin/python benchmarks/bench_traps.py
	.bench-venv/bin/python benchmarks/bench_tracebacks.py
	rm -rf .bench-venv-3.10
	$(call pyenv_python,3.10) -m venv .bench-venv-3.10
	.bench-venv-3.10/bin/python -m pip install -q '.[wasmer]'
	.bench-venv-3.10/bin/python benchmarks/bench_call.py
	$(PY) benchmarks/bench_import.py --python .bench-venv-3.10/bin/python --backend wasmer
	$(if $(SID_PYTHONS),$(MAKE) bench-sid)

# bench_call and bench_import on each of SID_PYTHONS, in the sid root, against a normal
# install there (their native references are built there, for that interpreter).
bench-sid: sid-root
	tools/sid.sh $(SID_ROOT) sync .
	for v in $(SID_PYTHONS); do \
	  tools/sid.sh $(SID_ROOT) run sh -ec "rm -rf /opt/wasmimport-bench-$$v; \
	    python$$v -m venv /opt/wasmimport-bench-$$v; \
	    /opt/wasmimport-bench-$$v/bin/python -m pip install -q .; \
	    /opt/wasmimport-bench-$$v/bin/python benchmarks/bench_call.py; \
	    /opt/wasmimport-bench-$$v/bin/python benchmarks/bench_import.py \
	      --python /opt/wasmimport-bench-$$v/bin/python" || exit 1; done

clean:
	$(MAKE) -C tests/guests clean
	for s in $(WASM_PKGS) brotli-wasm; do $(MAKE) -C sample_pkgs/$$s clean; done
	rm -rf build dist *.egg-info .bench-venv .bench-venv-3.10 .venv-mmh3 .venv-brotli .venv-extra-* \
	  $(foreach v,$(OTHER_PYTHONS),.venv-$(v))
