"""wasmimport._instrument: the memory cap built into a module (the js backend's [limits]
memory), checked on CPython by running the rewritten modules on wasmtime (wasmtime-py)."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import pytest

from conftest import guest_path

wasmtime = pytest.importorskip("wasmtime")     # (not in Pyodide: there test_limits runs it)

from wasmimport._instrument import REFUSED_EXPORT, Instrumented, cap_memory  # noqa: E402
from wasmimport._wasmbin import WasmFormatError, read_module  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGE = 65536
REAL = sorted({*glob.glob(str(ROOT / "tests/guests/*.wasm")),
               *glob.glob(str(ROOT / "sample_pkgs/*/src/**/*.wasm"), recursive=True)})


def engine(**features: bool) -> Any:
    config = wasmtime.Config()
    for feature, on in features.items():
        setattr(config, f"wasm_{feature}", on)
    return wasmtime.Engine(config)


class Run:
    """One wasmtime instance of a module, its unknown imports trapping."""

    def __init__(self, wasm: bytes, eng: Any = None):
        self.engine = eng or engine()
        self.store = wasmtime.Store(self.engine)
        linker = wasmtime.Linker(self.engine)
        self.module = wasmtime.Module(self.engine, wasm)
        linker.define_unknown_imports_as_traps(self.module)
        self.instance = linker.instantiate(self.store, self.module)
        self.exports = self.instance.exports(self.store)

    def __call__(self, name: str, *args: Any) -> Any:
        return self.exports[name](self.store, *args)

    def refused(self) -> int:
        return int(self.exports[REFUSED_EXPORT].value(self.store))


@pytest.mark.parametrize("path", REAL, ids=lambda p: Path(p).name)
def test_real_modules_validate_and_keep_their_interface(path: str) -> None:
    data = Path(path).read_bytes()
    for cap in (1 << 20, 64 << 20, (64 << 20) + 12345):
        capped = cap_memory(data, cap)
        wasmtime.Module.validate(engine(), capped.wasm)
        before, after = read_module(data), read_module(capped.wasm)
        assert [(e.name, e.kind, e.functype) for e in before.exports] == \
            [(e.name, e.kind, e.functype) for e in after.exports
             if e.name != REFUSED_EXPORT]
        assert [(i.module, i.name, i.kind) for i in before.imports] == \
            [(i.module, i.name, i.kind) for i in after.imports]
        assert before.custom_sections == after.custom_sections     # name section and all
        assert capped.refused == (after.export(REFUSED_EXPORT) is not None)


def test_the_memory_maximum_becomes_the_cap() -> None:
    data = guest_path("edges").read_bytes()
    mod = wasmtime.Module(engine(), cap_memory(data, 1 << 20).wasm)
    (memory,) = [e.type for e in mod.exports if isinstance(e.type, wasmtime.MemoryType)]
    assert memory.limits.max == 16
    # a cap past what the memory may grow to anyway leaves its maximum
    big = wasmtime.Module(engine(), cap_memory(data, 8 << 30).wasm)
    (memory,) = [e.type for e in big.exports if isinstance(e.type, wasmtime.MemoryType)]
    assert memory.limits.max == 65536


def test_edges_behaves_the_same_below_the_cap_and_gets_minus_one_past_it() -> None:
    data = guest_path("edges").read_bytes()
    plain, capped = Run(data), Run(cap_memory(data, 1 << 20).wasm)     # 16 pages
    for name, args in [("echo_i32", (7,)), ("spin", (1000,)), ("stack_probe", ()),
                       ("mem_pages", ())]:
        assert plain(name, *args) == capped(name, *args)
    pages = capped("mem_pages")
    assert pages < 16
    assert capped("grow", 1000) == -1                       # memory.grow's own -1
    assert capped.refused() == (pages + 1000) * PAGE         # the size it asked for
    assert capped("mem_pages") == pages
    assert capped.refused() == 0                             # each call starts afresh
    assert capped("grow", 16 - pages) == pages == plain("grow", 16 - pages)
    assert capped.refused() == 0
    assert capped("grow", 1) == -1 and plain("grow", 1) == 16
    assert capped.refused() == 17 * PAGE
    assert capped("grow", 0) == 16                           # growing by 0 is never refused
    # past the memory's own maximum (4 GiB) it is memory.grow that fails: no refusal noted
    assert capped("grow", 0xFFFF_FFFF) == -1 and capped.refused() == 0


def test_a_trap_after_a_refused_growth_leaves_the_request_and_frames_map_back() -> None:
    data = guest_path("edges").read_bytes()
    capped = cap_memory(data, 2 << 20)
    run = Run(capped.wasm)
    with pytest.raises(wasmtime.Trap) as info:
        run("hoard", 3 << 20)
    assert run.refused() > 3 << 20
    frames = [(f.func_index, capped.frame(f.func_index, f.module_offset))
              for f in info.value.frames]
    assert frames[0][1] is not None
    assert frames[-1][1] is None                 # the export's wrapper: not in the module
    kept = [f for f in frames if f[1] is not None]
    # the same trap in the module as given, its memory exhausted by itself
    plain = Run(data)
    with pytest.raises(wasmtime.Trap) as unlimited:
        for _ in range(100_000):
            plain("hoard", 3 << 20)
    assert kept == [(f.func_index, f.module_offset) for f in unlimited.value.frames]
    assert run("try_hoard", 3 << 20) == 0 and run.refused() > 0
    assert run("echo_i32", 5) == 5 and run.refused() == 0


def test_a_frame_at_the_replaced_grow_is_at_the_memory_grow() -> None:
    wat = """(module (memory 1 100)
      (func $deep (param i32) (result i32)      ;; grows, then traps after it
        (drop (memory.grow (local.get 0)))
        (if (i32.eq (memory.size) (i32.const 1)) (then unreachable))
        (local.get 0))
      (func (export "run") (param i32) (result i32)
        (call $deep (local.get 0))))"""
    data = wasmtime.wat2wasm(wat)
    capped = cap_memory(data, 1 * PAGE)
    run = Run(capped.wasm)
    with pytest.raises(wasmtime.Trap) as info:
        run("run", 5)
    assert run.refused() == 6 * PAGE
    plain = Run(data)
    with pytest.raises(wasmtime.Trap) as same:
        plain("run", 0)     # (memory.size stays 1: the same trap)
    mapped = [(f.func_index, capped.frame(f.func_index, f.module_offset))
              for f in info.value.frames]
    assert mapped[:-1] == [(f.func_index, f.module_offset) for f in same.value.frames]
    # every offset inside the call that replaced memory.grow is that memory.grow's
    grow = data.index(b"\x40\x00")
    new = capped.wasm.index(b"\x10" + bytes([2]), capped.wasm.index(b"\x0a"))
    assert capped.offset(new) == capped.offset(new + 1) == grow
    assert capped.offset(new + 2) == grow + 2


def test_a_module_without_memory_is_unchanged() -> None:
    data = wasmtime.wat2wasm('(module (func (export "f") (result i32) (i32.const 1)))')
    capped = cap_memory(data, PAGE)
    assert capped.wasm == data and not capped.refused and capped.too_large is None


def test_a_module_that_never_grows_only_gets_a_maximum() -> None:
    data = wasmtime.wat2wasm('(module (memory (export "m") 2) '
                             '(func (export "f") (result i32) (memory.size)))')
    capped = cap_memory(data, 4 * PAGE)
    assert not capped.refused and len(capped.wasm) == len(data) + 1
    run = Run(capped.wasm)
    assert run("f") == 2
    assert run.exports["m"].type(run.store).limits.max == 4


def test_an_initial_memory_above_the_cap_is_reported() -> None:
    data = guest_path("edges").read_bytes()
    initial = int(Run(data)("mem_pages"))
    assert cap_memory(data, initial * PAGE).too_large is None
    assert cap_memory(data, initial * PAGE - 1).too_large == initial * PAGE
    # the binary stays valid: the backend refuses to instantiate it
    wasmtime.Module.validate(engine(), cap_memory(data, PAGE).wasm)


def test_imported_memories_are_not_capped() -> None:
    wat = """(module (import "env" "memory" (memory 1))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""
    data = wasmtime.wat2wasm(wat)
    capped = cap_memory(data, PAGE)
    assert capped.wasm == data and not capped.refused
    eng = engine()
    store = wasmtime.Store(eng)
    memory = wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(1, None)))
    instance = wasmtime.Instance(store, wasmtime.Module(eng, capped.wasm), [memory])
    assert instance.exports(store)["grow"](store, 5) == 1


def test_only_the_defined_memory_is_capped_beside_an_imported_one() -> None:
    wat = """(module (import "env" "memory" (memory 1)) (memory $own 1)
      (func (export "grow_imported") (param i32) (result i32) (memory.grow 0 (local.get 0)))
      (func (export "grow_own") (param i32) (result i32) (memory.grow 1 (local.get 0))))"""
    eng = engine(multi_memory=True)
    capped = cap_memory(wasmtime.wat2wasm(wat), 3 * PAGE)
    store = wasmtime.Store(eng)
    memory = wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(1, None)))
    instance = wasmtime.Instance(store, wasmtime.Module(eng, capped.wasm), [memory])
    exports = instance.exports(store)
    assert exports["grow_imported"](store, 10) == 1
    assert exports["grow_own"](store, 2) == 1
    assert exports["grow_own"](store, 1) == -1
    assert exports[REFUSED_EXPORT].value(store) == 4 * PAGE


def test_memory64_and_custom_pages() -> None:
    wat = """(module (memory $m i64 1)
      (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"""
    eng = engine(memory64=True)
    capped = cap_memory(wasmtime.wat2wasm(wat), 4 * PAGE)
    run = Run(capped.wasm, eng)
    assert run("grow", 3) == 1
    assert run("grow", 1) == -1 and run.refused() == 5 * PAGE
    assert run("grow", -1) == -1 and run.refused() == 0     # 2**64 - 1 pages: no refusal
    wat = """(module (memory 1 (pagesize 1))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""
    eng = engine(custom_page_sizes=True)
    run = Run(cap_memory(wasmtime.wat2wasm(wat), 100).wasm, eng)
    assert run("grow", 99) == 1
    assert run("grow", 1) == -1 and run.refused() == 101


# every instruction family the decoder must step over, each followed by a memory.grow: a
# misread immediate would miss one or see one that is not there (then the binary would not
# validate, or the counts below would be off)
EVERYTHING = r"""(module
  (type $v (func))
  (type $ii (func (param i32) (result i32)))
  (type $pair (func (param i32) (result i32 i32)))
  (import "env" "f" (func $imported (param i32) (result i32)))
  (memory 1 1000)
  (table $t 2 funcref)
  (table $ext 1 externref)
  (global $g (mut i32) (i32.const 0))
  (tag $e (param i32))
  (data $d "\40\00\40\00")
  (elem (i32.const 0) func $grow $imported)
  (elem $el func $grow $imported)
  (elem declare func $ref)
  (func $ref)
  (func $grow (type $ii) (memory.grow (local.get 0)))
  (func (export "everything") (param $n i32) (result i32) (local $x i64) (local $v v128)
    (local $r funcref)
    (drop (memory.grow (i32.const 0)))
    (loop $again (br_if $again (i32.eqz (i32.const 1))))
    (block $out (result i32)
      (block $in (result i32)
        (br_table $in $out $in (i32.const 64) (i32.const 7) (i32.const 1))))
    drop
    (local.get $n) (block $multi (type $pair) (i32.const 0x40)) drop drop
    (if (result i32) (local.get $n) (then (memory.grow (i32.const 0))) (else (i32.const 1)))
    drop
    (drop (call_indirect $t (type $ii) (i32.const 0) (i32.const 0)))
    (drop (select (result i32) (i32.const 0x40) (memory.grow (i32.const 0)) (i32.const 1)))
    (drop (select (i32.const 1) (i32.const 2) (i32.const 0)))
    (drop (i64.const -0x4000000000000040))
    (drop (f32.const 0x40.00p0)) (drop (f64.const 2.0000000000004))
    (drop (i32.const 0x40)) (drop (i32.const -64))
    (local.set $x (i64.extend_i32_u (memory.grow (i32.const 0))))
    (global.set $g (memory.size))
    (i64.store offset=0x40 align=4 (i32.const 0) (local.get $x))
    (drop (i32.load8_u offset=64 (i32.const 0)))
    (drop (i32.atomic.rmw.add offset=64 (i32.const 0) (i32.const 0x40)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 0)))
    (atomic.fence)
    (drop (i32.trunc_sat_f32_s (f32.const 64)))
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 2))
    (data.drop $d)
    (memory.copy (i32.const 0) (i32.const 64) (i32.const 1))
    (memory.fill (i32.const 0) (i32.const 0x40) (i32.const 1))
    (table.init $t $el (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop $el)
    (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))
    (drop (table.grow $ext (ref.null extern) (i32.const 0)))
    (drop (table.size $t))
    (table.fill $ext (i32.const 0) (ref.null extern) (i32.const 0))
    (table.set $t (i32.const 1) (table.get $t (i32.const 0)))
    (local.set $r (ref.func $ref))
    (drop (ref.is_null (local.get $r)))
    (local.set $v (v128.const i8x16 0x40 0 0x40 0 0x40 0 0x40 0 0x40 0 0x40 0 0x40 0 0x40 0))
    (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
                   (local.get $v) (local.get $v)))
    (drop (i8x16.extract_lane_u 15 (local.get $v)))
    (local.set $v (i32x4.replace_lane 3 (local.get $v) (memory.grow (i32.const 0))))
    (local.set $v (v128.load offset=64 (i32.const 0)))
    (local.set $v (v128.load8_lane offset=64 1 (i32.const 0) (local.get $v)))
    (v128.store32_lane 2 (i32.const 0) (local.get $v))
    (local.set $v (v128.load32_zero (i32.const 0)))
    (local.set $v (i32x4.relaxed_trunc_f32x4_s (local.get $v)))
    (drop (i64x2.all_true (local.get $v)))
    (drop (i32.extend8_s (i32.const 0x40)))
    (drop (block $caught (result i32)
      (try_table (catch $e $caught) (throw $e (i32.const 0x40)))
      (i32.const 0)))
    (drop (call $imported (memory.grow (i32.const 0))))
    (drop (call_ref $ii (i32.const 0) (ref.func $grow)))
    (drop (ref.as_non_null (ref.func $grow)))
    (memory.grow (local.get $n)))
  (func (export "tail") (param i32) (result i32)
    (return_call $grow (local.get 0)))
  (func (export "tail_indirect") (param i32) (result i32)
    (return_call_indirect $t (type $ii) (local.get 0) (i32.const 0))))
"""


def everything_engine() -> Any:
    return engine(threads=True, relaxed_simd=True, exceptions=True,
                  function_references=True, tail_call=True, multi_memory=True)


def test_the_decoder_steps_over_every_instruction_family() -> None:
    data = wasmtime.wat2wasm(EVERYTHING)
    capped = cap_memory(data, 10 * PAGE)
    eng = everything_engine()
    wasmtime.Module.validate(eng, data)
    wasmtime.Module.validate(eng, capped.wasm)
    # 7 memory.grow in "everything", 1 in $grow: each became a call to the helper
    helper = capped.added
    assert _count_calls(capped, helper) == 8
    assert capped.wasm.count(b"\x40\x00") < data.count(b"\x40\x00")

    def run(wasm: bytes) -> Any:
        store = wasmtime.Store(eng)
        module = wasmtime.Module(eng, wasm)
        imported = wasmtime.Func(store, wasmtime.FuncType([wasmtime.ValType.i32()],
                                                          [wasmtime.ValType.i32()]),
                                 lambda x: x)
        instance = wasmtime.Instance(store, module, [imported])
        exports = instance.exports(store)
        return store, exports

    store, plain = run(data)
    store2, capped_exports = run(capped.wasm)
    # (once each: it drops its data segment)
    assert plain["everything"](store, 3) == capped_exports["everything"](store2, 3) == 1
    assert plain["tail"](store, 2) == capped_exports["tail"](store2, 2) == 4
    assert capped_exports["tail"](store2, 5) == -1               # 6 + 5 > 10 pages
    assert capped_exports[REFUSED_EXPORT].value(store2) == 11 * PAGE
    # "everything" left the imported identity function in slot 0 of the table
    assert plain["tail_indirect"](store, 4) == capped_exports["tail_indirect"](store2, 4) == 4
    assert capped_exports[REFUSED_EXPORT].value(store2) == 0
    assert capped_exports["tail"](store2, 4) == 6                  # up to the cap
    assert capped_exports["tail"](store2, 1) == -1
    assert capped_exports[REFUSED_EXPORT].value(store2) == 11 * PAGE


def _count_calls(capped: Instrumented, function: int) -> int:
    """How many calls replacing a ``memory.grow`` call ``function`` (< 128)."""
    wasm = capped.wasm
    return sum(1 for new, collapse in zip(capped._new, capped._collapse)
               if collapse and wasm[new:new + 2] == bytes([0x10, function]))


def test_unknown_opcodes_are_refused() -> None:
    data = bytearray(wasmtime.wat2wasm(
        '(module (memory 1) (func (export "f") (drop (memory.grow (i32.const 0)))))'))
    # "i32.const 0" (0x41 0x00) becomes the GC prefix 0xFB 0x00 (struct.new)
    at = data.index(b"\x41\x00\x40\x00")
    data[at] = 0xFB
    with pytest.raises(WasmFormatError, match="unknown opcode 0xfb at offset 0x"):
        cap_memory(bytes(data), PAGE)


def test_sections_a_module_lacks_are_added_in_their_place() -> None:
    """No global or export section: both are made, in the canonical section order."""
    data = wasmtime.wat2wasm(
        '(module (memory 1) (func $f (drop (memory.grow (i32.const 5)))) (start $f))')
    capped = cap_memory(data, 2 * PAGE)
    run = Run(capped.wasm)     # the start function was refused its growth
    assert run.refused() == 6 * PAGE
