"""[limits] (memory, timeout, fuel) and Ctrl-C during a wasm call.

Ctrl-C is tested the only honest way: a real child process, a real SIGINT, on both call
paths and with the GIL held or released during the call.  A backend that cannot stop or
meter a call refuses each limit by name at import, and there Ctrl-C comes as the call
returns: on it, that is what these tests check.
"""

from __future__ import annotations

import re
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from conftest import BACKEND, guest_path, has, interrupted_child, refused

FUNCTIONS = {
    "forever": "() -> None",
    "spin": "(n: u32) -> u32",
    "echo_i32": "(x: i32) -> i32",
    "stack_probe": "() -> u32",
    "trap_with_frame": "() -> None",
    "mem_pages": "() -> u32",
    "grow": "(pages: u32) -> i32",
    "echo_str": "(s: str) -> str",
}
NOGIL = {"forever_nogil": {"export": "forever", "signature": "() -> None", "release_gil": True}}
STACK_PROBE = 523776        # what edges.stack_probe() returns while its C stack is intact


pytestmark = pytest.mark.usefixtures("compiled")   # every limit needs the extension;
# test_limits_on_the_pure_fallback_are_refused and the Ctrl-C tests say what runs without it


def edges_with(functions: dict[str, Any] | None = None, /,
               **limits: Any) -> types.ModuleType:
    return wasmimport.load(guest_path("edges"), manifest={
        "limits": limits, "functions": {**FUNCTIONS, **(functions or {})}})


def refusal(setting: str, feature: str) -> str:
    """The import error for ``setting`` on a backend without ``feature``: the whole message."""
    return (rf"^{re.escape(str(guest_path('edges')))}: {re.escape(setting)} {refused(feature)}; "
            "remove it, or use the wasmtime backend$")


def limit_refusal(*names: str) -> str:
    """The import error for a manifest with these [limits], on a backend lacking one of them:
    it names the first setting it cannot honour, whichever of them that is."""
    missing = [name for name in names if not has(f"limits-{name}")]
    assert missing, f"the backend has every one of {names}"
    return "|".join(refusal(f"[limits] {name}", f"limits-{name}") for name in missing)


def test_a_runaway_call_stops_at_its_time_limit_and_the_module_stays_usable() -> None:
    if not has("limits-timeout"):
        with pytest.raises(wasmimport.WasmImportError, match=limit_refusal("timeout")):
            edges_with(timeout="30ms")
        return
    mod = edges_with(timeout="30ms")
    for _ in range(10):     # the C stack is restored after each: no leak, no drift
        with pytest.raises(wasmimport.LimitExceeded) as info:
            mod.forever()
        assert info.value.kind == "timeout"
        assert isinstance(info.value, wasmimport.Trap)
        assert str(info.value).startswith("edges.forever(): the call ran past its time limit "
                                          "([limits] timeout = 0.03 s)\nwasm backtrace:")
        assert [f.function for f in info.value.frames] == ["forever"]   # where it stopped
        assert mod.echo_i32(7) == 7
        assert mod.stack_probe() == STACK_PROBE
    # the limit is per call, not per module: many short calls add up to more than it
    assert [mod.spin(100_000) for _ in range(50)] == [mod.spin(100_000)] * 50


def test_time_limit_applies_with_the_gil_released() -> None:
    if not has("release-gil"):      # refused with a limit or without
        with pytest.raises(wasmimport.WasmImportError,
                           match=refusal("[functions.forever_nogil] release_gil = true",
                                         "release-gil")):
            edges_with(NOGIL)
        return
    if not has("limits-timeout"):
        with pytest.raises(wasmimport.WasmImportError, match=limit_refusal("timeout")):
            edges_with(NOGIL, timeout="30ms")
        return
    mod = edges_with(NOGIL, timeout="30ms")
    with pytest.raises(wasmimport.LimitExceeded, match="time limit"):
        mod.forever_nogil()
    assert mod.echo_str("still here") == "still here"


def test_fuel_is_a_per_call_budget() -> None:
    if not has("limits-fuel"):
        with pytest.raises(wasmimport.WasmImportError, match=limit_refusal("fuel")):
            edges_with(fuel=2_000_000)
        return
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
    if not (has("limits-fuel") and has("limits-timeout")):
        for limits in ({"fuel": 10**15, "timeout": "30ms"}, {"fuel": 10_000, "timeout": "10s"}):
            with pytest.raises(wasmimport.WasmImportError,
                               match=limit_refusal("timeout", "fuel")):
                edges_with(**limits)
        return
    mod = edges_with(fuel=10**15, timeout="30ms")
    with pytest.raises(wasmimport.LimitExceeded) as info:
        mod.forever()
    assert info.value.kind == "timeout"
    mod = edges_with(fuel=10_000, timeout="10s")
    with pytest.raises(wasmimport.LimitExceeded) as info:
        mod.forever()
    assert info.value.kind == "out_of_fuel"


def test_memory_cap_fails_memory_grow_inside_the_guest() -> None:
    if not has("limits-memory"):
        with pytest.raises(wasmimport.WasmImportError, match=limit_refusal("memory")):
            edges_with(memory="1MiB")
        return
    mod = edges_with(memory="1MiB")               # 16 pages
    pages = mod.mem_pages()
    assert mod.grow(1000) == -1                   # memory.grow returns -1, as in the guest
    assert mod.mem_pages() == pages
    assert mod.grow(16 - pages) == pages          # up to the cap is fine
    assert mod.grow(1) == -1
    assert mod.echo_str("x" * 100) == "x" * 100   # the allocator copes with a full memory


HOARD = {"hoard": "(bytes: u32) -> u32", "try_hoard": "(bytes: u32) -> u32",
         "release_hoard": "() -> None", "trap_unreachable": "() -> None"}


def test_a_trap_after_the_memory_cap_refused_growth_is_limit_exceeded() -> None:
    """The guest's allocator gets NULL and the guest traps on its own: the caller learns
    that the cap did it, with the trap chained, and the module stays usable."""
    if not has("limits-memory"):
        with pytest.raises(wasmimport.WasmImportError, match=limit_refusal("memory")):
            edges_with(HOARD, memory="2MiB")
        return
    mod = edges_with(HOARD, memory="2MiB")
    for _ in range(3):
        with pytest.raises(wasmimport.LimitExceeded) as info:
            mod.hoard(3 << 20)                    # 3 MiB at once: past the cap
        exc = info.value
        assert exc.kind == "memory"
        assert isinstance(exc, wasmimport.Trap)
        message = str(exc).splitlines()[0]
        assert message.startswith("edges.hoard(): the guest ran out of memory: it asked to "
                                  "grow its memory to ")
        asked = int(re.search(r"\((\d+) bytes\), past", message).group(1))  # type: ignore[union-attr]
        assert asked > 3 << 20                    # what the allocator asked memory.grow for
        assert message.endswith("past [limits] memory = 2 MiB (2097152 bytes)")
        assert isinstance(exc.__cause__, wasmimport.Trap)
        assert not isinstance(exc.__cause__, wasmimport.LimitExceeded)
        assert exc.__cause__.kind == "unreachable"        # the guest's own trap
        assert exc.frames == exc.__cause__.frames
        assert mod.echo_str("still usable") == "still usable"
    # a guest that handles NULL keeps working: memory.grow just returned -1
    assert mod.try_hoard(3 << 20) == 0
    assert mod.grow(64) == -1
    # memory up to the cap is there; only going past it fails
    pages = [mod.hoard(200_000) for _ in range(4)]
    assert pages == sorted(pages) and pages[-1] <= 32
    with pytest.raises(wasmimport.LimitExceeded, match="ran out of memory"):
        for _ in range(20):
            mod.hoard(200_000)
    mod.release_hoard()
    assert mod.hoard(200_000) <= 32               # freed memory is reused
    # the refusal belongs to the call it happened in: a later, unrelated trap is a Trap
    with pytest.raises(wasmimport.Trap) as later:
        mod.trap_unreachable()
    assert type(later.value) is wasmimport.Trap


def test_memory_cap_leaves_trap_frames_as_they_are() -> None:
    """Where the cap rewrites the module (js backend), frames still point into the module
    as given: the same functions and offsets as without a cap."""
    if not has("limits-memory"):
        return      # refused: test_memory_cap_fails_memory_grow_inside_the_guest
    with pytest.raises(wasmimport.Trap) as capped:
        edges_with(memory="4MiB").trap_with_frame()
    with pytest.raises(wasmimport.Trap) as plain:
        edges_with().trap_with_frame()
    assert capped.value.frames and capped.value.frames == plain.value.frames
    with pytest.raises(wasmimport.LimitExceeded) as info:
        edges_with(HOARD, memory="2MiB").hoard(3 << 20)
    assert [f.function for f in info.value.frames][-1:] == ["hoard"]


def test_a_trap_after_refused_growth_on_the_pure_fallback_is_the_trap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the extension wasmtime's own store limiter holds the cap; it cannot say it
    refused, so the guest's trap is reported as it is (docs/sandbox.md).  The js backend
    holds it by instrumenting the module, extension or not: there it is LimitExceeded."""
    if not has("limits-memory"):
        return      # refused at import, extension or not: test_limits_on_the_pure_fallback...
    monkeypatch.setenv("WASMIMPORT_PURE", "1")
    mod = edges_with(HOARD, memory="2MiB")
    with pytest.raises(wasmimport.Trap) as info:
        mod.hoard(3 << 20)
    if BACKEND.name == "js":
        assert info.value.kind == "memory"
        assert isinstance(info.value.__cause__, wasmimport.Trap)
        assert info.value.__cause__.kind == "unreachable"
    else:
        assert type(info.value) is wasmimport.Trap and info.value.kind == "unreachable"
    assert mod.try_hoard(3 << 20) == 0
    assert mod.echo_str("still usable") == "still usable"


def test_memory_cap_below_the_initial_memory_fails_the_import() -> None:
    failure = (r"edges\.wasm: instantiation failed: the module's memory of 131072 bytes is "
               r"larger than \[limits\] memory = 65536 bytes$" if has("limits-memory")
               else limit_refusal("memory"))      # (refused before it is tried)
    with pytest.raises(wasmimport.WasmImportError, match=failure):
        edges_with(memory="64KiB")


def test_limits_on_the_pure_fallback_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine that can stop or meter a call (wasmtime) does it through the extension; one
    that cannot refuses the limit, extension or not."""
    monkeypatch.setenv("WASMIMPORT_PURE", "1")
    for setting in ({"timeout": "1s"}, {"fuel": 1000}):
        name = next(iter(setting))
        with pytest.raises(wasmimport.WasmImportError,
                           match=rf"edges\.wasm: \[limits\] {name} needs wasmimport's compiled "
                                 r"extension \(wasmimport\._speedups\), and WASMIMPORT_PURE is "
                                 "set" if has(f"limits-{name}") else limit_refusal(name)):
            edges_with(**setting)
    if has("limits-memory"):
        edges_with(memory="1MiB")    # the engine enforces this one by itself
    else:
        with pytest.raises(wasmimport.WasmImportError, match=limit_refusal("memory")):
            edges_with(memory="1MiB")


def test_limits_without_the_extension_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmimport import _extension
    monkeypatch.setattr(_extension, "extension", lambda: None)
    with pytest.raises(wasmimport.WasmImportError,
                       match=r"\[limits\] timeout needs wasmimport's compiled extension "
                             r"\(wasmimport\._speedups\), and it is not built: reinstall "
                             "wasmimport on a machine with a C compiler"
                             if has("limits-timeout") else limit_refusal("timeout")):
        edges_with(timeout="1s")


# ---- Ctrl-C ------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import signal, sys, time, wasmimport
    functions = {"forever": "() -> None", "spin": "(n: u32) -> u32",
                 "echo_i32": "(x: i32) -> i32", "stack_probe": "() -> u32"}
    if sys.argv[2] == "forever_nogil":
        functions["forever_nogil"] = {"export": "forever", "signature": "() -> None",
                                      "release_gil": True}
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
@pytest.mark.needs("processes")
def test_ctrl_c_interrupts_a_long_call(tmp_path: Path, function: str) -> None:
    nogil = function == "forever_nogil"
    if nogil and not has("release-gil"):
        with pytest.raises(wasmimport.WasmImportError,
                           match=refusal("[functions.forever_nogil] release_gil = true",
                                         "release-gil")):
            edges_with(NOGIL)
        return
    if not has("interrupt"):     # nothing stops the call: Ctrl-C comes as it returns
        _, out = interrupted_child(tmp_path, LATE_CHILD, guest_path("edges"),
                                   "released" if nogil else "held")
        assert out == "interrupted\n1 7\n"
        return
    spun, out = interrupted_child(tmp_path, CHILD, guest_path("edges"), function)
    assert spun.strip().isdigit()
    assert out == f"interrupted\n7 {STACK_PROBE}\n"


LATE_CHILD = textwrap.dedent("""
    import sys, time, wasmimport
    racy_add = {"signature": "(x: u32, n: u32) -> u32", "release_gil": sys.argv[2] == "released"}
    limits = {"interruptible": False} if sys.argv[3:] == ["uninterruptible"] else {}
    mod = wasmimport.load(sys.argv[1], manifest={"functions": {
        "spin": "(n: u32) -> u32", "racy_add": racy_add, "echo_i32": "(x: i32) -> i32",
        "racy_total": {"export": "racy_total_get", "signature": "() -> u32"}},
        "limits": limits})
    start = time.perf_counter()
    mod.spin(10**7)
    n = int(10**7 * 3 / (time.perf_counter() - start))   # a call of about 3 s
    print(n, flush=True)
    print("ready", flush=True)
    try:
        mod.racy_add(1, n)
        time.sleep(60)                    # (should the call end before the signal comes)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    print(mod.racy_total(), mod.echo_i32(7), flush=True)
""")


@pytest.mark.needs("processes")
def test_ctrl_c_on_the_pure_fallback_comes_as_the_call_returns(tmp_path: Path) -> None:
    """Without the extension nothing can stop running wasm code: the KeyboardInterrupt comes
    as the call returns (as for a C extension that never checks for signals)."""
    # racy_add stores its result only at its very end: a total of 1 means the call ran to
    # completion before the KeyboardInterrupt was raised
    gil = "released" if has("release-gil") else "held"
    _, out = interrupted_child(tmp_path, LATE_CHILD, guest_path("edges"), gil, pure=True)
    assert out == "interrupted\n1 7\n"


@pytest.mark.needs("processes")
def test_an_uninterruptible_module_takes_ctrl_c_as_the_call_returns(tmp_path: Path) -> None:
    """``[limits] interruptible = false``: compiled without the checks that let Ctrl-C stop
    a running call (on wasmtime a check per loop iteration: a fifth of Brotli's compression
    instructions), a call runs to its end, as a C extension's does, and the
    KeyboardInterrupt comes as it returns."""
    gil = "released" if has("release-gil") else "held"
    _, out = interrupted_child(tmp_path, LATE_CHILD, guest_path("edges"), gil,
                               "uninterruptible")
    assert out == "interrupted\n1 7\n"


@pytest.mark.parametrize(("limits", "message"), [
    ({"interruptible": False, "timeout": "1s"},
     r"\[limits\] timeout needs interruptible calls: a call that cannot be interrupted cannot "
     r"be stopped at its time limit"),
    ({"interruptible": "no"}, r"\[limits\] interruptible must be true or false, not str"),
])
def test_interruptible_is_checked(limits: dict[str, object], message: str) -> None:
    with pytest.raises(wasmimport.ManifestError, match=message):
        wasmimport.load(guest_path("edges"), manifest={"limits": limits})


def test_memory_cap_with_wasi() -> None:
    """A WASI module under a cap: WASI calls work (on the js backend they reach the rewritten
    module's memory and exports), and growth past the cap still fails inside the guest."""
    functions = {"say": "(s: str) -> None", "env": "(name: str) -> str"}
    manifest = {"functions": functions, "limits": {"memory": "4MiB"},
                "wasi": {"stdout": "capture", "env": {"GREETING": "hello"}}}
    if not has("limits-memory"):
        with pytest.raises(wasmimport.WasmImportError,
                           match=r"\[limits\] memory " + refused("limits-memory")):
            wasmimport.load(guest_path("wasi_reactor"), manifest=manifest)
        return
    mod = wasmimport.load(guest_path("wasi_reactor"), manifest=manifest)
    mod.say("capped")
    assert mod.env("GREETING") == "hello"
    assert b"capped" in mod.__wasmimport__.stdout
    with pytest.raises(wasmimport.WasmImportError, match="larger than"):
        wasmimport.load(guest_path("wasi_reactor"), manifest={
            "functions": functions, "limits": {"memory": "64KiB"}, "wasi": {}})
