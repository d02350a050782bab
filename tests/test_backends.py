"""Choosing a backend, what happens when it is missing, and one behaviour for both.

The rest of the suite runs once per backend (`make test`); this file puts both backends in
one process where both are installed (CPython 3.10), and checks the error everywhere else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_call_paths import assert_same_outcomes

import wasmimport
from conftest import ROOT, guest_path
from wasmimport._cache import SUFFIX
from wasmimport.backends import get_backend

ENGINES = ("wasmtime", "wasmer")


def available(name: str) -> bool:
    try:
        get_backend(name)
    except ImportError:
        return False
    return True


def test_wasmtime_is_available_everywhere_and_wasmer_up_to_3_10() -> None:
    assert available("wasmtime")
    # make test installs the wasmer extra in the 3.10 environment, where it has wheels
    assert available("wasmer") == (sys.version_info[:2] <= (3, 10))


def test_an_unknown_backend_is_an_import_error_naming_the_known_ones() -> None:
    with pytest.raises(wasmimport.WasmImportError,
                       match=r"unknown wasmimport backend 'wasmer3' \(available: wasmtime, "
                             r"wasmer, js\)"):
        wasmimport.load(guest_path("edges"), backend="wasmer3")


def test_the_js_backend_elsewhere_than_pyodide_says_where_it_runs() -> None:
    if sys.platform == "emscripten":
        assert wasmimport.load(guest_path("edges"), backend="js").echo_i32(-7) == -7
        return
    with pytest.raises(wasmimport.WasmImportError, match=r"the js backend is not available "
                       r".*run under Pyodide"):
        wasmimport.load(guest_path("edges"), backend="js")


def test_a_missing_engine_is_an_import_error_saying_what_to_do(tmp_path: Path) -> None:
    # wasmer made unimportable, as on a Python it has no wheels for, or not installed
    code = textwrap.dedent("""
        import sys
        sys.modules["wasmer"] = None
        import wasmimport
        try:
            wasmimport.load(sys.argv[1], backend="wasmer")
        except ImportError as exc:
            print(type(exc).__name__, exc)
    """)
    out = subprocess.run([sys.executable, "-c", code, str(guest_path("edges"))],
                         capture_output=True, text=True, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(ROOT))).stdout
    assert out.startswith("WasmImportError the wasmer backend is not available (")
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if sys.version_info[:2] > (3, 10):
        assert (f"its engine publishes wheels only for Python 3.10 and older, and this is "
                f"Python {version}: run under Python 3.10 (then pip install "
                "'wasmimport[wasmer]'), or use the wasmtime backend") in out
    else:
        assert out.rstrip().endswith("install it: pip install 'wasmimport[wasmer]'")


@pytest.fixture
def engines() -> Iterator[list[str]]:
    """The backends installed here (wasmtime always; wasmer on CPython 3.10)."""
    yield [name for name in ENGINES if available(name)]


def test_load_install_and_the_environment_choose_the_backend(
        engines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(guest_path("edges"), tmp_path / "chosen.wasm")
    shutil.copy(guest_path("edges").with_suffix(".wasm.toml"), tmp_path / "chosen.wasm.toml")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in engines:
        assert wasmimport.load(guest_path("edges"), backend=name).__wasmimport__.backend == name
        monkeypatch.setenv("WASMIMPORT_BACKEND", name)
        assert wasmimport.load(guest_path("edges")).__wasmimport__.backend == name
        monkeypatch.delenv("WASMIMPORT_BACKEND")
        wasmimport.install(backend=name)
        try:
            import chosen  # type: ignore[import-not-found]
            assert chosen.__wasmimport__.backend == name and chosen.echo_i32(-3) == -3
        finally:
            sys.modules.pop("chosen", None)
            wasmimport.uninstall()


def test_each_backend_caches_its_own_compiled_code(engines: list[str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMIMPORT_CACHE_DIR", str(tmp_path))
    content = b"\x01t" + os.urandom(8)      # a custom section: code this process never saw
    wasm = guest_path("edges").read_bytes() + b"\x00" + bytes([len(content)]) + content
    manifest = guest_path("edges").with_suffix(".wasm.toml")
    for name in engines:
        wasmimport.load(wasm, name="edges", manifest=manifest, backend=name)
    entries = sorted(p.name.partition("-")[2] for p in tmp_path.rglob(f"*{SUFFIX}"))
    assert entries == sorted(f"{name}{SUFFIX}" for name in engines)
    for name in engines:       # a second load of each comes from its own entry
        mod = wasmimport.load(wasm, name="edges", manifest=manifest, backend=name)
        assert mod.echo_i32(7) == 7
    assert len(list(tmp_path.rglob(f"*{SUFFIX}"))) == len(engines)


def test_both_backends_give_the_same_outcome_for_every_call(engines: list[str]) -> None:
    """Every value, conversion error and trap (message, kind and backtrace) is the same
    whichever engine runs the code."""
    if len(engines) < 2:
        assert sys.version_info[:2] > (3, 10)     # wasmer has no wheels here
        return
    first, second = (wasmimport.load(guest_path("edges"), name="edges", backend=name)
                     for name in engines)
    assert_same_outcomes(first, second)
