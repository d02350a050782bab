"""Tier-2 manifest types at their edges: records, tuples, options, results, enums, flags,
lists of anything, cstr and buffer, on both call paths.

The guest is tests/guests/rich.c (manifest rich.wasm.toml), written by hand against the
Canonical ABI layouts; most of its functions return their values in another shape than they
take them, so a host whose stores and loads agree with each other but not with the ABI fails.
Every test that calls the guest runs on the compiled and on the pure call path; one test
compares the outcomes of a few hundred calls across the two.
"""

from __future__ import annotations

import array
import enum
import inspect
import math
import pickle
import re
import shutil
import struct
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_call_paths import Boom, outcome

import wasmimport
from conftest import guest_path, has, load_on_path
from wasmimport._compound import OptionType, ResultType
from wasmimport._types import SCALARS, STR

if sys.platform == "emscripten":
    np: Any = None      # no numpy wheel for Pyodide on PyPI: its tests are marked needs("numpy")
else:
    import numpy as np

PATHS = ["compiled", "pure"]
U32_MAX, U64_MAX = 2**32 - 1, 2**64 - 1


@pytest.fixture(params=PATHS)
def rich(request: pytest.FixtureRequest) -> types.ModuleType:
    return load_on_path("rich", request.param)


def f32(x: float) -> float:
    """x rounded to the nearest f32, as the guest sees it."""
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


def error_of(exc_type: type[BaseException], fn: Callable[..., Any], *args: Any,
             **kwargs: Any) -> str:
    """The message of the ``exc_type`` that ``fn(*args, **kwargs)`` raises (without a
    trap's backtrace)."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    return str(info.value).partition("\nwasm backtrace:")[0]


def trap_of(fn: Callable[..., Any], *args: Any) -> wasmimport.Trap:
    with pytest.raises(wasmimport.Trap) as info:
        fn(*args)
    return info.value


def guest_error_of(fn: Callable[..., Any], *args: Any) -> wasmimport.GuestError:
    with pytest.raises(wasmimport.GuestError) as info:
        fn(*args)
    return info.value


# ---- the compiled path --------------------------------------------------------------------


def test_the_compiled_path_runs_rich_types_in_c() -> None:
    """With the extension, every rich-type function is a ``_speedups.Function`` (the C side
    lowers and lifts records, variants, lists of anything, cstr and buffer itself)."""
    mod = load_on_path("rich", "compiled")
    names = [f.name for f in mod.__wasmimport__.manifest.functions]
    if not has("compiled-calls"):
        assert all(type(getattr(mod, n)) is types.FunctionType for n in names)
        return
    from wasmimport import _speedups
    not_compiled = [n for n in names if type(getattr(mod, n)) is not _speedups.Function]
    assert not_compiled == []


# ---- records ------------------------------------------------------------------------------


def test_record_classes(rich: types.ModuleType) -> None:
    Point = rich.Point
    assert issubclass(Point, tuple) and Point._fields == ("x", "y")
    assert Point.__module__ == "rich" and Point.__qualname__ == Point.__name__ == "Point"
    assert Point.__annotations__ == {"x": float, "y": float}
    assert rich.Line.__annotations__ == {"a": Point, "b": Point}
    assert rich.Mixed.__annotations__ == {"a": int, "b": int, "c": int, "d": str}
    assert rich.Bag.__annotations__ == {"items": list[int], "tag": str | None}
    assert Point(1.0, 2.0)._replace(y=5.0) == (1.0, 5.0)
    assert {"Point", "Line", "Mixed", "Bag", "Color", "Perm", "Oct", "Nine", "Wide", "E256",
            "Big"} <= set(rich.__all__)


def test_a_record_result_is_an_instance_of_its_class(rich: types.ModuleType) -> None:
    Point = rich.Point
    swapped = rich.point_swap(Point(1.5, -2.0))
    assert type(swapped) is Point and swapped == Point(-2.0, 1.5)
    assert swapped.x == -2.0 and swapped.y == 1.5
    # a tuple in field order, or a mapping with exactly the field names
    assert rich.point_swap((3, 4)) == Point(4.0, 3.0)
    assert all(type(v) is float for v in rich.point_swap((3, 4)))
    assert rich.point_swap({"y": 6.0, "x": 5.0}) == Point(6.0, 5.0)
    inf = float("inf")
    got = rich.point_swap((float("nan"), -inf))
    assert got.x == -inf and math.isnan(got.y)


def test_flat_record_parameters_with_a_scalar_result(rich: types.ModuleType) -> None:
    """Two records flatten to four f64 and the result is one f64: no memory is involved."""
    assert rich.point_dot((1.0, 2.0), rich.Point(3.0, 4.0)) == 11.0
    assert rich.point_dot({"x": 0.5, "y": 0}, (2, 100)) == 1.0


def test_nested_records(rich: types.ModuleType) -> None:
    Point, Line = rich.Point, rich.Line
    flipped = rich.line_flip(Line(Point(1.0, 2.0), (3.0, 4.0)))
    assert flipped == Line(Point(3.0, 4.0), Point(1.0, 2.0))
    assert type(flipped) is Line and type(flipped.a) is Point and type(flipped.b) is Point
    assert rich.line_flip({"a": {"x": 1, "y": 2}, "b": (3, 4)}) == ((3.0, 4.0), (1.0, 2.0))
    mid = rich.line_mid(((0, 0), (2, -4)))
    assert type(mid) is Point and mid == (1.0, -2.0)


def test_a_record_with_mixed_alignment(rich: types.ModuleType) -> None:
    """Mixed{a u8, b u64, c u16, d str} is at offsets 0, 8, 16, 20 (size 32): the guest
    reads and writes it with a C struct of that layout."""
    Mixed = rich.Mixed
    assert rich.mixed_rev(Mixed(255, U64_MAX, 65535, "héllo")) == ("héllo", 65535, U64_MAX,
                                                                     255)
    assert type(rich.mixed_rev((0, 0, 0, ""))) is tuple
    made = rich.mixed_from(("dé", 1, 2**63, 7))
    assert type(made) is Mixed and made == Mixed(a=7, b=2**63, c=1, d="dé")
    many = [Mixed(i, 2**40 + i, 1000 + i, "x" * i) for i in range(20)]
    assert rich.mixed_list_rev(many) == [(m.d, m.c, m.b, m.a) for m in many]
    assert rich.mixed_list_rev([]) == []


def test_a_record_with_a_list_field_and_an_option_field(rich: types.ModuleType) -> None:
    Bag = rich.Bag
    bumped = rich.bag_bump(Bag([1, 2, U32_MAX], "abc"))
    assert type(bumped) is Bag and bumped == Bag(items=[2, 3, 0], tag="cba")
    assert type(bumped.items) is list
    assert rich.bag_bump(Bag([], None)) == Bag([], None)
    assert rich.bag_bump({"items": (5,), "tag": ""}) == Bag([6], "")
    assert rich.bag_bump(([0] * 1000, "xyz" * 100)) == Bag([1] * 1000, "zyx" * 100)


@pytest.mark.parametrize("call, args, exc, message", [
    ("point_swap", (("a", 1.0),), TypeError,
     "rich.point_swap() argument 'p' field 'x' must be float, not str"),
    ("point_swap", ((1.0,),), TypeError,
     "rich.point_swap() argument 'p' must have 2 fields (x, y), not 1"),
    ("point_swap", ((1.0, 2.0, 3.0),), TypeError,
     "rich.point_swap() argument 'p' must have 2 fields (x, y), not 3"),
    ("point_swap", ({"x": 1},), TypeError, "rich.point_swap() argument 'p' is missing field 'y'"),
    ("point_swap", ({"x": 1, "y": 2, "z": 3},), TypeError,
     "rich.point_swap() argument 'p' has no field 'z' (fields: x, y)"),
    ("point_swap", (5,), TypeError,
     "rich.point_swap() argument 'p' must be Point, a tuple or a mapping, not int"),
    ("point_swap", ([1.0, 2.0],), TypeError,
     "rich.point_swap() argument 'p' must be Point, a tuple or a mapping, not list"),
    ("point_swap", (None,), TypeError,
     "rich.point_swap() argument 'p' must be Point, a tuple or a mapping, not NoneType"),
    ("point_swap", ((1.0, "2"),), TypeError,
     "rich.point_swap() argument 'p' field 'y' must be float, not str"),
    ("point_dot", ((1, 2), (3, None)), TypeError,
     "rich.point_dot() argument 'q' field 'y' must be float, not NoneType"),
    ("line_flip", (((1, 2), (3, "x")),), TypeError,
     "rich.line_flip() argument 'l' field 'b' field 'y' must be float, not str"),
    ("line_flip", (((1, 2), 3),), TypeError,
     "rich.line_flip() argument 'l' field 'b' must be Point, a tuple or a mapping, not int"),
    ("mixed_rev", ((256, 0, 0, ""),), OverflowError,
     "rich.mixed_rev() argument 'm' field 'a' is out of range for u8 (0..255): 256"),
    ("mixed_rev", ((0, -1, 0, ""),), OverflowError,
     "rich.mixed_rev() argument 'm' field 'b' is out of range for u64 "
     "(0..18446744073709551615): -1"),
    ("mixed_rev", ((0, 0, 0, b"d"),), TypeError,
     "rich.mixed_rev() argument 'm' field 'd' must be str, not bytes"),
    ("mixed_list_rev", ([(1, 2, 3, "a"), (1, 2, -3, "b")],), OverflowError,
     "rich.mixed_list_rev() argument 'ms' item 1 field 'c' is out of range for u16 "
     "(0..65535): -3"),
    ("mixed_list_rev", ([(1, 2, 3, "a"), {"a": 1}],), TypeError,
     "rich.mixed_list_rev() argument 'ms' item 1 is missing field 'b'"),
    ("bag_bump", (([1, -1], None),), OverflowError,
     "rich.bag_bump() argument 'b' field 'items' item 1 is out of range for u32 "
     "(0..4294967295): -1"),
    ("bag_bump", (([], 5),), TypeError,
     "rich.bag_bump() argument 'b' field 'tag' must be str, not int"),
    ("bag_bump", (("ab", None),), TypeError,
     "rich.bag_bump() argument 'b' field 'items' must be a sequence of int, not str"),
    ("points_sum", ([(1, 2), "xy"],), TypeError,
     "rich.points_sum() argument 'ps' item 1 must be Point, a tuple or a mapping, not str"),
    ("points_scale", ([(1, 2)], "2"), TypeError,
     "rich.points_scale() argument 'k' must be float, not str"),
])
def test_bad_record_arguments(rich: types.ModuleType, call: str, args: tuple[Any, ...],
                              exc: type[Exception], message: str) -> None:
    assert error_of(exc, getattr(rich, call), *args) == message


# ---- tuples -------------------------------------------------------------------------------


def test_tuples(rich: types.ModuleType) -> None:
    swapped = rich.tup_swap((7, "sé"))
    assert swapped == ("sé", 7) and type(swapped) is tuple
    assert rich.tup_swap((U32_MAX, "")) == ("", U32_MAX)
    assert rich.tup_swap([1, "list"]) == ("list", 1)       # any sequence of the right length
    assert rich.tup_pair(4, "é") == (5, "é")
    assert rich.tup_pair(U32_MAX, "wraps") == (0, "wraps")
    nested = rich.tup_nested((1.5, (255, True)))
    assert nested == ((False, 0), 3.0)
    assert type(nested[0][0]) is bool and type(nested[0][1]) is int
    assert type(nested[1]) is float
    assert rich.tup_nested((0.1, (7, 0))) == ((True, 8), f32(0.1) * 2)
    assert rich.tup_nested((0.1, (7, [])))[0][0] is True   # bool: any object, by truth


@pytest.mark.parametrize("call, args, exc, message", [
    ("tup_swap", ((1,),), TypeError, "rich.tup_swap() argument 't' must be a tuple of 2, not of 1"),
    ("tup_swap", ((1, "a", 3),), TypeError,
     "rich.tup_swap() argument 't' must be a tuple of 2, not of 3"),
    ("tup_swap", ((1, 2),), TypeError, "rich.tup_swap() argument 't' item 1 must be str, not int"),
    ("tup_swap", ((-1, "a"),), OverflowError,
     "rich.tup_swap() argument 't' item 0 is out of range for u32 (0..4294967295): -1"),
    ("tup_swap", (5,), TypeError, "rich.tup_swap() argument 't' must be a tuple of 2, not int"),
    ("tup_swap", ("ab",), TypeError, "rich.tup_swap() argument 't' must be a tuple of 2, not str"),
    ("tup_swap", ({"a": 1, "b": "x"},), TypeError,
     "rich.tup_swap() argument 't' must be a tuple of 2, not dict"),
    ("tup_nested", ((1e39, (0, 0)),), OverflowError,
     "rich.tup_nested() argument 't' item 0 is out of range for f32: 1e+39"),
    ("tup_nested", ((1.0, (256, 0)),), OverflowError,
     "rich.tup_nested() argument 't' item 1 item 0 is out of range for u8 (0..255): 256"),
    ("tup_nested", ((1.0, (1,)),), TypeError,
     "rich.tup_nested() argument 't' item 1 must be a tuple of 2, not of 1"),
])
def test_bad_tuple_arguments(rich: types.ModuleType, call: str, args: tuple[Any, ...],
                             exc: type[Exception], message: str) -> None:
    assert error_of(exc, getattr(rich, call), *args) == message


# ---- options ------------------------------------------------------------------------------


def test_options(rich: types.ModuleType) -> None:
    assert rich.opt_u8(None) is None
    assert rich.opt_u8(0) == 1 and rich.opt_u8(254) == 255
    assert rich.opt_u8(255) is None
    assert rich.opt_str(None) is None and rich.opt_str("") is None
    assert rich.opt_str("hé") == "hé?"
    assert rich.opt_f32(None) is None
    assert rich.opt_f32(1.5) == -1.5 and rich.opt_f32(0.1) == -f32(0.1)
    assert rich.opt_f32(float("inf")) == float("-inf")
    assert math.copysign(1.0, rich.opt_f32(0.0)) == -1.0
    assert math.isnan(rich.opt_f32(float("nan")))
    assert rich.opt_point(None) is None
    swapped = rich.opt_point((1, 2))
    assert type(swapped) is rich.Point and swapped == (2.0, 1.0)


def test_option_parameters_with_a_scalar_result(rich: types.ModuleType) -> None:
    """``u8 | None`` flattens to (i32, i32); with a u8 result nothing touches memory."""
    assert rich.opt_u8_or(None) == 9
    assert rich.opt_u8_or(None, 3) == 3
    assert rich.opt_u8_or(200, default=3) == 200
    assert rich.opt_u8_or(0) == 0


@pytest.mark.parametrize("call, args, exc, message", [
    ("opt_u8", (256,), OverflowError, "rich.opt_u8() argument 'x' is out of range for u8 "
                                      "(0..255): 256"),
    ("opt_u8", ("1",), TypeError, "rich.opt_u8() argument 'x' must be int, not str"),
    ("opt_u8_or", (None, -1), OverflowError,
     "rich.opt_u8_or() argument 'default' is out of range for u8 (0..255): -1"),
    ("opt_str", (5,), TypeError, "rich.opt_str() argument 's' must be str, not int"),
    ("opt_f32", (1e39,), OverflowError, "rich.opt_f32() argument 'x' is out of range for f32: "
                                        "1e+39"),
    ("opt_point", ((1,),), TypeError,
     "rich.opt_point() argument 'p' must have 2 fields (x, y), not 1"),
])
def test_bad_option_arguments(rich: types.ModuleType, call: str, args: tuple[Any, ...],
                              exc: type[Exception], message: str) -> None:
    assert error_of(exc, getattr(rich, call), *args) == message


def test_an_invalid_option_discriminant_is_a_trap(rich: types.ModuleType) -> None:
    trap = trap_of(rich.opt_bad)
    assert trap.kind == "invalid_discriminant"
    assert str(trap) == ("rich.opt_bad(): guest returned u8 | None with invalid discriminant 2 "
                         "(expected 0..1)")
    assert rich.opt_u8(1) == 2       # the module stays usable


PAD = "tuple[" + ", ".join(["u64"] * 16) + "]"     # (spills the parameters to memory)
CHARS = ('[functions.flat]\nexport = "echo_mem"\nsignature = "(c: char) -> char"\n'
         '[functions.code]\nexport = "echo_mem"\nsignature = "(x: u32) -> char"\n'
         '[functions.held]\nexport = "echo_mem"\n'
         f'signature = "(x: tuple[u32, list[char]], pad: {PAD}) -> tuple[char, list[char]]"\n')


@pytest.mark.parametrize("path", PATHS)
def test_chars_flat_and_in_memory(path: str) -> None:
    """A char is a one-character str; one the guest returns that is not a Unicode scalar
    value (a surrogate, or past U+10FFFF) is a trap, flat or loaded from memory (echo_mem
    hands back its argument: the u32 stored first is read back as a char)."""
    mod = load_on_path("rich", path, name="chars", manifest=CHARS)
    if path == "compiled" and has("compiled-calls"):      # chars have a compiled node
        assert all(type(f).__name__ == "Function" for f in (mod.flat, mod.code, mod.held))
    pad = (0,) * 16
    assert mod.flat("a") == "a" and mod.flat("\U0010FFFF") == "\U0010FFFF"
    assert mod.code(0x1F600) == "\U0001F600"
    assert mod.held((0x41, ["é", "😀"]), pad) == ("A", ["é", "😀"])
    for code in (0xD800, 0xDFFF, 0x110000, 2**32 - 1):
        trap = trap_of(mod.code, code)
        assert trap.kind == "invalid_char"
        assert str(trap) == (f"chars.code(): guest returned an invalid char {code:#x} (not a "
                             "Unicode scalar value)")
        assert trap_of(mod.held, (code, []), pad).kind == "invalid_char"
    assert error_of(ValueError, mod.flat, "ab") == \
        "chars.flat() argument 'c' must be one character, not 2: 'ab'"
    assert error_of(ValueError, mod.flat, "\ud800") == \
        "chars.flat() argument 'c' is a surrogate (0xd800), not a Unicode scalar value"
    assert error_of(TypeError, mod.flat, 97) == \
        "chars.flat() argument 'c' must be a str of one character, not int"
    assert error_of(ValueError, mod.held, (1, ["a", ""]), pad) == \
        "chars.held() argument 'x' item 1 item 1 must be one character, not 0: ''"


VARIANTS = ('[types.Sign]\nvariant = {plus = "None", minus = "None"}\n'
            '[types.Shape]\nvariant = {circle = "f64", named = "str", none = "None"}\n'
            '[functions.flip]\nexport = "echo_mem"\nsignature = "(s: Sign) -> Sign"\n'
            '[functions.sign]\nexport = "echo_mem"\nsignature = "(x: u32) -> Sign"\n'
            '[functions.held]\nexport = "echo_mem"\n'
            f'signature = "(x: tuple[Shape, list[Shape]], pad: {PAD}) -> '
            'tuple[Shape, list[Shape]]"\n'
            '[functions.shape]\nexport = "echo_mem"\n'
            f'signature = "(x: u32, pad: {PAD}) -> tuple[Shape, {PAD}]"\n')


@pytest.mark.parametrize("path", PATHS)
def test_variants_flat_and_in_memory(path: str) -> None:
    """A variant is an instance of its case's class, flat or in memory; a discriminant the
    guest returns that names no case is a trap (echo_mem hands back its argument)."""
    mod = load_on_path("rich", path, name="variants", manifest=VARIANTS)
    if path == "compiled" and has("compiled-calls"):      # variants have a compiled node
        assert all(type(f).__name__ == "Function"
                   for f in (mod.flip, mod.sign, mod.held, mod.shape))
    Sign, Shape, pad = mod.Sign, mod.Shape, (0,) * 16
    assert mod.flip(Sign.Minus()) == Sign.Minus() and type(mod.sign(0)) is Sign.Plus
    shapes = [Shape.Circle(-0.0), Shape.Named("é😀"), Shape.None_(), Shape.Circle(2.5)]
    got = mod.held((Shape.Named(""), shapes), pad)
    assert got == (Shape.Named(""), shapes) and math.copysign(1, got[1][0].value) == -1
    assert mod.shape(0, (0,) * 16)[0] == Shape.Circle(0.0)   # the u32's bytes, then zeros
    for code, what, cases in ((2, "sign", 1), (2**32 - 1, "sign", 1), (3, "shape", 2)):
        trap = trap_of(getattr(mod, what), *((code,) if what == "sign" else (code, pad)))
        assert trap.kind == "invalid_discriminant"
        assert str(trap) == (f"variants.{what}(): guest returned "
                             f"{'Sign' if what == 'sign' else 'Shape'} with invalid "
                             f"discriminant {code if what == 'sign' else code & 0xFF} "
                             f"(expected 0..{cases})")    # flat: the i32; in memory: a byte
    assert error_of(TypeError, mod.held, (Shape.None_(), [Sign.Plus()]), pad) == \
        ("variants.held() argument 'x' item 1 item 0 must be Shape.Circle or Shape.Named or "
         "Shape.None_, not Plus")
    assert error_of(TypeError, mod.held, (Shape.None_(), [Shape.Named(5)]), pad) == \
        "variants.held() argument 'x' item 1 item 0 Shape.Named must be str, not int"


# ---- results ------------------------------------------------------------------------------


def test_a_result_returns_ok_or_raises_guest_error(rich: types.ModuleType) -> None:
    assert rich.res_half(10) == 5 and rich.res_half(0) == 0
    assert rich.res_half(U32_MAX - 1) == 2**31 - 1
    error = guest_error_of(rich.res_half, 3)
    assert error.value == "odd number"
    assert error.function == "rich.res_half()"
    assert str(error) == "rich.res_half(): guest returned an error: 'odd number'"
    assert isinstance(error, Exception) and not isinstance(error, wasmimport.Trap)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is wasmimport.GuestError
    assert (again.value, again.function) == ("odd number", "rich.res_half()")


def test_results_with_none_cases(rich: types.ModuleType) -> None:
    assert rich.res_nonzero(1) is None
    error = guest_error_of(rich.res_nonzero, 0)
    assert error.value == "zero" and error.function == "rich.res_nonzero()"
    assert rich.res_rev("abc") == "cba" and rich.res_rev("x") == "x"
    # the guest reverses bytes: a reversed multi-byte character is no longer UTF-8
    trap = trap_of(rich.res_rev, "é")
    assert (trap.kind, str(trap)) == ("invalid_utf8", "rich.res_rev(): guest returned a str "
                                      "that is not valid UTF-8 (invalid start byte at byte 0)")
    error = guest_error_of(rich.res_rev, "")
    assert error.value is None
    assert str(error) == "rich.res_rev(): guest returned an error: None"
    # result[None, None] is ONE flat i32: no return area
    assert rich.res_unit(0) is None
    assert guest_error_of(rich.res_unit, 1).value is None


def test_results_with_float_and_wide_cases(rich: types.ModuleType) -> None:
    """result[f32, u64] and result[f64, u8]: the payload is at offset 8 in memory (the
    flat form would join the cases' slot to i64; see test_variant_flattening)."""
    assert rich.res_f32_u64(1.5) == 1.5 and type(rich.res_f32_u64(1.5)) is float
    assert rich.res_f32_u64(0.1) == f32(0.1)
    assert math.copysign(1.0, rich.res_f32_u64(-0.0)) == -1.0
    assert math.isnan(rich.res_f32_u64(float("nan")))
    error = guest_error_of(rich.res_f32_u64, -1.0)
    assert error.value == 2**63 | 0xBF800000           # the bits of -1.0f
    assert guest_error_of(rich.res_f32_u64, float("-inf")).value == 2**63 | 0xFF800000
    assert rich.res_f64_u8(3.0) == 1.5
    assert rich.res_f64_u8(1e308) == 5e307
    assert guest_error_of(rich.res_f64_u8, -2.0).value == 1
    assert guest_error_of(rich.res_f64_u8, float("nan")).value == 0


def test_invalid_result_discriminants_are_traps(rich: types.ModuleType) -> None:
    trap = trap_of(rich.res_bad)
    assert trap.kind == "invalid_discriminant"
    assert str(trap) == ("rich.res_bad(): guest returned result[u32, str] with invalid "
                         "discriminant 2 (expected 0..1)")
    trap = trap_of(rich.res_unit_bad)           # the flat one
    assert trap.kind == "invalid_discriminant"
    assert str(trap) == ("rich.res_unit_bad(): guest returned result[None, None] with invalid "
                         "discriminant 7 (expected 0..1)")
    assert rich.res_half(4) == 2


def test_variant_flattening() -> None:
    """The flat form of variants (CanonicalABI.md flatten_variant): a discriminant, then per
    slot the join of the cases' core types.  Exports return any variant through memory, so
    this checks the type objects directly, with no guest."""
    f32_, f64_, i32_, u8_, u64_ = (SCALARS[n] for n in ("f32", "f64", "i32", "u8", "u64"))
    assert ResultType(f32_, u64_).flat == ("i32", "i64")
    assert ResultType(f64_, u8_).flat == ("i32", "i64")
    assert ResultType(i32_, f32_).flat == ("i32", "i32")
    assert ResultType(f64_, f64_).flat == ("i32", "f64")
    assert ResultType(None, STR).flat == ("i32", "i32", "i32")
    assert ResultType(None, None).flat == ("i32",)
    assert OptionType(f32_).flat == ("i32", "f32")
    assert (ResultType(f32_, u64_).size, ResultType(f32_, u64_).align) == (16, 8)
    assert (OptionType(STR).size, OptionType(STR).align) == (12, 4)
    assert (OptionType(u8_).size, OptionType(u8_).align) == (2, 1)

    joined = ResultType(f32_, u64_)
    no_guest: Any = None                    # scalars never touch the guest
    ok = joined.lower((0, 1.5), no_guest)
    assert ok == (0, struct.unpack("<I", struct.pack("<f", 1.5))[0])  # f32 bits, in an i64
    assert joined.lift(no_guest, iter(ok)) == 1.5
    err = joined.lower((1, SCALARS["u64"].converter("e")(U64_MAX)), no_guest)
    with pytest.raises(wasmimport.GuestError) as info:
        joined.lift(no_guest, iter(err))
    assert info.value.value == U64_MAX
    wide = ResultType(f64_, u8_)
    assert wide.lift(no_guest, iter(wide.lower((0, -2.5), no_guest))) == -2.5
    mixed = ResultType(i32_, f32_)
    assert mixed.lower((1, 1.0), no_guest) == (1, 0x3F800000)    # f32 bits in an i32 slot
    with pytest.raises(wasmimport.GuestError) as info:
        mixed.lift(no_guest, iter((1, 0x3F800000)))
    assert info.value.value == 1.0
    assert mixed.lift(no_guest, iter(mixed.lower((0, -7), no_guest))) == -7


# ---- enums --------------------------------------------------------------------------------


def test_enum_classes(rich: types.ModuleType) -> None:
    Color = rich.Color
    assert issubclass(Color, enum.Enum) and not issubclass(Color, enum.Flag)
    assert [(m.name, m.value) for m in Color] == [("red", 0), ("green", 1), ("blue", 2)]
    assert Color.__module__ == "rich"
    assert len(rich.E256) == 256 and len(rich.Big) == 300
    assert rich.Big.k299.value == 299


def test_enums(rich: types.ModuleType) -> None:
    Color = rich.Color
    assert rich.color_next(Color.red) is Color.green
    assert rich.color_next("blue") is Color.red
    assert rich.color_name(Color.green) == "green" and rich.color_name("blue") == "blue"
    assert rich.colors_rotate(["red", Color.blue, "green"]) == [Color.green, Color.red,
                                                                 Color.blue]
    assert rich.colors_rotate([]) == []
    assert all(type(c) is Color for c in rich.colors_rotate(["red"] * 100))


def test_enum_discriminant_sizes(rich: types.ModuleType) -> None:
    """256 cases still fit a u8; 300 need a u16 (list elements and tuple fields)."""
    Big, E256, Color = rich.Big, rich.E256, rich.Color
    assert rich.big_next("k299") is Big.k0 and rich.big_next(Big.k41) is Big.k42
    assert rich.big_list([Big.k0, "k299", Big.k255, Big.k256]) == [Big.k1, Big.k0, Big.k256,
                                                                    Big.k257]
    assert rich.e256_list(["c0", E256.c255, "c1"]) == [E256.c255, E256.c0, E256.c254]
    assert rich.enum_sizes(("blue", "c255", "k299")) == (Big.k299, E256.c255, Color.blue)
    assert rich.enum_sizes((Color.red, E256.c0, Big.k256)) == (Big.k256, E256.c0, Color.red)


@pytest.mark.parametrize("call, args, exc, message", [
    ("color_next", ("purple",), ValueError,
     "rich.color_next() argument 'c' must be a Color name (red, green, blue), not 'purple'"),
    ("color_next", (0,), TypeError, "rich.color_next() argument 'c' must be Color, not int"),
    ("color_next", (None,), TypeError,
     "rich.color_next() argument 'c' must be Color, not NoneType"),
    ("colors_rotate", (["red", "mauve"],), ValueError,
     "rich.colors_rotate() argument 'xs' item 1 must be a Color name (red, green, blue), "
     "not 'mauve'"),
    ("big_list", ([1],), TypeError, "rich.big_list() argument 'xs' item 0 must be Big, not int"),
])
def test_bad_enum_arguments(rich: types.ModuleType, call: str, args: tuple[Any, ...],
                            exc: type[Exception], message: str) -> None:
    assert error_of(exc, getattr(rich, call), *args) == message


def test_an_enum_of_another_class_is_refused(rich: types.ModuleType) -> None:
    assert error_of(TypeError, rich.color_next, rich.Perm.r) == \
        "rich.color_next() argument 'c' must be Color, not Perm"


def test_invalid_enum_values_are_traps(rich: types.ModuleType) -> None:
    for fn, message in [
        (rich.color_bad, "rich.color_bad(): guest returned Color with invalid value 3 "
                         "(expected 0..2)"),
        (rich.colors_bad, "rich.colors_bad(): guest returned Color with invalid value 3 "
                          "(expected 0..2)"),
        (rich.big_bad, "rich.big_bad(): guest returned Big with invalid value 300 "
                       "(expected 0..299)"),
    ]:
        trap = trap_of(fn)
        assert (trap.kind, str(trap)) == ("invalid_discriminant", message)
    assert rich.color_next("red") is rich.Color.green


# ---- flags --------------------------------------------------------------------------------


def test_flag_classes(rich: types.ModuleType) -> None:
    Perm = rich.Perm
    assert issubclass(Perm, enum.Flag)
    assert [(m.name, m.value) for m in Perm] == [("r", 1), ("w", 2), ("x", 4)]
    assert rich.Wide.w31.value == 2**31 and len(list(rich.Wide)) == 32


def test_flags(rich: types.ModuleType) -> None:
    Perm = rich.Perm
    flipped = rich.perm_flip(Perm.r)
    assert flipped == Perm.r | Perm.w and type(flipped) is Perm
    assert rich.perm_flip(0) == Perm.w
    assert rich.perm_flip(7) == Perm.r | Perm.x
    assert rich.perm_flip(Perm(0)) == Perm.w
    assert rich.nine_echo(rich.Nine.f8) == rich.Nine.f8
    assert rich.nine_echo(0x1FF).value == 0x1FF
    assert [f.value for f in rich.nine_not([0, rich.Nine.f0, 0x1FF, 0x100])] == \
        [0x1FF, 0x1FE, 0, 0xFF]


def test_flags_with_the_top_bit(rich: types.ModuleType) -> None:
    """32 flags: bit 31 is the sign bit of the i32 the flags travel in."""
    Wide = rich.Wide
    assert rich.wide_not(0).value == U32_MAX
    assert rich.wide_not(U32_MAX).value == 0
    assert rich.wide_not(Wide.w31).value == 2**31 - 1
    assert rich.wide_not(Wide.w0 | Wide.w30).value == U32_MAX ^ (1 | 2**30)
    assert [w.value for w in rich.wide_list([0, Wide.w31, 0x12345678])] == \
        [U32_MAX, 2**31 - 1, 0xEDCBA987]


def test_flag_sizes_in_memory(rich: types.ModuleType) -> None:
    """3 and 8 flags take 1 byte, 9 take 2, 32 take 4: tuple[Perm, Oct, Nine, Wide] is at
    offsets 0, 1, 2, 4 and the reversed tuple at 0, 4, 6, 7."""
    Perm, Oct, Nine, Wide = rich.Perm, rich.Oct, rich.Nine, rich.Wide
    assert rich.flag_sizes((Perm.x, Oct.b7, Nine.f8, Wide.w31)) == (Wide.w31, Nine.f8, Oct.b7,
                                                                     Perm.x)
    got = rich.flag_sizes((7, 0xFF, 0x1FF, U32_MAX))
    assert [f.value for f in got] == [U32_MAX, 0x1FF, 0xFF, 7]
    assert [type(f) for f in got] == [Wide, Nine, Oct, Perm]


def test_unknown_flag_bits_from_the_guest_are_dropped(rich: types.ModuleType) -> None:
    got = rich.perm_unknown()           # 0xFF, flat
    assert got == rich.Perm.r | rich.Perm.w | rich.Perm.x and got.value == 7
    assert [f.value for f in rich.nine_unknown()] == [0x1FF, 0, 0x101]    # in memory


@pytest.mark.parametrize("call, args, exc, message", [
    ("perm_flip", (8,), ValueError,
     "rich.perm_flip() argument 'p' has bits that are not Perm flags: 0x8 (known: 0x7)"),
    ("perm_flip", (-1,), ValueError,
     "rich.perm_flip() argument 'p' has bits that are not Perm flags: -0x1 (known: 0x7)"),
    ("perm_flip", ("r",), TypeError, "rich.perm_flip() argument 'p' must be Perm, not str"),
    ("perm_flip", (True,), TypeError, "rich.perm_flip() argument 'p' must be Perm, not bool"),
    ("perm_flip", (None,), TypeError,
     "rich.perm_flip() argument 'p' must be Perm, not NoneType"),
    ("wide_not", (2**32,), ValueError,
     "rich.wide_not() argument 'f' has bits that are not Wide flags: 0x100000000 "
     "(known: 0xffffffff)"),
    ("nine_not", ([0, 0x200],), ValueError,
     "rich.nine_not() argument 'xs' item 1 has bits that are not Nine flags: 0x200 "
     "(known: 0x1ff)"),
])
def test_bad_flag_arguments(rich: types.ModuleType, call: str, args: tuple[Any, ...],
                            exc: type[Exception], message: str) -> None:
    assert error_of(exc, getattr(rich, call), *args) == message


def test_flags_of_another_class_are_refused(rich: types.ModuleType) -> None:
    assert error_of(TypeError, rich.perm_flip, rich.Nine.f0) == \
        "rich.perm_flip() argument 'p' must be Perm, not Nine"


# ---- lists --------------------------------------------------------------------------------


def test_lists_of_str(rich: types.ModuleType) -> None:
    words = ["a", "", "héllo", "😀" * 10, "x" * 1000]
    assert rich.strs_rev(words) == words[::-1]
    assert rich.strs_rev(("x", "y")) == ["y", "x"]
    assert rich.strs_rev(iter(["one"])) == ["one"]
    assert rich.strs_rev([]) == [] and type(rich.strs_rev([])) is list
    assert rich.strs_join(["a", "b", "c"]) == "a,b,c"
    assert rich.strs_join([]) == "" and rich.strs_join([""]) == ""
    assert rich.strs_join(str(i) for i in range(5)) == "0,1,2,3,4"
    assert rich.empty_strs() == []


def test_lists_of_records(rich: types.ModuleType) -> None:
    Point = rich.Point
    scaled = rich.points_scale([(1, 2), Point(3, 4), {"x": 5, "y": 6}], 2)
    assert scaled == [Point(2.0, 4.0), Point(6.0, 8.0), Point(10.0, 12.0)]
    assert all(type(p) is Point for p in scaled)
    assert rich.points_scale([], 2.0) == []
    assert rich.points_sum([(1, 2), (3, 4), (0.5, 0.25)]) == Point(4.5, 6.25)
    assert rich.points_sum([]) == Point(0.0, 0.0)
    many = [Point(float(i), -float(i)) for i in range(500)]
    assert rich.points_scale(many, -1.0) == [Point(-p.x, -p.y) for p in many]


def test_lists_of_lists(rich: types.ModuleType) -> None:
    assert rich.lists_rev([[1, 2, 3], [], [255]]) == [[255], [], [3, 2, 1]]
    assert rich.lists_rev([]) == [] and rich.lists_rev([[]]) == [[]]
    assert rich.lists_rev([b"ab", bytearray(b"c")]) == [[99], [98, 97]]   # buffers too
    assert error_of(OverflowError, rich.lists_rev, [[1], [256]]) == \
        "rich.lists_rev() argument 'xs' item 1 item 0 is out of range for u8 (0..255): 256"
    assert error_of(TypeError, rich.lists_rev, [[1], 2]) == \
        "rich.lists_rev() argument 'xs' item 1 must be a sequence of int, not int"


def test_lists_of_bool(rich: types.ModuleType) -> None:
    got = rich.bools_not([True, False, 0, 1, "", "x", None, [0]])
    assert got == [False, True, True, False, True, False, True, False]
    assert all(type(b) is bool for b in got)
    assert rich.bools_not([]) == []
    assert rich.bools_raw() == [False, True, True, True]   # bytes 0, 1, 2, 255


def test_lists_of_tuples_and_options(rich: types.ModuleType) -> None:
    assert rich.pairs_swap([(1, "a"), (65535, "é"), (0, "")]) == [("a", 1), ("é", 65535),
                                                                   ("", 0)]
    assert rich.pairs_swap([]) == []
    assert error_of(OverflowError, rich.pairs_swap, [(1, "a"), (65536, "b")]) == \
        "rich.pairs_swap() argument 'xs' item 1 item 0 is out of range for u16 (0..65535): 65536"
    assert rich.opts_double([1, None, 2**31, 0, U32_MAX]) == [2, None, 0, 0, U32_MAX - 1]
    assert rich.opts_double([None] * 3) == [None] * 3
    assert rich.opts_nones([None, 1, None]) == 2 and rich.opts_nones([]) == 0
    assert error_of(TypeError, rich.opts_nones, [1, "2"]) == \
        "rich.opts_nones() argument 'xs' item 1 must be int, not str"


@pytest.mark.parametrize("call, args, exc, message", [
    ("strs_rev", (["a", 5],), TypeError, "rich.strs_rev() argument 'xs' item 1 must be str, "
                                         "not int"),
    ("strs_rev", ("ab",), TypeError,
     "rich.strs_rev() argument 'xs' must be a sequence of str, not str"),
    ("strs_rev", (5,), TypeError, "rich.strs_rev() argument 'xs' must be a sequence of str, "
                                  "not int"),
    ("strs_rev", ({"a": "b"},), TypeError,
     "rich.strs_rev() argument 'xs' must be a sequence of str, not dict"),
    ("strs_rev", (b"ab",), TypeError,
     "rich.strs_rev() argument 'xs' must be a sequence of str, not bytes"),
    ("points_scale", ([(1, 2), (3, 4, 5)], 1.0), TypeError,
     "rich.points_scale() argument 'ps' item 1 must have 2 fields (x, y), not 3"),
    ("bools_not", (5,), TypeError,
     "rich.bools_not() argument 'xs' must be a sequence of bool, not int"),
])
def test_bad_list_arguments(rich: types.ModuleType, call: str, args: tuple[Any, ...],
                            exc: type[Exception], message: str) -> None:
    assert error_of(exc, getattr(rich, call), *args) == message


# ---- cstr ---------------------------------------------------------------------------------


def test_cstr_parameters(rich: types.ModuleType) -> None:
    assert rich.c_len("héllo") == 6 and rich.c_len("") == 0
    assert rich.c_len(None) == -1                     # None is the NULL pointer
    assert rich.c_lens(["ab", None, "", "héllo"]) == [2, -1, 0, 6]
    assert rich.c_lens([]) == []
    assert rich.c_join("ab", "cd") == "abcd" and rich.c_join("ab") == "ab"
    assert rich.c_join(None, "x") == "x"


def test_cstr_results(rich: types.ModuleType) -> None:
    assert rich.c_upper("abc é xyz") == "ABC é XYZ"
    assert rich.c_upper("") == ""
    assert rich.c_upper(None) is None
    assert rich.c_null() is None                      # NULL is None
    assert rich.c_join(None, None) is None
    assert rich.c_join("x" * 5000, "y") == "x" * 5000 + "y"


@pytest.mark.parametrize("call, args, exc, message", [
    ("c_len", ("a\0b",), ValueError, "rich.c_len() argument 's': embedded null character"),
    ("c_len", (b"x",), TypeError, "rich.c_len() argument 's' must be str or None, not bytes"),
    ("c_len", (5,), TypeError, "rich.c_len() argument 's' must be str or None, not int"),
    ("c_join", ("a", "\0"), ValueError, "rich.c_join() argument 'b': embedded null character"),
    ("c_lens", (["ok", "a\0"],), ValueError,
     "rich.c_lens() argument 'xs' item 1: embedded null character"),
])
def test_bad_cstr_arguments(rich: types.ModuleType, call: str, args: tuple[Any, ...],
                            exc: type[Exception], message: str) -> None:
    assert error_of(exc, getattr(rich, call), *args) == message


def test_a_cstr_that_is_not_utf8_or_not_encodable(rich: types.ModuleType) -> None:
    with pytest.raises(UnicodeEncodeError, match=r"rich\.c_len\(\) argument 's'"):
        rich.c_len("\ud800")


def test_a_cstr_without_nul_before_the_end_of_memory_is_a_trap(
        rich: types.ModuleType) -> None:
    trap = trap_of(rich.c_unterminated)
    assert trap.kind == "memory_out_of_bounds"
    assert str(trap).startswith("rich.c_unterminated(): guest returned a cstr at 0x")
    assert "with no NUL before the end of memory" in str(trap)
    assert rich.c_len("still usable") == 12


# ---- buffer -------------------------------------------------------------------------------


@pytest.mark.needs("numpy")
def test_buffer_is_filled_in_place(rich: types.ModuleType) -> None:
    buf = bytearray(b"abc")
    assert rich.fill(buf, 0x41) == 3 and buf == bytearray(b"AAA")
    view = memoryview(bytearray(5))
    assert rich.fill(view, 7) == 5 and view.tobytes() == b"\x07" * 5
    backing = bytearray(6)
    assert rich.fill(memoryview(backing)[2:5], 9) == 3        # a slice: only its bytes
    assert backing == bytearray(b"\0\0\x09\x09\x09\0")
    ints = array.array("i", [0, 0])
    assert rich.fill(ints, 1) == 8 and list(ints) == [0x01010101] * 2
    shorts = np.zeros(4, dtype=np.uint16)
    assert rich.fill(shorts, 2) == 8 and shorts.tolist() == [0x0202] * 4
    empty = bytearray()
    assert rich.fill(empty, 1) == 0 and empty == bytearray()


def test_buffer_is_read_and_modified(rich: types.ModuleType) -> None:
    buf = bytearray(b"\x01\x02\x03")
    assert rich.buf_xor(buf, 0xFF) == 6 and buf == bytearray(b"\xfe\xfd\xfc")
    assert rich.buf_xor(buf, 0xFF) == 0xFE + 0xFD + 0xFC and buf == bytearray(b"\x01\x02\x03")
    a, b = bytearray(b"abcd"), bytearray(b"xy")
    assert rich.buf_swap(a, b) is None
    assert (a, b) == (bytearray(b"xycd"), bytearray(b"ab"))
    assert rich.buf_swap(b=memoryview(a), a=bytearray(b"123456")) is None
    assert a == bytearray(b"1234")


@pytest.mark.parametrize("value, message", [
    (b"abc", "rich.fill() argument 'buf' must be a writable bytes-like object (bytearray, "
             "memoryview, array), not read-only bytes"),
    (memoryview(b"abc"), "rich.fill() argument 'buf' must be a writable bytes-like object "
                         "(bytearray, memoryview, array), not read-only memoryview"),
    ("abc", "rich.fill() argument 'buf' must be a writable bytes-like object (bytearray, "
            "memoryview, array), not str"),
    ([1, 2], "rich.fill() argument 'buf' must be a writable bytes-like object (bytearray, "
             "memoryview, array), not list"),
    (memoryview(bytearray(6))[::2], "rich.fill() argument 'buf' must be a C-contiguous buffer"),
])
def test_bad_buffer_arguments(rich: types.ModuleType, value: Any, message: str) -> None:
    assert error_of(TypeError, rich.fill, value, 1) == message


def test_a_failed_call_leaves_the_buffer_alone(rich: types.ModuleType) -> None:
    buf = bytearray(b"abc")
    assert error_of(OverflowError, rich.fill, buf, 256) == \
        "rich.fill() argument 'byte' is out of range for u8 (0..255): 256"
    assert buf == bytearray(b"abc")


# ---- the 16-flat-value limit --------------------------------------------------------------


def spill_args(rich: types.ModuleType) -> list[tuple[Any, ...]]:
    """flat16's arguments: with values, and with the options None and the strs empty."""
    return [(rich.Point(1.0, -2.0), rich.Mixed(3, U64_MAX, 65535, "dé"), 6, "s", 1.5,
             rich.Color.blue, rich.Perm.x | rich.Perm.r, 2**63),
            ((0, 0), (0, 0, 0, ""), None, "", None, "red", 0, 0)]


def test_exactly_16_flat_params_are_passed_flat(rich: types.ModuleType) -> None:
    sig = next(f.signature for f in rich.__wasmimport__.manifest.functions if f.name == "flat16")
    assert len(sig.core_params()) == 16 and not sig.spills()
    args = spill_args(rich)
    got = rich.flat16(*args[0])
    assert got == (2**63, rich.Perm.r | rich.Perm.x, rich.Color.blue, 1.5, "s", 6,
                   rich.Mixed(3, U64_MAX, 65535, "dé"), rich.Point(1.0, -2.0))
    assert type(got[6]) is rich.Mixed and type(got[7]) is rich.Point
    assert rich.flat16(*args[1]) == (0, rich.Perm(0), rich.Color.red, None, "", None,
                                     (0, 0, 0, ""), (0.0, 0.0))


def test_17_flat_params_spill_to_memory(rich: types.ModuleType) -> None:
    sig = next(f.signature for f in rich.__wasmimport__.manifest.functions if f.name == "flat17")
    assert len(sig.core_params()) == 17 and sig.spills()
    args = spill_args(rich)
    got = rich.flat17(*args[0], True)
    assert got == (True, 2**63, rich.Perm.r | rich.Perm.x, rich.Color.blue, 1.5, "s", 6,
                   rich.Mixed(3, U64_MAX, 65535, "dé"), rich.Point(1.0, -2.0))
    assert type(got[0]) is bool and type(got[8]) is rich.Point
    assert rich.flat17(*args[1], b=0) == (False, 0, rich.Perm(0), rich.Color.red, None, "",
                                          None, (0, 0, 0, ""), (0.0, 0.0))
    assert error_of(TypeError, rich.flat17, *args[1][:4], "2.0", "red", 0, 0, False) == \
        "rich.flat17() argument 'q' must be float, not str"


def test_bad_arguments_of_spilled_functions(rich: types.ModuleType) -> None:
    args = list(spill_args(rich)[0])
    args[1] = (3, 4, 5, None)
    assert error_of(TypeError, rich.flat17, *args, True) == \
        "rich.flat17() argument 'm' field 'd' must be str, not NoneType"
    assert error_of(TypeError, rich.flat16, *args) == \
        "rich.flat16() argument 'm' field 'd' must be str, not NoneType"


def test_memory_does_not_grow_with_calls(rich: types.ModuleType) -> None:
    """Every argument and result buffer is freed (in the call or in cabi_post_<name>)."""
    args = spill_args(rich)[0]
    big = bytearray(50_000)

    def calls() -> None:
        rich.flat16(*args)
        rich.flat17(*args, True)
        rich.mixed_list_rev([args[1]] * 50)
        rich.strs_rev(["x" * 100] * 50)
        rich.strs_join(["y" * 100] * 50)
        rich.lists_rev([[1] * 100] * 50)
        rich.pairs_swap([(1, "z" * 50)] * 50)
        rich.bag_bump(([1] * 100, "tag"))
        rich.opt_str("s" * 100)
        rich.res_rev("r" * 100)
        rich.c_upper("u" * 100)
        rich.c_join("a" * 100, "b")
        rich.c_lens(["c" * 100] * 20)
        rich.fill(big, 1)
        rich.buf_xor(big, 2)
        rich.buf_swap(big, bytearray(1000))
        rich.tup_swap((1, "t" * 100))
        rich.mixed_from(("m" * 100, 1, 2, 3))
    calls()
    pages = rich.mem_pages()
    for _ in range(100):
        calls()
    assert rich.mem_pages() == pages


# ---- signatures, annotations, pickling ----------------------------------------------------


@pytest.mark.parametrize("name, text", [
    ("point_swap", "(p: rich.Point) -> rich.Point"),
    ("point_dot", "(p: rich.Point, q: rich.Point) -> float"),
    ("opt_u8_or", "(x: int | None, default: int = 9) -> int"),
    ("opt_point", "(p: rich.Point | None) -> rich.Point | None"),
    ("c_join", "(a: str | None, b: str | None = None) -> str | None"),
    ("fill", "(buf: bytearray | memoryview, byte: int) -> int"),
    ("buf_swap", "(a: bytearray | memoryview, b: bytearray | memoryview) -> None"),
    ("res_half", "(x: int) -> int"),
    ("res_nonzero", "(x: int) -> None"),
    ("res_rev", "(s: str) -> str"),
    ("res_unit", "(x: int) -> None"),
    ("tup_nested", "(t: tuple[float, tuple[int, bool]]) -> tuple[tuple[bool, int], float]"),
    ("points_scale", "(ps: list[rich.Point], k: float) -> list[rich.Point]"),
    ("colors_rotate", "(xs: list[rich.Color]) -> list[rich.Color]"),
    ("perm_flip", "(p: rich.Perm) -> rich.Perm"),
    ("opts_double", "(xs: list[int | None]) -> list[int | None]"),
    ("flat17", "(p: rich.Point, m: rich.Mixed, o: int | None, s: str, q: float | None, "
               "c: rich.Color, f: rich.Perm, n: int, b: bool) -> tuple[bool, int, rich.Perm, "
               "rich.Color, float | None, str, int | None, rich.Mixed, rich.Point]"),
])
def test_signatures(rich: types.ModuleType, name: str, text: str) -> None:
    assert str(inspect.signature(getattr(rich, name))) == text


def test_annotations_show_the_classes(rich: types.ModuleType) -> None:
    Point, Perm = rich.Point, rich.Perm
    list_of_colors = types.GenericAlias(list, (rich.Color,))     # list[rich.Color]
    assert rich.point_swap.__annotations__ == {"p": Point, "return": Point}
    assert rich.opt_point.__annotations__ == {"p": Point | None, "return": Point | None}
    assert rich.colors_rotate.__annotations__ == {"xs": list_of_colors,
                                                  "return": list_of_colors}
    assert rich.perm_flip.__annotations__ == {"p": Perm, "return": Perm}
    assert rich.res_half.__annotations__ == {"x": int, "return": int}
    assert rich.res_nonzero.__annotations__ == {"x": int, "return": None}
    assert rich.c_upper.__annotations__ == {"s": str | None, "return": str | None}
    assert rich.fill.__annotations__ == {"buf": bytearray | memoryview, "byte": int,
                                         "return": int}
    assert rich.mixed_rev.__annotations__ == {"m": rich.Mixed,
                                              "return": tuple[str, int, int, int]}


def test_results_pickle_by_reference(rich: types.ModuleType,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", rich)
    for value in (rich.point_swap((1, 2)), rich.line_flip(((1, 2), (3, 4))),
                  rich.mixed_from(("d", 1, 2, 3)), rich.bag_bump(([1], None)),
                  rich.color_next("red"), rich.big_next("k298"), rich.perm_flip(5),
                  rich.wide_not(0), rich.flat17(*spill_args(rich)[0], True)):
        again = pickle.loads(pickle.dumps(value))
        assert again == value and type(again) is type(value)
    assert pickle.loads(pickle.dumps(rich.Color.blue)) is rich.Color.blue


@pytest.mark.parametrize("path", PATHS)
def test_results_of_an_imported_module_pickle(path: str, hook: None, syspath: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMIMPORT_PURE", "1" if path == "pure" else "0")
    for suffix in (".wasm", ".wasm.toml"):
        shutil.copy(guest_path("rich").with_suffix(suffix), syspath / f"rich_pickled{suffix}")
    import rich_pickled  # type: ignore[import-not-found]

    point = rich_pickled.point_swap((1, 2))
    assert pickle.loads(pickle.dumps(point)) == point
    assert type(pickle.loads(pickle.dumps(point))) is rich_pickled.Point
    assert pickle.loads(pickle.dumps(rich_pickled.color_next("red"))) is rich_pickled.Color.green
    assert pickle.loads(pickle.dumps(rich_pickled.point_swap)) is rich_pickled.point_swap


# ---- the two call paths agree -------------------------------------------------------------


class Fresh:
    """An argument made anew for each call path: buffers are modified, iterators consumed."""

    def __init__(self, make: Callable[[], Any]):
        self.make = make

    def __repr__(self) -> str:
        return repr(self.make())


def each(*values: Any) -> tuple[Any, ...]:
    """The arguments as a tuple of Any (cases of very different types, for mypy)."""
    return values


def rich_calls() -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """(function, args, kwargs) at the edges of every tier-2 type, good and bad."""
    yield "c_unterminated", (), {}           # first: its address depends on memory's size
    for p in each((1.0, 2.0), (1, 2), {"x": 1, "y": 2}, {"x": 1}, {"x": 1, "y": 2, "z": 3},
              (1.0,), ("a", 1.0), [1.0, 2.0], None, 5, (Boom(), 1.0), (2**1100, 1.0),
              (float("nan"), float("-inf")), (np.float64(1.5), np.int8(3))):
        yield "point_swap", (p,), {}
        yield "point_dot", (p, (1.0, 1.0)), {}
        yield "opt_point", (p,), {}
    for line in each(((1, 2), (3, 4)), ((1, 2), 3), ((1, 2), (3, "x")), ({"x": 0, "y": 0}, (1, 1))):
        yield "line_flip", (line,), {}
        yield "line_mid", (line,), {}
    for m in each((255, U64_MAX, 65535, "héllo"), (256, 0, 0, ""), (0, -1, 0, ""),
              (0, 0, 65536, ""), (0, 0, 0, b"d"), (0, 0, 0, "\ud800"), (0, 0, 0), (True, 1, 1, "")):
        yield "mixed_rev", (m,), {}
        yield "mixed_list_rev", ([m, m],), {}
    yield "mixed_from", (("d", 1, 2, 3),), {}
    yield "mixed_from", (("d", 1, 2, 256),), {}
    for bag in each(([1, 2, U32_MAX], "abc"), ([], None), {"items": (5,), "tag": ""},
                    ([1, -1], None), ([], 5), ("ab", None),
                    (np.array([1, 2], dtype=np.uint32), "n"), (array.array("I", [7]), None),
                    ([1.5], None)):
        yield "bag_bump", (bag,), {}
    for t in each((7, "sé"), (U32_MAX, ""), [1, "list"], (1,), (1, "a", 3), (1, 2), (-1, "a"), 5,
              "ab", {"a": 1, "b": "x"}, Fresh(lambda: iter([3, "it"]))):
        yield "tup_swap", (t,), {}
    for n in each(4, U32_MAX, -1, "x"):
        yield "tup_pair", (n, "é"), {}
    for t in each((1.5, (255, True)), (0.1, (7, 0)), (1e39, (0, 0)), (1.0, (256, 0)), (1.0, (1,)),
              (1.0, (1, Boom())), (3.4028235e38, (0, [])), (float("nan"), (0, 1))):
        yield "tup_nested", (t,), {}
    for x in each(None, 0, 254, 255, 256, -1, "1", 1.0, True, Boom(), np.uint8(7)):
        yield "opt_u8", (x,), {}
        yield "opt_u8_or", (x,), {}
    yield "opt_u8_or", (None, 3), {}
    yield "opt_u8_or", (None,), {"default": 300}
    yield "opt_u8_or", (), {"x": 1}
    yield "opt_u8_or", (), {}
    for s in each(None, "", "hé", 5, b"x", "\ud800", "x" * 3000):
        yield "opt_str", (s,), {}
        yield "res_rev", (s,), {}
    for f in each(None, 1.5, 0.1, float("inf"), float("nan"), -0.0, 1e39, "1", 2**200, Boom()):
        yield "opt_f32", (f,), {}
        yield "res_f32_u64", (f,), {}
        yield "res_f64_u8", (f,), {}
    yield "opt_bad", (), {}
    for x in each(0, 1, 2, 3, 10, U32_MAX, U32_MAX - 1, -1, 2**32, None, 1.0):
        yield "res_half", (x,), {}
        yield "res_nonzero", (x,), {}
        yield "res_unit", (x,), {}
    yield "res_bad", (), {}
    yield "res_unit_bad", (), {}
    for c in each("red", "green", "blue", "purple", 0, None, True, Boom(), "RED"):
        yield "color_next", (c,), {}
        yield "color_name", (c,), {}
    yield "color_bad", (), {}
    yield "colors_bad", (), {}
    for xs in each([], ["red", "blue"], ["red", "mauve"], [0], "red", None, ("green",) * 300):
        yield "colors_rotate", (xs,), {}
    for b in each("k0", "k299", "k300", 0, None):
        yield "big_next", (b,), {}
    yield "big_bad", (), {}
    yield "big_list", (["k0", "k299", "k255", "k256"],), {}
    yield "big_list", ([1],), {}
    yield "e256_list", (["c0", "c255", "c1"],), {}
    yield "enum_sizes", (("blue", "c255", "k299"),), {}
    yield "enum_sizes", (("blue", "c256", "k299"),), {}
    for p in each(0, 1, 7, 8, -1, "r", True, None, 2**40, Boom(), np.int32(1)):
        yield "perm_flip", (p,), {}
    yield "perm_unknown", (), {}
    for f in each(0, 0x1FF, 0x200, -1):
        yield "nine_echo", (f,), {}
    yield "nine_not", ([0, 1, 0x1FF, 0x100],), {}
    yield "nine_not", ([0, 0x200],), {}
    yield "nine_unknown", (), {}
    for w in each(0, 1, 2**31, U32_MAX, 2**32, -1):
        yield "wide_not", (w,), {}
        yield "wide_list", ([w, 0],), {}
    yield "flag_sizes", ((7, 0xFF, 0x1FF, U32_MAX),), {}
    yield "flag_sizes", ((7, 0x100, 0x1FF, U32_MAX),), {}
    for xs in each([], ["a", "", "héllo"], ("x", "y"), ["a", 5], "ab", 5, {"a": "b"}, b"ab",
               ["\ud800"], ["z" * 1000] * 10, Fresh(lambda: iter(["it", "er"]))):
        yield "strs_rev", (xs,), {}
        yield "strs_join", (xs,), {}
        yield "c_lens", (xs,), {}
    yield "empty_strs", (), {}
    for ps in each([], [(1, 2), {"x": 3, "y": 4}], [(1, 2), "xy"], [(1, 2), (3, 4, 5)], [None]):
        yield "points_scale", (ps, 2.0), {}
        yield "points_sum", (ps,), {}
    yield "points_scale", ([(1, 2)], "2"), {}
    for lists in each([], [[]], [[1, 2, 3], [], [255]], [b"ab", bytearray(b"c")], [[256]], [[1], 2],
                  [np.array([1, 2], dtype=np.uint8)], [np.array([1, 2], dtype=np.int64)]):
        yield "lists_rev", (lists,), {}
    for bools in each([], [True, False, 0, 1, "", "x", None], [Boom()], 5, "str"):
        yield "bools_not", (bools,), {}
    yield "bools_raw", (), {}
    for pairs in each([], [(1, "a"), (65535, "é")], [(65536, "b")], [(1, 2)], [(1,)], [1]):
        yield "pairs_swap", (pairs,), {}
    for opts in each([], [1, None, 2**31, 0, U32_MAX], [None] * 3, [1, "2"], [-1], [None, 2**32]):
        yield "opts_double", (opts,), {}
        yield "opts_nones", (opts,), {}
    for s in each("héllo", "", None, "a\0b", b"x", 5, "\ud800"):
        yield "c_len", (s,), {}
        yield "c_upper", (s,), {}
        yield "c_join", (s,), {}
        yield "c_join", ("pre", s), {}
    yield "c_null", (), {}
    yield "c_join", (None, None), {}
    buffers: list[Callable[[], Any]] = [
        lambda: bytearray(b"abc"), bytearray, lambda: b"abc", lambda: memoryview(b"abc"),
        lambda: "abc", lambda: [1, 2], lambda: memoryview(bytearray(6))[::2],
        lambda: memoryview(bytearray(b"0123456789"))[3:7], lambda: array.array("i", [0, -1]),
        lambda: np.arange(3, dtype=np.uint16)]
    for make in buffers:
        yield "fill", (Fresh(make), 0x41), {}
        yield "buf_xor", (Fresh(make), 0xFF), {}
    yield "fill", (Fresh(lambda: bytearray(3)), 256), {}
    yield "buf_swap", (Fresh(lambda: bytearray(b"abcd")), Fresh(lambda: bytearray(b"xy"))), {}
    yield "buf_swap", (Fresh(lambda: bytearray(b"abcd")), b"xy"), {}
    good = ((1.0, -2.0), (3, U64_MAX, 65535, "dé"), 6, "s", 1.5, "blue", 5, 2**63)
    bad = ((1.0, -2.0), (3, 4, 5, None), None, "", None, "red", 0, 0)
    for args in each(good, bad, good[:7], (*good[:4], "x", *good[5:])):
        yield "flat16", args, {}
        yield "flat17", (*args, True), {}
    yield "flat17", good, {"b": Boom()}
    yield "mem_pages", (), {}


@pytest.mark.needs("numpy")
def test_both_paths_give_the_same_outcome_for_every_call() -> None:
    """Every call of ``rich_calls()`` does the same on both paths (all differences listed)."""
    compiled, pure = load_on_path("rich", "compiled"), load_on_path("rich", "pure")
    differences: list[str] = []
    compared = 0
    for name, args, kwargs in rich_calls():
        args_1 = tuple(a.make() if isinstance(a, Fresh) else a for a in args)
        args_2 = tuple(a.make() if isinstance(a, Fresh) else a for a in args)
        got = outcome(getattr(compiled, name), args_1, kwargs)
        want = outcome(getattr(pure, name), args_2, kwargs)
        if got != want:
            differences.append(f"{name}{args!r} {kwargs!r}:\n  compiled {got!r}\n  "
                               f"pure     {want!r}")
        for a, b in zip(args_1, args_2):         # buffers were copied back alike
            if isinstance(a, (bytearray, memoryview, array.array, np.ndarray)) and \
                    bytes(a) != bytes(b):
                differences.append(f"{name}{args!r}: buffer {bytes(a)!r} != {bytes(b)!r}")
        compared += 1
    assert compared > 300
    assert not differences, f"{len(differences)} of {compared} calls differ:\n" + \
        "\n".join(differences)
    assert compiled.mem_pages() == pure.mem_pages()


# ---- manifest errors ----------------------------------------------------------------------


def thirty_three_flags() -> str:
    return "[types.F]\nflags = [" + ", ".join(f'"f{i}"' for i in range(33)) + "]\n"


@pytest.mark.parametrize("toml, message", [
    ('[functions]\npoint_swap = "(p: Pont) -> u32"\n',
     r"\[functions\] point_swap: unknown type 'Pont' \(expected one of i8, .*\) in signature "
     r"'\(p: Pont\) -> u32'"),
    ('[types.Point]\nx = "f64"\n[functions]\npoint_swap = "(p: Pont) -> Point"\n',
     r"\[functions\] point_swap: unknown type 'Pont' \(expected one of .*, Point, list\[T\]"),
    ('[functions]\nres_half = "(r: result[u32, str]) -> u32"\n',
     r"\[functions\] res_half: result is only a function's result type, not a parameter type"),
    ('[functions]\nf = "() -> list[result[u32, str]]"\n',
     r"\[functions\] f: result is only a function's result type, not an item or field type"),
    ('[functions]\nf = "() -> result[u32]"\n',
     r"\[functions\] f: result takes two types \(ok, error\), not 1"),
    ('[functions]\nfill = "() -> buffer"\n',
     r"\[functions\] fill: buffer is only a type for an exported function's own parameters, "
     r"not a result type"),
    ('[functions]\nfill = "(b: list[buffer]) -> None"\n',
     r"\[functions\] fill: buffer is only a type for an exported function's own parameters, "
     r"not an item or field type"),
    ('[types.P]\nb = "buffer"\n',
     r"\[types\.P\] b: buffer is only a type for an exported function's own parameters, "
     r"not an item or field type in type 'buffer'"),
    ('[imports.env.f]\npython = "os:getcwd"\nsignature = "(b: buffer) -> None"\n',
     r"\[imports\.env\.f\]: buffer is only a type .*, not a host function's parameter type"),
    ('[functions]\nc_len = "(x: None) -> u32"\n',
     r"\[functions\] c_len: None is only a result type, not a parameter type"),
    ('[types.P]\nx = "None"\n',
     r"\[types\.P\] x: None is only a result type, not an item or field type"),
    ('[functions]\nc_len = "(s: cstr | None) -> i32"\n',
     r"\[functions\] c_len: cstr already accepts and returns None \(the NULL pointer\); "
     r"write cstr, not 'cstr \| None'"),
    ('[functions]\nopt_u8 = "(x: (u8 | None) | None) -> None"\n',
     r"\[functions\] opt_u8: 'u8 \| None \| None': an option of an option cannot be told apart "
     r"from None in Python"),
    ('[functions]\nf = "(x: str | u8) -> None"\n',
     r"\[functions\] f: unsupported union 'str \| u8' \(only 'T \| None' and 'bytes \| str' "
     r"are\)"),
    ('[functions]\nf = "(x: list) -> None"\n', r"\[functions\] f: list needs its item types"),
    ('[types.Node]\nvalue = "u32"\nnext = "list[Node]"\n',
     r"\[types\.Node\]: a record cannot contain itself \(Node -> Node\)"),
    ('[types.A]\nb = "B"\n[types.B]\na = "A | None"\n',
     r"\[types\.A\]: a record cannot contain itself \(A -> B -> A\)"),
    ('[types.Tree]\nvariant = { leaf = "i32", node = "list[Tree]" }\n',
     r"\[types\.Tree\]: a variant cannot contain itself \(Tree -> Tree\)"),
    ('[types.Shape]\nvariant = { dot = "None", group = "Group" }\n[types.Group]\n'
     'first = "Shape"\n',
     r"\[types\.Shape\]: a variant cannot contain itself \(Shape -> Group -> Shape\)"),
    ('[types.E]\nenum = []\n', r"\[types\.E\] enum must be a non-empty list of names"),
    ('[types.E]\nenum = ["a b"]\n', r"\[types\.E\] enum must be a non-empty list of names .*"
                                    r"not \['a b'\]"),
    ('[types.F]\nflags = ["r", "w", "r"]\n', r"\[types\.F\] flags names 'r' twice"),
    (thirty_three_flags(), r"\[types\.F\] flags has 33 flags; at most 32 are supported"),
    ('[functions]\nf = "() -> tuple[()] | None"',
     r"\[functions\] f: tuple\[\(\)\] has no items \(the Canonical ABI has no empty tuples"),
    ('[types.point_swap]\nx = "f64"\n[functions]\npoint_swap = "(p: point_swap) -> f64"\n',
     r"\[functions\] point_swap: the name is taken by \[types\.point_swap\]"),
    ('[types.P]\nclass = "u8"\n',
     r"\[types\.P\] class: field names must be identifiers that are not keywords"),
    ('[types.P]\n_x = "u8"\n', r"\[types\.P\] _x: field names must be identifiers"),
    ('[types.str]\nx = "u8"\n', r"\[types\.str\]: type names must be identifiers .* not "
                                r"built-in types"),
    ('[types.P]\nx = "list[u8"\n', r"\[types\.P\] x: invalid syntax .* in type 'list\[u8'"),
    ('[types.P]\nx = 5\n', r"\[types\.P\] x must be a type string like \"f64\", not int"),
    ('[types.P]\n', r"\[types\.P\] must be a table of fields, or enum = \[\.\.\.\], "
                    r"flags = \[\.\.\.\], variant = \{\.\.\.\} or resource = \{\.\.\.\}"),
    ('types = 5\n', r"\[types\] must be a table of type declarations"),
])
def test_manifest_errors_name_the_file_and_the_entry(tmp_path: Path, toml: str,
                                                     message: str) -> None:
    shutil.copy(guest_path("rich"), tmp_path / "m.wasm")
    manifest = tmp_path / "m.wasm.toml"
    manifest.write_text(toml)
    with pytest.raises(wasmimport.ManifestError) as info:
        wasmimport.load(tmp_path / "m.wasm")
    text = str(info.value)
    assert text.startswith(f"{manifest}: "), text
    assert re.search(message, text), text

