"""Compound types through host functions (``[imports]``): records, enums, lists of str and
results cross from the guest into Python and back, on both call paths.

The guest is WebAssembly text assembled here: each export forwards to one import, handing it
a return area at a fixed address when the import's result is wider than one value, and
returns that address as its own return area.  Host functions need the compiled extension
(test_host.py shows the pure fallback refusing them); their values are lifted and lowered by
the pure-Python type code either way.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from conftest import wat_binary

WAT = """
(module
  (import "env" "mk_point" (func $mk_point (param f64 f64 i32)))
  (import "env" "norm1" (func $norm1 (param f64 f64) (result f64)))
  (import "env" "check" (func $check (param i32 i32)))
  (import "env" "names" (func $names (param i32)))
  (import "env" "next_color" (func $next_color (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get 2))))
    (global.set $bump (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (func (export "mk") (param f64 f64) (result i32)
    (call $mk_point (local.get 0) (local.get 1) (i32.const 64)) (i32.const 64))
  (func (export "norm") (param f64 f64) (result f64)
    (call $norm1 (local.get 0) (local.get 1)))
  (func (export "checked") (param i32) (result i32)
    (call $check (local.get 0) (i32.const 128)) (i32.const 128))
  (func (export "all_names") (result i32)
    (call $names (i32.const 192)) (i32.const 192))
  (func (export "next") (param i32) (result i32)
    (call $next_color (local.get 0)))
)
"""

MANIFEST = """
[types.Point]
x = "f64"
y = "f64"

[types.Color]
enum = ["red", "green", "blue"]

[functions]
mk = "(x: f64, y: f64) -> Point"
norm = "(p: Point) -> f64"
checked = "(n: i32) -> result[u32, str]"
all_names = "() -> list[str]"
next = "(c: Color) -> Color"

[imports.env.mk_point]
python = "test_rich_host:mk_point"
signature = "(x: f64, y: f64) -> Point"

[imports.env.norm1]
python = "test_rich_host:norm1"
signature = "(p: Point) -> f64"

[imports.env.check]
python = "test_rich_host:check"
signature = "(n: i32) -> result[u32, str]"

[imports.env.names]
python = "test_rich_host:names"
signature = "() -> list[str]"

[imports.env.next_color]
python = "test_rich_host:next_color"
signature = "(c: Color) -> Color"
"""

seen: list[Any] = []      # what the host functions received


def mk_point(x: float, y: float) -> tuple[float, float]:
    return (x * 2, y * 2)           # a plain tuple: converted like any Point argument


def norm1(p: Any) -> float:
    seen.append(p)
    return float(abs(p.x) + abs(p.y))


def check(n: int) -> int:
    if n < 0:
        raise wasmimport.GuestError(f"{n} is negative")
    return n * 10


def names() -> list[str]:
    return ["alpha", "βeta", ""]


def next_color(c: Any) -> Any:
    seen.append(c)
    return type(c)((c.value + 1) % 3)


pytestmark = pytest.mark.usefixtures("compiled")


def load(folder: Path) -> types.ModuleType:
    path = folder / "richhost.wasm"
    path.write_bytes(wat_binary(WAT))
    seen.clear()
    return wasmimport.load(path, name="richhost", manifest=MANIFEST)


@pytest.fixture
def mod(tmp_path: Path) -> types.ModuleType:
    return load(tmp_path)


def test_a_record_result_from_a_host_function(mod: types.ModuleType) -> None:
    point = mod.mk(1.5, -2.0)
    assert point == (3.0, -4.0) and type(point) is mod.Point


def test_a_record_argument_of_a_host_function(mod: types.ModuleType) -> None:
    assert mod.norm(mod.Point(3.0, -4.0)) == 7.0
    assert type(seen[0]) is mod.Point and seen[0] == (3.0, -4.0)


def test_a_host_function_hands_the_guest_an_ok_or_an_error(mod: types.ModuleType) -> None:
    assert mod.checked(4) == 40
    with pytest.raises(wasmimport.GuestError) as info:
        mod.checked(-3)
    assert info.value.value == "-3 is negative"
    assert info.value.function == "richhost.checked()"
    assert str(info.value) == "richhost.checked(): guest returned an error: '-3 is negative'"


def test_a_list_of_str_result_from_a_host_function(mod: types.ModuleType) -> None:
    assert mod.all_names() == ["alpha", "βeta", ""]


def test_an_enum_both_ways_through_a_host_function(mod: types.ModuleType) -> None:
    assert mod.next(mod.Color.blue) is mod.Color.red
    assert seen == [mod.Color.blue]


def test_a_bad_host_result_is_a_type_error_naming_the_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "names", lambda: ["ok", 5])
    mod = load(tmp_path)      # the callable is resolved when the module is instantiated
    with pytest.raises(TypeError, match=r"env\.names \(test_rich_host:names\) result item 1 "
                                        r"must be str, not int"):
        mod.all_names()
