"""[limits] (memory, timeout, fuel) and Ctrl-C during a wasm call.

Ctrl-C is tested the only honest way: a real child process, a real SIGINT, on both call
paths and with the GIL held or released during the call.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from conftest import guest_path

FUNCTIONS = {
    "forever": "() -> None",
    "forever_nogil": {"export": "forever", "signature": "() -> None", "release_gil": True},
    "spin": "(n: u32) -> u32",
    "echo_i32": "(x: i32) -> i32",
    "stack_probe": "() -> u32",
    "trap_with_frame": "() -> None",
    "mem_pages": "() -> u32",
    "grow": "(pages: u32) -> i32",
    "echo_str": "(s: str) -> str",
}
STACK_PROBE = 523776        # what edges.stack_probe() returns while its C stack is intact


def edges_with(**limits: Any) -> types.ModuleType:
    return wasmimport.load(guest_path("edges"), manifest={"limits": limits,
                                                          "functions": FUNCTIONS})


def test_a_runaway_call_stops_at_its_time_limit_and_the_module_stays_usable() -> None:
    mod = edges_with(timeout="30ms")
    for _ in range(10):     # the C stack is restored after each: no leak, no drift
        with pytest.raises(wasmimport.LimitExceeded) as info:
            mod.forever()
        assert info.value.kind == "timeout"
        assert isinstance(info.value, wasmimport.Trap)
        assert str(info.value) == ("edges.forever(): the call ran past its time limit "
                                   "([limits] timeout = 0.03 s)")
        assert mod.echo_i32(7) == 7
        assert mod.stack_probe() == STACK_PROBE
    # the limit is per call, not per module: many short calls add up to more than it
    assert [mod.spin(100_000) for _ in range(50)] == [mod.spin(100_000)] * 50


def test_time_limit_applies_with_the_gil_released() -> None:
    mod = edges_with(timeout="30ms")
    with pytest.raises(wasmimport.LimitExceeded, match="time limit"):
        mod.forever_nogil()
    assert mod.echo_str("still here") == "still here"


def test_fuel_is_a_per_call_budget() -> None:
    mod = edges_with(fuel=2_000_000)
    with pytest.raises(wasmimport.LimitExceeded) as info:
        mod.spin(10**9)
    assert info.value.kind == "out_of_fuel"
    assert "used up its fuel ([limits] fuel = 2000000)" in str(info.value)
    assert info.value.frames       # where the guest was when its fuel ran out
    # each call gets the whole budget again: these ten together use far more than it
    expected = edges_with().spin(100_000)
    assert [mod.spin(100_000) for _ in range(10)] == [expected] * 10
    assert mod.stack_probe() == STACK_PROBE


def test_fuel_and_time_limit_together() -> None:
    mod = edges_with(fuel=10**15, timeout="30ms")
    with pytest.raises(wasmimport.LimitExceeded) as info:
        mod.forever()
    assert info.value.kind == "timeout"
    mod = edges_with(fuel=10_000, timeout="10s")
    with pytest.raises(wasmimport.LimitExceeded) as info:
        mod.forever()
    assert info.value.kind == "out_of_fuel"


def test_memory_cap_fails_memory_grow_inside_the_guest() -> None:
    mod = edges_with(memory="1MiB")               # 16 pages
    pages = mod.mem_pages()
    assert mod.grow(1000) == -1                   # memory.grow returns -1, as in the guest
    assert mod.mem_pages() == pages
    assert mod.grow(16 - pages) == pages          # up to the cap is fine
    assert mod.grow(1) == -1
    assert mod.echo_str("x" * 100) == "x" * 100   # the allocator copes with a full memory


def test_memory_cap_below_the_initial_memory_fails_the_import() -> None:
    with pytest.raises(wasmimport.WasmImportError, match=r"edges\.wasm: instantiation failed"):
        edges_with(memory="64KiB")


def test_limits_without_the_compiled_extension_are_refused(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from wasmimport import _backend_wasmtime
    monkeypatch.setattr(_backend_wasmtime, "speedups", lambda: None)
    for setting in ({"timeout": "1s"}, {"fuel": 1000}):
        name = next(iter(setting))
        with pytest.raises(wasmimport.WasmImportError,
                           match=rf"\[limits\] {name} needs wasmimport's compiled extension"):
            edges_with(**setting)


# ---- Ctrl-C ------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import signal, sys, time, wasmimport
    functions = {"forever": "() -> None", "spin": "(n: u32) -> u32",
                 "forever_nogil": {"export": "forever", "signature": "() -> None",
                                   "release_gil": True},
                 "echo_i32": "(x: i32) -> i32", "stack_probe": "() -> u32"}
    mod = wasmimport.load(sys.argv[1], manifest={"functions": functions})
    run = getattr(mod, sys.argv[2])
    # a SIGINT handled while no wasm code runs must not stop the next call
    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
        pass
    print(mod.spin(1000), flush=True)
    print("ready", flush=True)
    try:
        run()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    print(mod.echo_i32(7), mod.stack_probe(), flush=True)
""")


@pytest.mark.parametrize("function", ["forever", "forever_nogil"])
@pytest.mark.parametrize("path", ["compiled", "pure"])
def test_ctrl_c_interrupts_a_long_call(tmp_path: Path, function: str, path: str) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "WASMIMPORT_PURE": "1" if path == "pure" else "0"}
    child = subprocess.Popen([sys.executable, str(script), str(guest_path("edges")), function],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    try:
        spun = child.stdout.readline()
        assert child.stdout.readline() == "ready\n"
        time.sleep(0.3)                       # well inside the endless call
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert spun.strip().isdigit()
    assert out == f"interrupted\n7 {STACK_PROBE}\n", err
    assert child.returncode == 0, err
