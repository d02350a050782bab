"""Every tier-1 type at its edges, through the freestanding C echo guest (tests/guests/edges.c)."""

from __future__ import annotations

import array
import math
import random
import struct
import sys
import types
from typing import Any

import pytest

import wasmimport
from conftest import guest_path

if sys.platform == "emscripten":
    np: Any = None      # no numpy wheel for Pyodide on PyPI: its tests are marked needs("numpy")
else:
    import numpy as np

INTS = {"i8": (8, True), "i16": (16, True), "i32": (32, True), "i64": (64, True),
        "u8": (8, False), "u16": (16, False), "u32": (32, False), "u64": (64, False)}


def bounds(name: str) -> tuple[int, int]:
    bits, signed = INTS[name]
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


@pytest.fixture(scope="module")
def edges() -> types.ModuleType:
    return wasmimport.load(guest_path("edges"))


def f32(x: float) -> float:
    """x rounded to the nearest f32, as the guest stores it."""
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


@pytest.mark.parametrize("name", INTS)
def test_int_round_trip_at_edges(edges: types.ModuleType, name: str) -> None:
    lo, hi = bounds(name)
    echo = getattr(edges, f"echo_{name}")
    for value in (lo, lo + 1, 0, 1, hi - 1, hi):
        result = echo(value)
        assert result == value and type(result) is int
    assert echo(True) == 1


@pytest.mark.parametrize("name", INTS)
def test_int_out_of_range_is_overflow_error(edges: types.ModuleType, name: str) -> None:
    lo, hi = bounds(name)
    echo = getattr(edges, f"echo_{name}")
    for value in (lo - 1, hi + 1, hi * 4 + 3):
        with pytest.raises(OverflowError) as info:
            echo(value)
        assert str(info.value) == (f"edges.echo_{name}() argument 'x' is out of range for "
                                   f"{name} ({lo}..{hi}): {value}")


@pytest.mark.parametrize("name", INTS)
def test_int_wrong_type_is_type_error(edges: types.ModuleType, name: str) -> None:
    echo = getattr(edges, f"echo_{name}")
    for value, typename in ((1.0, "float"), ("1", "str"), (None, "NoneType"), (b"1", "bytes")):
        with pytest.raises(TypeError, match=rf"edges\.echo_{name}\(\) argument 'x' must be int, "
                                            rf"not {typename}"):
            echo(value)


@pytest.mark.needs("numpy")
def test_int_accepts_index_objects(edges: types.ModuleType) -> None:
    assert edges.echo_u64(np.uint64(2**64 - 1)) == 2**64 - 1
    assert edges.echo_i8(np.int8(-128)) == -128
    with pytest.raises(OverflowError):
        edges.echo_u8(np.int64(256))


@pytest.mark.needs("numpy")
def test_floats(edges: types.ModuleType) -> None:
    for value in (0.0, -0.0, 1.5, -2.25, 1e308, 5e-324, math.inf, -math.inf, 0.1, 2**53 + 1):
        assert edges.echo_f64(value) == float(value)
        assert math.copysign(1, edges.echo_f64(value)) == math.copysign(1, value)
    for value in (0.0, -0.0, 1.5, 0.1, 1e-45, 3.4028235e38, -3.4028235e38, math.inf, 2**53 + 1):
        assert edges.echo_f32(value) == f32(value)
        assert math.copysign(1, edges.echo_f32(value)) == math.copysign(1, value)
    assert math.isnan(edges.echo_f64(math.nan)) and math.isnan(edges.echo_f32(math.nan))
    assert edges.echo_f64(3) == 3.0 and type(edges.echo_f64(3)) is float
    assert edges.echo_f32(np.float32(0.5)) == 0.5
    edge = 2.0**128 - 2.0**104          # the largest double that still rounds to FLT_MAX
    assert edges.echo_f32(edge) == f32(edge)
    for too_big in (1e300, -1e39, 2.0**128 - 2.0**103):
        with pytest.raises(OverflowError, match=r"argument 'x' is out of range for f32"):
            edges.echo_f32(too_big)
    with pytest.raises(TypeError, match=r"edges\.echo_f64\(\) argument 'x' must be float, not str"):
        edges.echo_f64("1.0")
    with pytest.raises(OverflowError, match=r"too large to convert to f64"):
        edges.echo_f64(10**400)


def test_bool(edges: types.ModuleType) -> None:
    assert edges.echo_bool(True) is True
    assert edges.echo_bool(False) is False
    assert edges.echo_bool([1]) is True and edges.echo_bool(0) is False


@pytest.mark.parametrize("text", ["", "a", "hello world", "héllo wörld", "日本語テキスト",
                                  "emoji 🐍🦀", "nul\0inside", "x" * (1 << 20),
                                  "ü" * 100_000])
def test_str_round_trip(edges: types.ModuleType, text: str) -> None:
    assert edges.echo_str(text) == text
    assert edges.str_len(text) == len(text.encode("utf-8"))


def test_str_errors(edges: types.ModuleType) -> None:
    with pytest.raises(TypeError, match=r"edges\.echo_str\(\) argument 's' must be str, not bytes"):
        edges.echo_str(b"abc")
    with pytest.raises(UnicodeEncodeError, match=r"edges\.echo_str\(\) argument 's'"):
        edges.echo_str("lone \udc80 surrogate")


def test_post_return_is_called_after_each_str_result(edges: types.ModuleType) -> None:
    before = edges.post_count()
    edges.echo_str("a")
    edges.echo_str("b")
    assert edges.post_count() == before + 2


@pytest.mark.needs("numpy")
def test_bytes_accepts_any_contiguous_buffer(edges: types.ModuleType) -> None:
    data = bytes(range(256)) * 4
    assert edges.echo_bytes(data) == data
    assert edges.echo_bytes(bytearray(data)) == data
    assert edges.echo_bytes(memoryview(data)[10:20]) == data[10:20]
    assert edges.echo_bytes(b"") == b""
    doubles = array.array("d", [1.0, 2.0])
    assert edges.echo_bytes(doubles) == doubles.tobytes()
    matrix = np.arange(12, dtype=np.int32).reshape(3, 4)
    assert edges.echo_bytes(matrix) == matrix.tobytes()
    big = random.Random(1).randbytes(1 << 20)
    result = edges.echo_bytes(big)
    assert result == big and type(result) is bytes


@pytest.mark.needs("numpy")
def test_bytes_errors(edges: types.ModuleType) -> None:
    with pytest.raises(TypeError, match=r"argument 'b' must be a bytes-like object, not str"):
        edges.echo_bytes("text")
    with pytest.raises(TypeError, match=r"argument 'b' must be a bytes-like object, not list"):
        edges.echo_bytes([1, 2])
    with pytest.raises(TypeError, match=r"argument 'b' must be a C-contiguous buffer"):
        edges.echo_bytes(memoryview(bytes(10))[::2])
    with pytest.raises(TypeError, match=r"C-contiguous"):
        edges.echo_bytes(np.zeros((4, 4), dtype=np.uint8).T)


LIST_FORMATS = {"i8": "b", "i16": "h", "i32": "i", "i64": "q", "u8": "B", "u16": "H",
                "u32": "I", "u64": "Q", "f32": "f", "f64": "d"}


@pytest.mark.parametrize("name", INTS)
@pytest.mark.needs("numpy")
def test_int_lists(edges: types.ModuleType, name: str) -> None:
    lo, hi = bounds(name)
    echo = getattr(edges, f"echo_list_{name}")
    values = [lo, hi, 0, 1, lo + 1, hi - 1]
    assert echo(values) == values
    assert echo(tuple(values)) == values
    assert echo([]) == []
    assert echo(array.array(LIST_FORMATS[name], values)) == values      # buffer fast path
    assert echo(np.array(values, dtype=np.dtype(LIST_FORMATS[name]).newbyteorder("<"))) == values
    many = [random.Random(2).randint(lo, hi) for _ in range(10_000)]
    assert echo(many) == many
    with pytest.raises(OverflowError, match=rf"argument 'xs' item 2 is out of range for {name}"):
        echo([0, 1, hi + 1])
    with pytest.raises(TypeError, match=r"argument 'xs' item 1 must be int, not float"):
        echo([0, 1.5])


@pytest.mark.parametrize("name", ["f32", "f64"])
@pytest.mark.needs("numpy")
def test_float_lists(edges: types.ModuleType, name: str) -> None:
    echo = getattr(edges, f"echo_list_{name}")
    values = [0.0, -1.5, 1e30, math.inf, 0.1]
    assert echo(values) == [f32(v) if name == "f32" else v for v in values]
    assert echo([1, 2]) == [1.0, 2.0]
    assert math.isnan(echo([math.nan])[0])
    arr = np.linspace(0, 1, 10_000, dtype=np.float32 if name == "f32" else np.float64)
    assert echo(arr) == arr.tolist()
    with pytest.raises(TypeError, match=r"argument 'xs' item 0 must be float, not str"):
        echo(["x"])
    if name == "f32":
        with pytest.raises(OverflowError, match=r"argument 'xs' item 1 is out of range for f32"):
            echo([1.0, 1e300])


@pytest.mark.needs("numpy")
def test_list_buffer_of_other_format_is_converted_per_item(edges: types.ModuleType) -> None:
    assert edges.echo_list_f64(array.array("i", [1, 2, 3])) == [1.0, 2.0, 3.0]
    assert edges.echo_list_i32(np.array([1, 2], dtype=np.int64)) == [1, 2]
    assert edges.echo_list_u8(b"\x01\x02") == [1, 2]
    assert edges.echo_list_i64(range(5)) == [0, 1, 2, 3, 4]
    with pytest.raises(OverflowError, match="item 0 is out of range for u8"):
        edges.echo_list_u8(array.array("h", [-1]))
    big_endian = np.array([1, 2], dtype=">i4")
    assert edges.echo_list_i32(big_endian) == [1, 2]


def test_list_errors(edges: types.ModuleType) -> None:
    with pytest.raises(TypeError, match=r"argument 'xs' must be a sequence of int, not str"):
        edges.echo_list_i32("123")
    with pytest.raises(TypeError, match=r"argument 'xs' must be a sequence of float, not int"):
        edges.echo_list_f64(5)


def test_no_result_and_guest_state(edges: types.ModuleType) -> None:
    before = edges.counter()
    assert edges.nothing() is None
    assert edges.counter() == before + 1


def test_seventeen_params_spill_to_memory(edges: types.ModuleType) -> None:
    args = list(range(1, 18))
    assert edges.sum17(*args) == sum(args)
    extremes = [2**31 - 1] * 17
    assert edges.sum17(*extremes) == 17 * (2**31 - 1)
    with pytest.raises(OverflowError, match=r"edges\.sum17\(\) argument 'a17'"):
        edges.sum17(*args[:16], 2**31)


def test_guest_returning_out_of_bounds_str_is_trap(edges: types.ModuleType) -> None:
    with pytest.raises(wasmimport.Trap) as info:
        edges.bad_str()
    assert info.value.kind == "memory_out_of_bounds"
    assert str(info.value).startswith("edges.bad_str(): guest memory access out of bounds")
    assert edges.echo_str("still fine") == "still fine"


def test_guest_returning_invalid_utf8_is_trap(edges: types.ModuleType) -> None:
    with pytest.raises(wasmimport.Trap, match=r"edges\.bad_utf8\(\): .*not valid UTF-8") as info:
        edges.bad_utf8()
    assert info.value.kind == "invalid_utf8"


def test_unreachable_and_stack_overflow_traps(edges: types.ModuleType) -> None:
    with pytest.raises(wasmimport.Trap) as info:
        edges.trap_unreachable()
    assert info.value.kind == "unreachable"
    assert any(f.function == "trap_unreachable" for f in info.value.frames)
    with pytest.raises(wasmimport.Trap) as info:
        edges.recurse(10_000_000)
    assert info.value.kind == "stack_overflow"
    assert edges.recurse(10) == 10


def test_allocator_reuses_memory(edges: types.ModuleType) -> None:
    pages = edges.alloc_churn(100_000)      # reaches every size class it will ever use
    assert edges.alloc_churn(100_000) == pages
    assert edges.alloc_churn(300_000) == pages


def test_repeated_large_calls_do_not_grow_memory(edges: types.ModuleType) -> None:
    blob = bytes(1 << 20)
    edges.echo_bytes(blob)
    pages = edges.mem_pages()
    for _ in range(50):
        edges.echo_bytes(blob)
        edges.echo_str("y" * 100_000)
    assert edges.mem_pages() == pages


@pytest.mark.needs("memory-view")
def test_grow_and_view(edges: types.ModuleType) -> None:
    pages = edges.mem_pages()
    assert edges.grow(1) == pages
    assert memoryview(edges.memory).nbytes == (pages + 1) * 65536


def test_traps_with_live_c_stack_frames_leave_the_module_usable(edges: types.ModuleType) -> None:
    expected = sum(i % 256 + (i & ~0xFF) for i in range(1024))
    assert edges.stack_probe() == expected
    for _ in range(100):        # 100 x 4 KiB: far more than the 64 KiB C stack
        with pytest.raises(wasmimport.Trap) as info:
            edges.trap_with_frame()
        assert info.value.kind == "unreachable"
    assert edges.stack_probe() == expected
    with pytest.raises(wasmimport.Trap) as info:
        edges.deep_frames(1_000_000)          # overflows the C stack itself
    assert info.value.kind == "memory_out_of_bounds"
    assert edges.deep_frames(10) == 7 + 10
    assert edges.stack_probe() == expected
