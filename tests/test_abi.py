"""The allocator contract: [abi] alloc/free, realloc's arguments, and guests that break it."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import wasmimport
from conftest import has, wat_binary

# A bump allocator that records every call, so the tests can check what the host asked for.
WAT = """(module
  {callback}
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (global $mode (mut i32) (i32.const 0))
  (global $frees (mut i32) (i32.const 0))
  (global $last_free (mut i32) (i32.const 0))
  (global $last_align (mut i32) (i32.const 0))
  (global $last_size (mut i32) (i32.const 0))
  (global $allocs (mut i32) (i32.const 0))
  (func $bump (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    global.get $allocs i32.const 1 i32.add global.set $allocs
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
    global.get $mode i32.const 4 i32.eq if unreachable end    ;; gives up, as cabi_realloc does
    global.get $mode i32.const 5 i32.eq if i32.const -1 i32.load return end   ;; a bug
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
  (func (export "allocs") (result i32) global.get $allocs)
  (func (export "first_byte") (param i32 i32) (result i32) local.get 0 i32.load8_u)
  (func (export "addr") (param i32 i32) (result i32) local.get 0)
  (func (export "first_f64") (param i32 i32) (result f64) local.get 0 f64.load)
  (func (export "ret_misaligned") (result i32) i32.const 2)
  ;; the first bytes of two buffers, and their addresses' difference
  (func (export "two") (param i32 i32 i32 i32) (result i32)
    local.get 0 i32.load8_u i32.const 8 i32.shl local.get 2 i32.load8_u i32.or)
  (func (export "gap") (param i32 i32 i32 i32) (result i32) local.get 2 local.get 0 i32.sub)
  {nested}
)"""
# with a host function (which may call back in) that runs before the buffer is read
CALLBACK_WAT = {
    "callback": '(import "env" "callback" (func $callback))',
    "nested": '(func (export "nested") (param i32 i32) (result i32)\n'
              '    call $callback local.get 0 i32.load8_u)'}
CALLBACK_TOML = """
nested = "(data: bytes) -> u8"
[imports.env.callback]
python = "abi_host:callback"
"""


def module(tmp_path: Path, abi: str = "", extra: str = "", callback: bool = False) -> Any:
    path = tmp_path / "abi.wasm"          # a binary: the js backend takes no text modules
    path.write_bytes(wat_binary(WAT.format(**(CALLBACK_WAT if callback else
                                              dict.fromkeys(CALLBACK_WAT, "")))))
    (tmp_path / "abi.wasm.toml").write_text(f"""
[abi]
{abi}
[functions]
first_byte = "(data: bytes) -> u8"
first_f64 = "(xs: list[f64]) -> f64"
addr_of = {{ export = "addr", signature = "(s: str) -> u32" }}
two = "(a: bytes, b: bytes) -> u32"
gap = "(a: bytes, b: bytes) -> u32"
{extra}
{CALLBACK_TOML if callback else ""}
""")
    if not callback:
        return wasmimport.load(path)
    (tmp_path / "abi_host.py").write_text(CALLBACK)
    sys.path.insert(0, str(tmp_path))
    try:
        return wasmimport.load(path)
    finally:
        sys.path.remove(str(tmp_path))
        HOSTS[tmp_path] = sys.modules.pop("abi_host")


HOSTS: dict[Path, ModuleType] = {}   # each callback test's abi_host module, by its tmp_path


# the host function `nested` calls: runs what the test set in `inner`, if anything
CALLBACK = """
inner = []

def callback():
    for call in inner:
        call()
"""


def test_realloc_gets_align_and_size(tmp_path: Path) -> None:
    m = module(tmp_path)
    assert m.first_byte(b"\x07abc") == 7
    assert (m.last_align(), m.last_size()) == (1, 4)
    assert m.first_f64([2.5, 1.0, 0.0]) == 2.5
    assert (m.last_align(), m.last_size()) == (8, 24)
    m.first_byte(b"")
    assert m.last_size() == 0
    assert m.frees() == 0     # without [abi] free, the guest owns argument buffers


def lends(path: str) -> bool:
    """Whether calls on ``path`` lend small argument buffers from the host's scratch block
    under [abi] free (the compiled call path does; the pure path allocates each)."""
    return path == "compiled" and has("compiled-calls")


@pytest.fixture(params=["compiled", "pure"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's call path, "compiled" or "pure" (WASMIMPORT_PURE set for its loads)."""
    monkeypatch.setenv("WASMIMPORT_PURE", "1" if request.param == "pure" else "0")
    return str(request.param)


def test_alloc_and_free_options(tmp_path: Path, path: str) -> None:
    m = module(tmp_path, 'alloc = "malloc"\nfree = "free"')
    assert m.first_f64([1.5]) == 1.5
    address = m.addr_of("xyz")
    assert m.addr_of("hello") == address or not lends(path)   # the same block, reused
    big = b"\x03" * 40_000                                     # larger than the block
    assert m.first_byte(big) == 3
    if lends(path):
        assert (m.allocs(), m.frees()) == (2, 1)   # the block, once; the large one, freed
    else:
        assert (m.allocs(), m.frees()) == (4, 4)   # each buffer allocated and freed
    assert m.last_free() != address                # the latest buffer freed last
    allocs, frees = m.allocs(), m.frees()
    assert m.addr_of("") == address or not lends(path)   # lent: the block, no allocator call
    assert m.frees() == frees                      # nothing to free for an empty buffer
    assert m.allocs() == allocs or not lends(path)


def test_buffers_of_a_call_never_overlap(tmp_path: Path, path: str) -> None:
    m = module(tmp_path, 'free = "free"')
    for a, b in [(b"\x01", b"\x02"), (b"\x05" * 3000, b"\x06" * 9000)]:
        assert m.two(a, b) == a[0] << 8 | b[0]
        assert m.gap(a, b) >= len(a)


def test_a_nested_call_gets_buffers_of_its_own(tmp_path: Path, compiled: None) -> None:
    """A call made by a host function while a call's buffers are lent (the compiled path,
    which host functions need) allocates its own."""
    m = module(tmp_path, 'free = "free"', callback=True)
    seen: list[int] = []
    HOSTS[tmp_path].inner.append(lambda: seen.append(m.two(b"\x07", b"\x08")))
    assert m.first_byte(b"\x01") == 1            # (the block is made by a first call)
    allocs, frees = m.allocs(), m.frees()
    assert m.nested(b"\x09") == 9                 # its buffer outlived the nested call
    assert seen == [0x0708]
    # lent: the nested call allocates (and frees) its two; else all three are allocated
    made = 2 if lends("compiled") else 3
    assert (m.allocs() - allocs, m.frees() - frees) == (made, made)


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


@pytest.mark.parametrize("abi", ["", 'free = "free"'])
def test_an_allocator_that_traps_for_want_of_memory(tmp_path: Path, path: str,
                                                    abi: str) -> None:
    """The Canonical ABI's realloc traps when it cannot allocate (wasmimport.h's and
    wit-bindgen's do): for an argument that is the guest out of memory, a MemoryError like
    a NULL's, naming the function, the size and the allocator's trap."""
    m = module(tmp_path, abi)
    m.set_mode(4)
    with pytest.raises(MemoryError, match=r"^abi\.first_byte\(\): the guest could not allocate "
                       r"10 bytes: abi\.cabi_realloc\(\) trapped \(wasm `unreachable`"):
        m.first_byte(b"0123456789")
    m.set_mode(0)
    assert m.first_byte(b"\x05") == 5


def test_an_allocator_bug_stays_a_trap(tmp_path: Path, path: str) -> None:
    m = module(tmp_path)
    m.set_mode(5)
    with pytest.raises(wasmimport.Trap, match=r"abi\.first_byte\(\): .*out of bounds") as info:
        m.first_byte(b"0123456789")
    assert info.value.kind == "memory_out_of_bounds"


@pytest.mark.parametrize("mode", [3, 4])
def test_a_guest_that_cannot_spare_the_block(tmp_path: Path, path: str, mode: int) -> None:
    """The error is the buffer's, never the block's (whether the allocator returns NULL or
    traps); the guest then allocates per call."""
    m = module(tmp_path, 'free = "free"')
    m.set_mode(mode)
    with pytest.raises(MemoryError, match=r"first_byte\(\): the guest could not allocate 10 b"):
        m.first_byte(b"0123456789")
    m.set_mode(0)
    allocs = m.allocs()
    assert [m.first_byte(b"\x05"), m.first_byte(b"\x06")] == [5, 6]
    assert (m.allocs() - allocs, m.frees()) == (2, 2)


def test_misaligned_return_area_is_trap(tmp_path: Path) -> None:
    m = module(tmp_path, extra='ret_misaligned = "() -> str"')
    with pytest.raises(wasmimport.Trap, match=r"abi\.ret_misaligned\(\): .*unaligned") as info:
        m.ret_misaligned()
    assert info.value.kind == "unaligned_pointer"


# `oversize`: where a call goes when guest memory cannot take an argument (mmh3-wasm hashes
# such keys in pieces through a hasher); resolved at its first call, so it may live in the
# package that is still importing the module
OVERSIZE_TOML = """
[functions.first_or]
export = "first_byte"
signature = "(data: bytes) -> u8"
oversize = "abi_big:first"
[functions.checked]
export = "two"
signature = "(data: bytes, n: u8, m: u8) -> u32"
oversize = "abi_big:first"
[functions.keyed]
export = "two"
signature = "(a: bytes, /, *, b: bytes = b'') -> u32"
oversize = "abi_big:first"
"""
OVERSIZE_PY = """
calls = []

def first(*args, **kwargs):
    calls.append((args, kwargs))
    return 99
"""


def oversized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, abi: str) -> tuple[Any, Any]:
    """The allocator test module with ``OVERSIZE_TOML``, and its ``abi_big`` module."""
    (tmp_path / "abi_big.py").write_text(OVERSIZE_PY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "abi_big", raising=False)
    m = module(tmp_path, abi, extra=OVERSIZE_TOML)
    import abi_big
    return m, abi_big


@pytest.mark.parametrize("abi", ["", 'free = "free"'])
@pytest.mark.parametrize("mode", [3, 4])
def test_oversize_takes_what_guest_memory_cannot(tmp_path: Path, path: str,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 abi: str, mode: int) -> None:
    """An argument the guest cannot allocate (its allocator returns NULL or traps for want
    of memory) sends the call to `oversize`, with its arguments bound to the function's
    parameters (defaults filled in), keyword-only ones by keyword."""
    m, big = oversized(tmp_path, monkeypatch, abi)
    assert m.first_or(b"\x05") == 5 and big.calls == []
    m.set_mode(mode)
    data = b"0123456789" * 3000       # past the compiled path's scratch block too
    assert m.first_or(data) == 99
    assert m.first_or(data=data) == 99
    assert m.keyed(data) == 99 and m.keyed(b"x", b=data) == 99
    assert big.calls == [((data,), {}), ((data,), {}), ((data,), {"b": b""}),
                         ((b"x",), {"b": data})]
    with pytest.raises(MemoryError, match=r"abi\.first_byte\(\): the guest could not alloc"):
        m.first_byte(data)            # the same export, without `oversize`
    m.set_mode(0)
    assert m.first_or(b"\x06") == 6 and len(big.calls) == 4


def test_oversize_is_not_for_other_errors(tmp_path: Path, path: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An argument out of range (an OverflowError too) or an allocator's bug stays itself."""
    m, big = oversized(tmp_path, monkeypatch, 'free = "free"')
    with pytest.raises(OverflowError, match=r"checked\(\) argument 'n'"):
        m.checked(b"ab", 300, 0)
    m.set_mode(5)
    with pytest.raises(wasmimport.Trap, match=r"out of bounds"):
        m.first_or(b"0123456789")
    m.set_mode(0)
    assert m.checked(b"ab", 1, 2) == (ord("a") << 8) and big.calls == []


def test_oversize_must_name_a_function(tmp_path: Path) -> None:
    with pytest.raises(wasmimport.ManifestError, match=r"abi\.wasm\.toml: \[functions\] "
                       r"first_or\.oversize must name a Python function as "
                       r"\"package\.module:function\""):
        module(tmp_path, extra='first_or = { export = "first_byte", '
                               'signature = "(data: bytes) -> u8", oversize = "abi_big" }')
