"""The compiled call path (wasmimport._speedups) and the pure one behave the same.

`make test` runs the whole suite twice, once per path (WASMIMPORT_PURE=1 the second time);
this file also loads the edges guest on both paths in one process and compares every
outcome, value or exception, of a few hundred calls at the edges of each type.
"""

from __future__ import annotations

import array
import copy
import os
import pickle
import shutil
import sys
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from conftest import edges_nogil, guest_path, has, refused

if sys.platform == "emscripten":
    np: Any = None      # no numpy wheel for Pyodide on PyPI: its tests are marked needs("numpy")
else:
    import numpy as np

PURE_REQUESTED = os.environ.get("WASMIMPORT_PURE", "0") not in ("", "0")


def load_edges(path: str) -> types.ModuleType:
    """The edges guest on the ``compiled`` or ``pure`` call path."""
    saved = os.environ.get("WASMIMPORT_PURE")
    os.environ["WASMIMPORT_PURE"] = "1" if path == "pure" else "0"
    try:
        return wasmimport.load(guest_path("edges"), name="edges")
    finally:
        if saved is None:
            del os.environ["WASMIMPORT_PURE"]
        else:
            os.environ["WASMIMPORT_PURE"] = saved


@pytest.fixture(params=["compiled", "pure"])
def edges(request: pytest.FixtureRequest) -> types.ModuleType:
    return load_edges(request.param)


def test_the_requested_call_path_is_the_one_in_use() -> None:
    mod = wasmimport.load(guest_path("edges"))
    if PURE_REQUESTED or not has("compiled-calls"):
        assert type(mod.echo_i32) is types.FunctionType
    else:
        # fails (ImportError) when the extension was not built: `pip install -e .` needs gcc
        from wasmimport import _speedups
        assert type(mod.echo_i32) is _speedups.Function
        assert type(mod.echo_str) is _speedups.Function


def test_pure_request_is_read_at_each_load() -> None:
    from wasmimport import _speedups
    compiled = _speedups.Function if has("compiled-calls") else types.FunctionType
    assert type(load_edges("compiled").echo_i32) is compiled
    assert type(load_edges("pure").echo_i32) is types.FunctionType


class Boom:
    """An argument whose conversion raises its own error."""

    def __bool__(self) -> bool:
        raise ZeroDivisionError("no truth here")

    def __index__(self) -> int:
        raise ZeroDivisionError("no index here")


def calls() -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """(function, args, kwargs) at the edges of every tier-1 type, good and bad."""
    for name, bits, signed in [("i8", 8, True), ("i16", 16, True), ("i32", 32, True),
                               ("i64", 64, True), ("u8", 8, False), ("u16", 16, False),
                               ("u32", 32, False), ("u64", 64, False)]:
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        for value in (lo - 1, lo, lo + 1, -1, 0, 1, 2**30, -2**30, 2**31, hi, hi + 1, 2**70,
                      True, np.int64(7), np.uint8(200), 3.0, "3", None, Boom()):
            yield f"echo_{name}", (value,), {}
    for name in ("f32", "f64"):
        for value in (0.0, -0.0, 1.5, 3.4028235e38, 3.4028236e38, 1e39, -1e39, 1e308,
                      float("inf"), float("nan"), 2**53 + 1, 10**39, 10**400, True,
                      Decimal("2.5"), Fraction(1, 3), np.float32(1.25), "1.0", b"1", None):
            yield f"echo_{name}", (value,), {}
    for value in (0, 1, 2, [], [0], "", Boom(), None):
        yield "echo_bool", (value,), {}
    for value in ("", "héllo wörld", "😀" * 40, "\ud800", "a\x00b", b"bytes", 5, None):
        yield "echo_str", (value,), {}
        yield "str_len", (value,), {}
    for value in (b"", b"\x00\xff", bytearray(b"ab"), memoryview(b"xyz"),
                  array.array("i", [1, -1]), np.arange(6, dtype=np.int16),
                  np.arange(6, dtype=np.int16)[::2], "str", 5, [1, 2], None):
        yield "echo_bytes", (value,), {}
    for elem, values in [("i8", [-128, 127]), ("i16", [-32768, 32767]), ("u16", [65535]),
                         ("i32", [2**31 - 1]), ("u32", [2**32 - 1]), ("i64", [-2**63]),
                         ("u64", [2**64 - 1]), ("f32", [1.5, -0.0]), ("f64", [1e308])]:
        for value in (values, tuple(values), [], iter(values), [*values, "x"],
                      [*values, 2**64], [*values, 1e39], [True, 1], [1.5], "str", 7,
                      array.array("h", [1, 2]), array.array("d", [1.0]),
                      np.array([1, 2], dtype=np.uint16), np.array([3, 4], dtype=np.int64),
                      np.array([1.0], dtype=np.float32), range(3)):
            yield f"echo_list_{elem}", (value,), {}
    yield "echo_i32", (), {"x": 5}
    yield "echo_i32", (5,), {"x": 5}
    yield "echo_i32", (), {}
    yield "echo_i32", (1, 2), {}
    yield "echo_i32", (), {"y": 1}
    yield "sum17", tuple(range(17)), {}
    yield "sum17", tuple(range(16)), {"a17": 100}
    yield "sum17", tuple(range(16)), {}
    yield "sum17", (*range(16), "x"), {}
    yield "spill_mix", (-5, "héllo", 2**64 - 1, 1.5, b"\x00\x01", [1, 65535], True, -2.25,
                        -300, "", 2**32 - 1, -2**63, 255), {}
    yield "spill_mix", (1, "s", 1, 1.0, b"", [], False, 0.0, 1, "t", 1, 1, 256), {}
    yield "bad_str", (), {}
    yield "bad_utf8", (), {}
    yield "trap_unreachable", (), {}
    yield "grow_and_echo", ("in the new page",), {}
    yield "counter", (), {}


class Offsets(tuple):  # type: ignore[type-arg]
    """A trap's backtrace offsets, equal to another's within 2 bytes: Cranelift (under both
    wasmtime and wasmer) attributes a trap near a function's start to the instruction or to
    a byte or two before it, and has been seen to differ between two compiles of one file."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, tuple) and len(self) == len(other) and \
            all(abs(a - b) <= 2 for a, b in zip(self, other))

    __hash__ = tuple.__hash__


def outcome(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What a call did: its result, or its exception's type, message and trap kind, and for
    a trap its backtrace (function, index and offset of each frame)."""
    try:
        return ("returned", repr(fn(*args, **kwargs)))
    except wasmimport.Trap as exc:
        return ("trapped", type(exc).__name__, str(exc).partition("\nwasm backtrace:")[0],
                exc.kind, tuple((f.function, f.func_index) for f in exc.frames),
                Offsets(f.offset for f in exc.frames))
    except Exception as exc:  # noqa: BLE001 - every exception is an outcome to compare
        return ("raised", type(exc).__name__, str(exc), getattr(exc, "kind", None))


def assert_same_outcomes(first: types.ModuleType, second: types.ModuleType) -> None:
    """Every call of ``calls()`` does the same on two loads of edges (over 300 calls)."""
    compared = 0
    for name, args, kwargs in calls():
        # iterators are consumed by a call: give each module its own
        items = {i: list(a) for i, a in enumerate(args) if isinstance(a, Iterator)}
        args_1 = tuple(iter(items[i]) if i in items else a for i, a in enumerate(args))
        args_2 = tuple(iter(items[i]) if i in items else a for i, a in enumerate(args))
        got = outcome(getattr(first, name), args_1, kwargs)
        want = outcome(getattr(second, name), args_2, kwargs)
        assert got == want, f"{name}{args!r} {kwargs!r}"
        compared += 1
    assert compared > 300


def test_both_paths_give_the_same_outcome_for_every_call() -> None:
    compiled, pure = load_edges("compiled"), load_edges("pure")
    assert_same_outcomes(compiled, pure)
    assert compiled.post_count() == pure.post_count() > 0


def test_spilled_parameters_of_every_kind(edges: types.ModuleType) -> None:
    import struct

    args = (-5, "héllo", 2**64 - 1, 1.5, b"\x00\x01", [1, 65535], True, -2.25, -300, "tail",
            2**32 - 1, -2**63, 255)
    expected = (struct.pack("<b", -5) + "héllo".encode() + struct.pack("<Qf", 2**64 - 1, 1.5)
                + b"\x00\x01" + struct.pack("<2H", 1, 65535) + b"\x01"
                + struct.pack("<dh", -2.25, -300) + b"tail"
                + struct.pack("<IqB", 2**32 - 1, -2**63, 255))
    assert edges.spill_mix(*args) == expected
    pages = edges.mem_pages()
    for _ in range(200):       # the record and the buffers are freed by the guest
        edges.spill_mix(*args)
    assert edges.mem_pages() == pages


def test_result_in_memory_grown_during_the_call(edges: types.ModuleType) -> None:
    pages = edges.mem_pages()
    assert edges.grow_and_echo("x" * 1000) == "x" * 1000
    assert edges.mem_pages() == pages + 1
    assert edges.grow_and_echo("second") == "second"


def test_functions_are_real_module_functions(edges: types.ModuleType) -> None:
    fn = edges.echo_i32
    assert fn.__name__ == fn.__qualname__ == "echo_i32"
    assert fn.__module__ == "edges"
    assert "edges.echo_i32" in repr(fn) or "echo_i32" in repr(fn)
    assert weakref.ref(fn)() is fn
    assert copy.copy(fn) is fn and copy.deepcopy(fn) is fn
    assert fn.__annotations__ == {"x": int, "return": int}
    import inspect
    assert str(inspect.signature(edges.sum17)).startswith("(a1: int, a2: int")


def test_functions_pickle_by_reference(hook: None, syspath: Path) -> None:
    for suffix in (".wasm", ".wasm.toml"):
        shutil.copy(guest_path("edges").with_suffix(suffix), syspath / f"pickled{suffix}")
    import pickled  # type: ignore[import-not-found]

    for fn in (pickled.echo_i32, pickled.echo_str, pickled.sum17):
        assert pickle.loads(pickle.dumps(fn)) is fn
    assert sys.modules["pickled"] is pickled


# ---- the GIL ----------------------------------------------------------------------------

SPIN = 30_000_000          # iterations of edges.spin: a call of some 50-300 ms


@pytest.fixture
def long_switch_interval() -> Iterator[None]:
    """Threads switch only when one blocks, so a GIL held for a call is held throughout."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    yield
    sys.setswitchinterval(before)


def python_ticks_during(call: Callable[[], object]) -> int:
    """How many times another Python thread ran a loop iteration while ``call`` ran."""
    ticks = 0
    running = True
    started = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        started.set()
        while running:
            ticks += 1
            time.sleep(0)        # releases the GIL: the caller gets it back

    thread = threading.Thread(target=ticker)
    thread.start()
    started.wait()
    before = ticks
    call()
    during = ticks - before
    running = False
    thread.join()
    return during


def test_the_gil_is_held_during_a_call_by_default(edges: types.ModuleType,
                                                  long_switch_interval: None) -> None:
    spin = edges.spin       # binding a function may release the GIL: not during the call
    assert python_ticks_during(lambda: spin(SPIN)) == 0


@pytest.fixture(params=["compiled", "pure"])
def nogil(request: pytest.FixtureRequest,
          monkeypatch: pytest.MonkeyPatch) -> types.ModuleType | None:
    """edges with its release_gil functions, on one call path; None (once the refusal is
    checked) on a backend that cannot release the GIL."""
    monkeypatch.setenv("WASMIMPORT_PURE", "1" if request.param == "pure" else "0")
    if not has("release-gil"):
        with pytest.raises(wasmimport.WasmImportError,
                           match=r"\[functions\.spin_nogil\] release_gil = true " +
                           refused("release-gil")):
            edges_nogil()
        return None
    return edges_nogil()


def test_release_gil_lets_other_threads_run(nogil: types.ModuleType | None,
                                            long_switch_interval: None) -> None:
    if nogil is None:
        return             # refused at import (the fixture checked)
    result: list[int] = []
    spin_nogil = nogil.spin_nogil
    assert python_ticks_during(lambda: result.append(spin_nogil(SPIN))) > 0
    assert result == [nogil.spin(SPIN)]


def test_calls_from_other_threads_on_a_thread_bound_backend(edges: types.ModuleType) -> None:
    """Without "any-thread", a call from another thread is a clear RuntimeError (not a crash
    in the engine), and the module goes on working in its own thread."""
    if has("any-thread"):
        assert run_in_thread(lambda: edges.echo_i32(5)) == 5
        return
    with pytest.raises(RuntimeError, match=r"edges\.echo_i32\(\): the \w+ backend runs a "
                                           r"module only in the thread that imported it"):
        run_in_thread(lambda: edges.echo_i32(5))
    with pytest.raises(RuntimeError, match=r"its memory: .* only in the thread"):
        run_in_thread(lambda: memoryview(edges.memory))
    assert edges.echo_i32(6) == 6


def run_in_thread(fn: Callable[[], Any]) -> Any:
    """``fn()`` run in a new thread: its result, or its exception raised here."""
    box: list[Any] = []

    def target() -> None:
        try:
            box.append((True, fn()))
        except Exception as exc:  # noqa: BLE001 - carried to the calling thread
            box.append((False, exc))
    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value


def test_calls_into_one_instance_are_serialised(nogil: types.ModuleType | None) -> None:
    if nogil is None:
        return             # refused at import (the fixture checked)
    edges = nogil
    threads, calls_each = 4, 25
    results: list[int] = []
    echoes: list[int] = []

    def work(k: int) -> None:
        for i in range(calls_each):
            results.append(edges.racy_add(1, 20_000))        # releases the GIL inside
            echoes.append(edges.echo_i32(k * 1000 + i))      # holds it: waits its turn

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    # one call at a time in the instance: no update lost, every running total seen once
    assert edges.racy_total() == threads * calls_each
    assert sorted(results) == list(range(1, threads * calls_each + 1))
    assert sorted(echoes) == sorted(k * 1000 + i for k in range(threads)
                                    for i in range(calls_each))


def test_release_gil_must_be_a_boolean(tmp_path: Path) -> None:
    shutil.copy(guest_path("edges"), tmp_path / "m.wasm")
    (tmp_path / "m.wasm.toml").write_text(
        '[functions.spin]\nsignature = "(n: u32) -> u32"\nrelease_gil = "yes"\n')
    with pytest.raises(wasmimport.ManifestError, match=r"spin\.release_gil must be true or "
                                                        r"false, not str"):
        wasmimport.load(tmp_path / "m.wasm")
