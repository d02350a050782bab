"""The C test guests without a sidecar: plain.c (no manifest) and embedded.c (embedded one)."""

from __future__ import annotations

import inspect
import math

import wasmimport
from conftest import guest_path, has


def test_plain_module_has_core_signatures() -> None:
    plain = wasmimport.load(guest_path("plain"))
    assert plain.__doc__ is None
    assert plain.add(2**31 - 1, 1) == -(2**31)            # C wraps, core i32 is signed
    assert plain.mul64(2**62, 4) == 0
    assert plain.fdiv(1.0, 0.0) == math.inf and math.isnan(plain.fdiv(0.0, 0.0))
    assert math.copysign(1.0, plain.fneg32(0.0)) == -1.0
    assert getattr(plain, "ruby-init: func")() == 42
    assert getattr(plain, "class")() == 7
    assert plain.__all__ == ["add", "mul64", "fdiv", "fneg32"]
    assert str(inspect.signature(plain.mul64)) == "(p0: int, p1: int) -> int"
    if has("memory-view"):
        assert memoryview(plain.memory).nbytes > 0
    else:                      # the js backend: the live Uint8Array of the guest's memory
        assert plain.memory.length > 0 and plain.memory.constructor.name == "Uint8Array"


def test_embedded_manifest_module() -> None:
    embedded = wasmimport.load(guest_path("embedded"))
    assert embedded.__doc__ == "A module whose manifest is embedded in the wasm file."
    assert embedded.greet("wörld") == "Hello, wörld!"
    assert embedded.greet.__doc__ == "Return 'Hello, <name>!'."
    assert embedded.add(2, 3) == 5
    assert embedded.__wasmimport__.manifest.source.endswith("embedded.wasm (embedded manifest)")
    assert not guest_path("embedded").with_suffix(".wasm.toml").exists()
