"""Shared fixtures: the built test guests, a clean import hook, throwaway sys.path dirs, and
the backend this run tests.

`make test` runs the whole suite once per backend (``WASMIMPORT_BACKEND``).  A test of
something an engine cannot do asserts, on a backend without it, the clear refusal the user
gets instead: ``has(feature)`` picks the expectation, ``refused(feature)`` matches the error.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from wasmimport import _cache, _module
from wasmimport.backends import FEATURES, Backend, get_backend

ROOT = Path(__file__).resolve().parent.parent
GUESTS = ROOT / "tests" / "guests"


def pytest_configure(config: pytest.Config) -> None:
    """One private compile cache for the whole run (subprocesses inherit it)."""
    if "WASMIMPORT_CACHE_DIR" not in os.environ:
        os.environ["WASMIMPORT_CACHE_DIR"] = tempfile.mkdtemp(prefix="wasmimport-test-cache-")
    config.addinivalue_line("markers", "needs(what): the test needs what Pyodide has not "
                            f"(one of {', '.join(PLATFORM_NEEDS)}); run on CPython only")


# What some tests need of the platform itself, which Pyodide (emscripten) lacks: there
# they are deselected, counted in the summary (tools/web/pyodide_suite.mjs runs the suite)
PLATFORM_NEEDS = {
    "processes": "emscripten has no processes (subprocess, multiprocessing)",
    "threads": "Pyodide cannot start threads",
    "numpy": "numpy has no Pyodide wheel on PyPI (Pyodide's own comes from its CDN)",
    "memory-view": "guest memory is a JS ArrayBuffer: no memoryview of it (the js backend's "
                   "Uint8Array attribute is tested in test_js_backend.py)",
    "file-cache": "the js backend has no compile cache on disk (a page has no files to "
                  "keep; compiled modules are kept per process)",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.platform != "emscripten":
        return
    kept, deselected = [], []
    for item in items:
        needs = {m.args[0] for m in item.iter_markers("needs")}
        assert needs <= set(PLATFORM_NEEDS), needs
        (deselected if needs else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_terminal_summary(terminalreporter: Any) -> None:
    deselected = terminalreporter.stats.get("deselected", [])
    if sys.platform == "emscripten" and deselected:
        counts: dict[str, int] = {}
        for item in deselected:
            for m in item.iter_markers("needs"):
                counts[m.args[0]] = counts.get(m.args[0], 0) + 1
        terminalreporter.write_line("deselected in Pyodide (run on CPython): " + ", ".join(
            f"{n} need {what} ({PLATFORM_NEEDS[what]})" for what, n in sorted(counts.items())))


def guest_path(name: str) -> Path:
    """A test guest built from tests/guests/NAME.c by `make wasm`; fails loudly if missing."""
    path = GUESTS / f"{name}.wasm"
    if not path.exists():
        pytest.fail(f"{path} is not built: run `make wasm` (the test suite needs it)")
    return path


def sample_package(monkeypatch: pytest.MonkeyPatch, name: str, package: str, module: str,
                   make: str) -> Iterator[types.ModuleType]:
    """The sample package sample_pkgs/NAME imported from its source folder (its wasm
    ``module`` built by ``make``), for one test: ``package`` and its module leave
    sys.modules afterwards.  A fixture's body: ``yield from sample_package(...)``."""
    source = ROOT / "sample_pkgs" / name / "src"
    if not (source / package / module).exists():
        pytest.fail(f"sample_pkgs/{name} is not built: run `{make}`")
    monkeypatch.syspath_prepend(str(source))
    names = (package, f"{package}.{Path(module).stem}")
    for each in names:
        monkeypatch.delitem(sys.modules, each, raising=False)
    imported = importlib.import_module(package)
    assert Path(imported.__file__ or "").parent == source / package
    yield imported
    for each in names:
        sys.modules.pop(each, None)


BACKEND: Backend = get_backend()   # this run's engine ($WASMIMPORT_BACKEND, or wasmtime)


def has(feature: str) -> bool:
    """Whether this run's backend offers ``feature`` (one of wasmimport.backends.FEATURES)."""
    assert feature in FEATURES, feature
    return feature in get_backend().features


def refused(feature: str) -> str:
    """A regex matching the error a backend without ``feature`` gives for a setting needing
    it (raised at import, as WasmImportError)."""
    backend = get_backend()
    assert not has(feature), f"{backend.name} has {feature}"
    return (rf"is not supported by the {backend.name} backend \("
            rf"{re.escape(backend.limitations[feature])}\)")


def mypy_strict(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """mypy --strict in a folder of its own (no project configuration applies)."""
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           *args], capture_output=True, text=True, cwd=cwd)


def interrupted_child(tmp_path: Path, source: str, wasm: Path, *args: str,
                      pure: bool = False) -> tuple[str, str]:
    """Start ``source`` with ``wasm`` and ``args``; once it prints "ready", wait 0.3 s (well
    inside the long call it then makes) and send it a real SIGINT.  Its first line and all
    the rest; it must exit with status 0."""
    import signal
    import time

    script = tmp_path / "child.py"
    script.write_text(source)
    env = {**os.environ, "WASMIMPORT_PURE": "1" if pure else "0"}
    child = subprocess.Popen([sys.executable, str(script), str(wasm), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    try:
        first = child.stdout.readline()
        assert child.stdout.readline() == "ready\n"
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, err
    return first, out


def backend_env() -> dict[str, str]:
    """The environment variable choosing this run's backend, for a child's clean env."""
    chosen = os.environ.get("WASMIMPORT_BACKEND")
    return {"WASMIMPORT_BACKEND": chosen} if chosen else {}


def edges_nogil(**extra: str) -> types.ModuleType:
    """edges with its functions that release the GIL (tests/guests/edges_nogil.toml) as well
    as those of its sidecar manifest; ``extra`` appends more TOML (such as "[limits] ...")."""
    path = guest_path("edges")
    manifest = "\n".join([path.with_suffix(".wasm.toml").read_text(),
                          (GUESTS / "edges_nogil.toml").read_text(), *extra.values()])
    return wasmimport.load(path, name="edges", manifest=manifest)


def load_on_path(guest: str, path: str, /, **load_args: Any) -> types.ModuleType:
    """The test guest ``guest`` (tests/guests/GUEST.wasm) on the ``"compiled"`` or ``"pure"``
    call path.

    WASMIMPORT_PURE is read at each load, so both paths can live in one process;
    ``load_args`` go to wasmimport.load (``name=``, ``manifest=``...).
    """
    assert path in ("compiled", "pure"), path
    saved = os.environ.get("WASMIMPORT_PURE")
    os.environ["WASMIMPORT_PURE"] = "1" if path == "pure" else "0"
    try:
        return wasmimport.load(guest_path(guest), **load_args)
    finally:
        if saved is None:
            del os.environ["WASMIMPORT_PURE"]
        else:
            os.environ["WASMIMPORT_PURE"] = saved


def tagged_wat(tag: int) -> str:
    """A tiny module whose `which()` returns `tag`, to tell which file an import found."""
    return f"""(module
      (memory (export "memory") 1)
      (global $counter (mut i32) (i32.const 0))
      (func (export "which") (result i32) i32.const {tag})
      (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
      (func (export "bump") (result i32)
        global.get $counter i32.const 1 i32.add global.set $counter global.get $counter))"""


def wat_binary(text: str) -> bytes:
    """The binary of a text module: wasmtime's parser, or in Pyodide (no wasmtime there)
    wabt's, which tools/web/pyodide_suite.mjs provides."""
    if sys.platform == "emscripten":
        import js  # type: ignore[import-not-found]
        return bytes(js.wasmimportTestWat2wasm(text).to_bytes())
    import wasmtime
    return bytes(wasmtime.wat2wasm(text))


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the test with the compiled extension, whichever call path the suite runs on.

    For what only the extension provides (host functions, time and fuel limits, stopping a
    running call on Ctrl-C); fails loudly when the extension was not built.
    """
    if sys.platform == "emscripten":
        return           # the js backend does these itself, with no extension to build
    try:
        import wasmimport._speedups  # noqa: F401
    except ImportError:
        pytest.fail("wasmimport._speedups is not built: `pip install -e .` needs a C compiler")
    monkeypatch.setenv("WASMIMPORT_PURE", "0")


@pytest.fixture
def hook() -> Iterator[None]:
    """The import hook installed for one test; modules it imported are forgotten after
    (except wasmimport's own, which it imports on first use: they are part of the process)."""
    before = set(sys.modules)
    wasmimport.install()
    yield
    wasmimport.uninstall()
    for name in set(sys.modules) - before:
        if name.partition(".")[0] != "wasmimport":
            del sys.modules[name]


@pytest.fixture
def syspath(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory at the front of sys.path."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache dir of our own, and nothing remembered in this process."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("WASMIMPORT_CACHE_DIR", str(directory))
    monkeypatch.delenv("WASMIMPORT_CACHE", raising=False)
    monkeypatch.setattr(_module, "_COMPILED", {})
    monkeypatch.setattr(_cache, "_warned", set())
    yield directory


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts real compilations (cache misses) in this process."""
    backend = get_backend()
    calls: list[int] = []
    real = type(backend).compile

    def counting(self, wasm):  # type: ignore[no-untyped-def]
        calls.append(len(wasm))
        return real(self, wasm)
    monkeypatch.setattr(type(backend), "compile", counting)
    return calls


def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget compiled code held in this process, as a new process would."""
    monkeypatch.setattr(_module, "_COMPILED", {})
