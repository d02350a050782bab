"""The manifest: sidecar, embedded, none; and every way it can be wrong."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import wasmimport
from conftest import wat_binary
from wasmimport._manifest import parse_manifest
from wasmimport._wasmbin import custom_section

WAT = """(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    global.get $heap local.get 2 i32.const 1 i32.sub i32.add
    i32.const 0 local.get 2 i32.sub i32.and local.tee $p
    local.get 3 i32.add global.set $heap local.get $p)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "neg64") (param i64) (result i64) i64.const 0 local.get 0 i64.sub)
  (func (export "half") (param f64) (result f64) local.get 0 f64.const 0.5 f64.mul)
  (func (export "len") (param i32 i32) (result i32) local.get 1)
  (func (export "ruby-init: func") (result i32) i32.const 42)
  (func (export "class") (result i32) i32.const 7)
  (func (export "two") (result i32 f64) i32.const 1 f64.const 2.5)
)"""


SIZE = '[functions]\nsize = { signature = "(s: str) -> u32", export = "len" }\n'


def build(folder: Path, manifest: str | None, name: str = "m", embedded: str | None = None) -> Path:
    data = wat_binary(WAT)
    if embedded is not None:
        data += custom_section("wasmimport", embedded.encode())
    path = folder / f"{name}.wasm"
    path.write_bytes(data)
    if manifest is not None:
        (folder / f"{name}.wasm.toml").write_text(manifest)
    return path


def test_no_manifest_exposes_core_signatures(tmp_path: Path) -> None:
    mod = wasmimport.load(build(tmp_path, None))
    assert mod.add(2, 3) == 5
    assert mod.neg64(-(2**63) + 1) == 2**63 - 1
    assert mod.half(3) == 1.5
    assert mod.two() == (1, 2.5)
    assert str(inspect.signature(mod.add)) == "(p0: int, p1: int) -> int"
    assert str(inspect.signature(mod.two)) == "() -> tuple[int, float]"
    assert "(i32, i32) -> (i32)" in mod.add.__doc__
    with pytest.raises(OverflowError, match=r"m\.add\(\) argument 'p0' is out of range for i32"):
        mod.add(2**31, 0)


def test_non_identifier_and_keyword_exports_reachable_with_getattr(tmp_path: Path) -> None:
    mod = wasmimport.load(build(tmp_path, None))
    assert getattr(mod, "ruby-init: func")() == 42
    assert getattr(mod, "class")() == 7
    assert "class" not in mod.__all__ and "ruby-init: func" not in mod.__all__
    assert getattr(mod, "ruby-init: func").__name__ == "ruby-init: func"


def test_manifest_renames_an_export(tmp_path: Path) -> None:
    manifest = '[functions.ruby_init]\nexport = "ruby-init: func"\ndoc = "Start Ruby."\n'
    mod = wasmimport.load(build(tmp_path, manifest))
    assert mod.ruby_init() == 42
    assert mod.ruby_init.__doc__ == "Start Ruby."
    assert "ruby_init" in mod.__all__


def test_short_and_long_forms_and_inline_tables(tmp_path: Path) -> None:
    manifest = '''
doc = "Doc of m."
[functions]
add = "(a: u8, b: u8 = 1) -> u8"
half = { signature = "(x: f64) -> f64", doc = "Half of x." }
[functions.size]
signature = "(s: str) -> u32"
export = "len"
'''
    mod = wasmimport.load(build(tmp_path, manifest))
    assert mod.__doc__ == "Doc of m."
    assert mod.add(200, 55) == 255
    assert mod.add(4) == 5
    assert mod.half.__doc__ == "Half of x."
    assert mod.size("héllo") == 6
    assert mod.__all__[:3] == ["add", "half", "size"]
    # exports the manifest does not list stay reachable with their core signatures
    assert mod.neg64(5) == -5


def test_sidecar_wins_over_embedded(tmp_path: Path) -> None:
    path = build(tmp_path, 'doc = "sidecar"\n', embedded='doc = "embedded"\n')
    assert wasmimport.load(path).__doc__ == "sidecar"
    (tmp_path / "m.wasm.toml").unlink()
    assert wasmimport.load(path).__doc__ == "embedded"


def test_embedded_manifest_types_the_functions(tmp_path: Path) -> None:
    path = build(tmp_path, None, embedded='[functions]\nadd = "(a: u16, b: u16) -> u16"\n')
    mod = wasmimport.load(path)
    with pytest.raises(OverflowError, match="u16"):
        mod.add(70000, 1)


@pytest.mark.parametrize("manifest, message", [
    ('doc = "x', r"m\.wasm\.toml: invalid TOML"),
    ('[functions]\nadd = "(a: int32, b: i32) -> i32"',
     r"m\.wasm\.toml: \[functions\] add: unknown type 'int32' \(expected one of i8, "),
    ('[functions]\nadd = "(a: i32, b: i32 -> i32"', r"\[functions\] add: invalid syntax"),
    ('[functions]\nadd = "(a, b: i32) -> i32"', r"parameter 'a' has no type"),
    ('[functions]\nadd = "(a: i32, a: i32) -> i32"', r"duplicate parameter 'a'"),
    ('[functions]\nadd = "(*a: i32) -> i32"', r"\*args and \*\*kwargs are not supported"),
    ('[functions]\nadd = "(a: i32, b: i32 = 1.5) -> i32"',
     r"default of 'b' must be int, not float"),
    ('[functions]\nadd = "(a: i32, b: u8 = 300) -> i32"', r"default of 'b' is out of range"),
    ('[functions]\nadd = "(a: i32, b: i32 = foo()) -> i32"', r"not a Python literal"),
    ('[functions]\nadd = "(a: list[str8]) -> i32"', r"unknown type 'str8'"),
    ('[functions]\nadd = "(a: None) -> i32"', r"None is only a result type, not a parameter"),
    ('[functions]\nmissing = "(a: i32) -> i32"',
     r"\[functions\] missing: the module has no export 'missing' \(its function exports: "
     r"cabi_realloc, add"),
    ('[functions]\nadd = "(a: i64, b: i32) -> i32"',
     r"\[functions\] add: signature '\(a: i64, b: i32\) -> i32' needs the export 'add' to have "
     r"core type \(i64, i32\) -> \(i32\), but its core type is \(i32, i32\) -> \(i32\)"),
    ('[functions]\nadd = "(a: i32, b: i32) -> None"', r"core type \(i32, i32\) -> \(\), but"),
    ('[functions]\nmemory = "() -> i32"', r"export 'memory' is a memory, not a function"),
    ('[function]\nadd = "(a: i32) -> i32"', r"unknown key 'function'"),
    ('[functions.add]\nsignatur = "(a: i32) -> i32"', r"\[functions\] add: unknown key 'signatur'"),
    ('[functions]\nadd = 5', r"must be a signature string or a table, not int"),
    ('[abi]\nallocator = "x"', r"\[abi\] unknown key 'allocator'"),
    ('[abi]\nrealloc = "a"\nalloc = "b"', r"sets both realloc and alloc"),
    ('[types.Point]\nx = "f64"\n[types.Line]\na = "Point"\nb = "Line"',
     r"\[types.Line\]: a record cannot contain itself \(Line -> Line\)"),
    ('[limits]\nmemory = "1MB"', r"\[limits\] memory must be a whole number of 64 KiB wasm "
                                 r"pages, not 1000000 bytes"),
    ('[limits]\nmemory = "lots"', r"\[limits\] memory 'lots' is not understood"),
    ('[limits]\ntimeout = "5 parsecs"', r"\[limits\] timeout '5 parsecs' is not understood"),
    ('[limits]\ntimeout = 0', r"\[limits\] timeout must be positive, not 0"),
    ('[limits]\nfuel = -5', r"\[limits\] fuel must be a positive integer, not -5"),
    ('[limits]\nfuel = 1.5', r"\[limits\] fuel must be a positive integer, not 1.5"),
    ('[limits]\nwall = 1', r"\[limits\] unknown key 'wall' \(expected one of fuel, "
                          r"interruptible, memory, timeout\)"),
    ('[functions]\n__init__ = "(a: i32, b: i32) -> i32"', r"dunder names are reserved"),
    (SIZE + '[abi]\nrealloc = "nope"',
     r"\[functions\] size: needs the \[abi\] realloc export 'nope' with core type "
     r"\(i32, i32, i32, i32\) -> \(i32\), but it is missing"),
    (SIZE + '[abi]\nrealloc = "add"',
     r"but it has core type \(i32, i32\) -> \(i32\)"),
    (SIZE + '[abi]\nmemory = "mem2"',
     r"exports no memory named 'mem2'"),
])
def test_bad_manifest_is_import_error_naming_file_and_entry(tmp_path: Path, manifest: str,
                                                            message: str) -> None:
    path = build(tmp_path, manifest)
    with pytest.raises(wasmimport.ManifestError, match=message) as info:
        wasmimport.load(path)
    assert isinstance(info.value, ImportError)
    assert str(tmp_path / "m.wasm.toml") in str(info.value)


def test_bad_manifest_through_the_import_hook(hook: None, syspath: Path) -> None:
    build(syspath, '[functions]\nadd = "(a: f32, b: i32) -> i32"', name="badsig")
    with pytest.raises(ImportError, match=r"badsig\.wasm\.toml: \[functions\] add"):
        import badsig  # type: ignore[import-not-found]  # noqa: F401


def test_manifest_not_utf8(tmp_path: Path) -> None:
    path = build(tmp_path, None)
    (tmp_path / "m.wasm.toml").write_bytes(b'doc = "\xff"')
    with pytest.raises(wasmimport.ManifestError, match="not UTF-8"):
        wasmimport.load(path)


def test_keyword_only_and_positional_only_parameters(tmp_path: Path) -> None:
    mod = wasmimport.load(build(tmp_path, '[functions]\nadd = "(a: i32, /, *, b: i32 = 2) -> i32"'))
    assert mod.add(1) == 3
    assert mod.add(1, b=5) == 6
    with pytest.raises(TypeError, match="positional"):
        mod.add(1, 5)
    with pytest.raises(TypeError):
        mod.add(a=1)
    assert str(inspect.signature(mod.add)) == "(a: int, /, *, b: int = 2) -> int"


def test_parse_manifest_is_strict_about_doc_type() -> None:
    with pytest.raises(wasmimport.ManifestError, match="doc must be a string, not int"):
        parse_manifest("doc = 3", "x.toml")


def test_a_signature_with_a_null_byte_is_a_manifest_error() -> None:
    """Python 3.10's parser raises ValueError, not SyntaxError, for a NUL (found by fuzzing)."""
    from wasmimport._manifest import parse_signature

    with pytest.raises(wasmimport.ManifestError, match=r"invalid syntax"):
        parse_signature("(a: i32\x00) -> i32", "m.toml", "[functions] f")
