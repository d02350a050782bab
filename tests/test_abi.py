"""The allocator contract: [abi] alloc/free, realloc's arguments, and guests that break it."""

from __future__ import annotations

from pathlib import Path

import pytest

import wasmimport
from conftest import wat_binary

# A bump allocator that records every call, so the tests can check what the host asked for.
WAT = """(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (global $mode (mut i32) (i32.const 0))
  (global $frees (mut i32) (i32.const 0))
  (global $last_free (mut i32) (i32.const 0))
  (global $last_align (mut i32) (i32.const 0))
  (global $last_size (mut i32) (i32.const 0))
  (func $bump (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    global.get $heap local.get $align i32.const 1 i32.sub i32.add
    i32.const 0 local.get $align i32.sub i32.and local.tee $p
    local.get $size i32.add global.set $heap
    local.get $p)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    local.get 2 global.set $last_align
    local.get 3 global.set $last_size
    global.get $mode i32.const 1 i32.eq if i32.const 1025 return end   ;; misaligned
    global.get $mode i32.const 2 i32.eq if i32.const 65530 return end  ;; runs past the end
    global.get $mode i32.const 3 i32.eq if i32.const 0 return end      ;; out of memory
    local.get 2 local.get 3 call $bump)
  (func (export "malloc") (param i32) (result i32) i32.const 8 local.get 0 call $bump)
  (func (export "free") (param i32)
    global.get $frees i32.const 1 i32.add global.set $frees
    local.get 0 global.set $last_free)
  (func (export "set_mode") (param i32) local.get 0 global.set $mode)
  (func (export "frees") (result i32) global.get $frees)
  (func (export "last_free") (result i32) global.get $last_free)
  (func (export "last_align") (result i32) global.get $last_align)
  (func (export "last_size") (result i32) global.get $last_size)
  (func (export "first_byte") (param i32 i32) (result i32) local.get 0 i32.load8_u)
  (func (export "first_f64") (param i32 i32) (result f64) local.get 0 f64.load)
  (func (export "ret_misaligned") (result i32) i32.const 2)
)"""


def module(tmp_path: Path, abi: str = "", extra: str = "") -> object:
    path = tmp_path / "abi.wasm"          # a binary: the js backend takes no text modules
    path.write_bytes(wat_binary(WAT))
    (tmp_path / "abi.wasm.toml").write_text(f"""
[abi]
{abi}
[functions]
first_byte = "(data: bytes) -> u8"
first_f64 = "(xs: list[f64]) -> f64"
addr_of = {{ export = "first_byte", signature = "(s: str) -> u32" }}
{extra}
""")
    return wasmimport.load(path)


def test_realloc_gets_align_and_size(tmp_path: Path) -> None:
    m = module(tmp_path)
    assert m.first_byte(b"\x07abc") == 7
    assert (m.last_align(), m.last_size()) == (1, 4)
    assert m.first_f64([2.5, 1.0, 0.0]) == 2.5
    assert (m.last_align(), m.last_size()) == (8, 24)
    m.first_byte(b"")
    assert m.last_size() == 0
    assert m.frees() == 0     # without [abi] free, the guest owns argument buffers


def test_alloc_and_free_options(tmp_path: Path) -> None:
    m = module(tmp_path, 'alloc = "malloc"\nfree = "free"')
    assert m.first_f64([1.5]) == 1.5
    assert m.frees() == 1
    address = m.addr_of("xyz")
    m.addr_of("hello")
    assert m.frees() == 3
    assert m.last_free() != address       # each buffer freed, the latest last
    m.first_byte(b"")
    assert m.frees() == 3                 # nothing allocated for an empty buffer to free


@pytest.mark.parametrize("mode, call, error, match", [
    (1, "first_f64", wasmimport.Trap,
     r"abi\.first_f64\(\): the guest allocator returned 0x401, which is not aligned to 8"),
    (2, "first_byte", wasmimport.Trap,
     r"abi\.first_byte\(\): the guest allocator returned 10 bytes at 0xfffa, beyond the end"),
    (3, "first_byte", MemoryError, r"abi\.first_byte\(\): the guest could not allocate 10 bytes"),
])
def test_bad_allocator_results(tmp_path: Path, mode: int, call: str, error: type,
                               match: str) -> None:
    m = module(tmp_path)
    m.set_mode(mode)
    with pytest.raises(error, match=match):
        getattr(m, call)(b"0123456789" if call == "first_byte" else [1.0])
    m.set_mode(0)
    assert m.first_byte(b"\x05") == 5


def test_misaligned_return_area_is_trap(tmp_path: Path) -> None:
    m = module(tmp_path, extra='ret_misaligned = "() -> str"')
    with pytest.raises(wasmimport.Trap, match=r"abi\.ret_misaligned\(\): .*unaligned") as info:
        m.ret_misaligned()
    assert info.value.kind == "unaligned_pointer"
