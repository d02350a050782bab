"""What only the js backend does (Pyodide: the JavaScript engine's WebAssembly).

The rest of the suite runs inside Pyodide too (tools/web/pyodide_suite.mjs, `make
test-pyodide`); these tests check what differs there.  On CPython they check that the js
backend refuses to load, saying where it runs.
"""

from __future__ import annotations

import sys
import types

import pytest

import wasmimport
from conftest import guest_path
from wasmimport.backends import get_backend

if sys.platform != "emscripten":
    def test_the_js_backend_exists_only_on_pyodide() -> None:
        with pytest.raises(wasmimport.WasmImportError, match=r"the js backend is not "
                           r"available \(No module named 'js'\).*Pyodide"):
            get_backend("js")
else:
    import js  # type: ignore[import-not-found]

    @pytest.fixture(scope="module")
    def edges() -> types.ModuleType:
        return wasmimport.load(guest_path("edges"))

    def test_js_is_the_default_backend_on_emscripten() -> None:
        backend = get_backend()
        assert backend.name == "js"
        assert backend.version.startswith("node-v") or "Chrome" in backend.version
        assert backend.file_cache is False

    def test_the_memory_attribute_is_the_live_uint8array(edges: types.ModuleType) -> None:
        view = edges.memory
        assert view.constructor.name == "Uint8Array"
        before = int(view.length)
        assert before == edges.__wasmimport__.instance.memory("memory").size()
        edges.__wasmimport__.instance.memory("memory").write(16, b"\x07")
        assert view[16] == 7                        # the guest's bytes, not a copy

    def test_a_module_compiles_once_per_process(edges: types.ModuleType,
                                                compiles: list[int]) -> None:
        first = wasmimport.load(guest_path("plain"), name="plain_once")
        second = wasmimport.load(guest_path("plain"), name="plain_twice")
        assert first.add(1, 2) == second.add(1, 2) == 3
        assert len(compiles) <= 1                   # the second took the compiled module

    def test_calls_cross_into_js_with_no_python_wrapper_in_between(
            edges: types.ModuleType) -> None:
        # scalars call the JS glue directly from the generated function: its globals hold
        # the glue (a JsProxy), not a Python closure
        raw = edges.echo_i32.__globals__["_raw"]
        assert type(raw).__name__.startswith("JsProxy") or "pyodide" in type(raw).__module__
        assert edges.echo_i32(-5) == -5

    def test_float_results_keep_their_type_and_sign(edges: types.ModuleType) -> None:
        for value in (0.0, -0.0, 3.0, -7.0, 1e300, float("inf")):
            got = edges.echo_f64(value)
            assert type(got) is float and str(got) == str(value)
        assert str(edges.echo_f32(-0.0)) == "-0.0"

    def test_i64_values_are_plain_ints(edges: types.ModuleType) -> None:
        for value in (0, 2**53 + 1, -2**63, 2**63 - 1):
            got = edges.echo_i64(value)
            assert got == value and type(got) is int

    def test_a_str_round_trip_ascii_and_not(edges: types.ModuleType) -> None:
        for text in ("", "plain ascii", "héllo wörld", "😀" * 100, "a\x00b"):
            assert edges.echo_str(text) == text
        with pytest.raises(UnicodeEncodeError, match=r"edges\.echo_str\(\) argument"):
            edges.echo_str("\ud800")

    def test_engine_features_are_probed(edges: types.ModuleType) -> None:
        backend = get_backend()
        has_exnref = bool(js.WebAssembly.validate(js.Uint8Array.new(
            [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 1, 105, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0,
             11])))
        assert ("exceptions" in backend.limitations) == (not has_exnref)
