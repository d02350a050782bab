"""The module object and its functions behave like a well-made C extension's."""

from __future__ import annotations

import inspect
import pickle
import pydoc
import subprocess
import sys
import types
from pathlib import Path

import pytest

import wasmimport
from conftest import ROOT, backend_env, has, refused, wat_binary

WAT = """(module
  (memory (export "memory") 1 4)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func $deep (export "deep") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) unreachable else local.get 0 i32.const 1 i32.sub call $deep end)
  (func $forever (export "recurse") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $forever i32.const 1 i32.add)
  (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
)"""
MANIFEST = '''
doc = "A test module."
[functions]
add = { signature = "(a: i32, b: i32) -> i32", doc = "Add two ints." }
div = "(a: i32, b: i32) -> i32"
deep = "(n: u32) -> u32"
recurse = "(n: u32) -> u32"
peek = "(addr: u32) -> u8"
poke = "(addr: u32, value: u8) -> None"
grow = "(pages: u32) -> i32"
'''


@pytest.fixture
def mod(hook: None, syspath: Path) -> types.ModuleType:
    (syspath / "modobj.wasm").write_bytes(wat_binary(WAT))
    (syspath / "modobj.wasm.toml").write_text(MANIFEST)
    import modobj  # type: ignore[import-not-found]
    return modobj


def test_module_attributes(mod: types.ModuleType, syspath: Path) -> None:
    assert isinstance(mod, types.ModuleType)
    assert mod.__name__ == "modobj"
    assert mod.__doc__ == "A test module."
    assert mod.__file__ == str(syspath / "modobj.wasm")
    assert mod.__spec__.name == "modobj" and mod.__spec__.loader is mod.__loader__
    assert mod.__all__ == ["add", "div", "deep", "recurse", "peek", "poke", "grow"]
    assert "memory" in dir(mod) and "add" in dir(mod)
    assert sys.modules["modobj"] is mod


def test_function_metadata(mod: types.ModuleType) -> None:
    add = mod.add
    assert add.__name__ == add.__qualname__ == "add"
    assert add.__module__ == "modobj"
    assert add.__doc__ == "Add two ints."
    assert str(inspect.signature(add)) == "(a: int, b: int) -> int"
    # derived by inspect from the function itself, as for any Python function
    assert add.__annotations__ == {"a": int, "b": int, "return": int}
    assert mod.poke.__doc__ == "wasm export 'poke': (addr: u32, value: u8) -> None"
    text = pydoc.render_doc(mod.add, renderer=pydoc.plaintext)
    assert "add(a: int, b: int) -> int" in text and "Add two ints." in text
    module_help = pydoc.render_doc(mod, renderer=pydoc.plaintext)
    assert "A test module." in module_help and "div(a: int, b: int) -> int" in module_help


def test_cpython_argument_errors(mod: types.ModuleType) -> None:
    assert mod.add(b=2, a=1) == 3
    with pytest.raises(TypeError, match=r"add\(\) missing 1 required positional argument: 'b'"):
        mod.add(1)
    with pytest.raises(TypeError, match=r"add\(\) takes 2 positional arguments but 3 were given"):
        mod.add(1, 2, 3)
    with pytest.raises(TypeError, match=r"add\(\) got an unexpected keyword argument 'c'"):
        mod.add(1, c=2)
    with pytest.raises(TypeError, match=r"modobj\.add\(\) argument 'b' must be int, not str"):
        mod.add(1, "2")


def test_functions_pickle_by_reference(mod: types.ModuleType) -> None:
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(mod.add, proto)) is mod.add


def test_trap_is_runtime_error_with_kind_and_backtrace(mod: types.ModuleType) -> None:
    with pytest.raises(wasmimport.Trap) as info:
        mod.div(1, 0)
    trap = info.value
    assert isinstance(trap, RuntimeError)
    assert trap.kind == "integer_division_by_zero"
    assert str(trap).startswith("modobj.div(): wasm trap: integer divide by zero")
    assert trap.frames and trap.frames[0].func_index == 1
    assert "wasm backtrace" in str(trap)
    assert mod.div(7, 2) == 3        # still usable


def test_trap_backtrace_has_every_frame(mod: types.ModuleType) -> None:
    with pytest.raises(wasmimport.Trap) as info:
        mod.deep(3)
    assert info.value.kind == "unreachable"
    assert len(info.value.frames) == 4
    assert info.value.backtrace.count("\n") == 3
    assert pickle.loads(pickle.dumps(info.value)).kind == "unreachable"


SP_WAT = """(module
  (memory (export "memory") 1)
  (global ${name} (mut i32) (i32.const 4096))
  (func $helper (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "boom") (param i32) (result i32)
    local.get 0
    call $helper
    drop
    unreachable))"""


def test_trap_offsets_are_offsets_in_the_file_as_given() -> None:
    # A C guest's __stack_pointer makes wasmimport compile the module with one more export,
    # which moves the code: a trap's offsets must still point into the file itself (as
    # wasm-objdump shows it), equal to those of the same code without that global.
    offsets = []
    for name in ("__stack_pointer", "some_other_global"):
        mod = wasmimport.load(wat_binary(SP_WAT.replace("{name}", name)), name="sp")
        with pytest.raises(wasmimport.Trap) as info:
            mod.boom(1)
        offsets.append([frame.offset for frame in info.value.frames])
        assert str(info.value.frames[0]).startswith(f"{offsets[-1][0]:#8x} - ")
    assert offsets[0] == offsets[1]
    code = wat_binary(SP_WAT.replace("{name}", "g"))
    assert offsets[0][0] == code.index(b"\x1a\x00\x0b") + 1    # drop, unreachable, end


def test_stack_overflow_is_a_trap_not_a_crash(mod: types.ModuleType) -> None:
    with pytest.raises(wasmimport.Trap) as info:
        mod.recurse(0)
    assert info.value.kind == "stack_overflow"
    assert mod.add(1, 1) == 2


@pytest.mark.needs("memory-view")
def test_memory_supports_the_buffer_protocol(mod: types.ModuleType) -> None:
    view = memoryview(mod.memory)
    assert view.nbytes == 65536 and not view.readonly
    mod.poke(100, 42)
    assert view[100] == 42
    view[200] = 7
    assert mod.peek(200) == 7


TWO_MEMORIES = """(module
  (memory (export "memory") 1)
  (memory (export "scratch") 0)
  (func (export "size2") (result i32) memory.size 1))"""


@pytest.mark.needs("memory-view")
def test_every_exported_memory_is_an_attribute() -> None:
    """A module with two memories (the multi-memory proposal): both are attributes; an
    engine without the proposal says so at import."""
    if not has("multi-memory"):
        with pytest.raises(wasmimport.WasmImportError, match=r"<two>: not a valid wasm "
                                                             r"module: .*multiple memories"):
            wasmimport.load(wat_binary(TWO_MEMORIES), name="two",
                            manifest={"functions": {"size2": "() -> u32"}})
        return
    mod = wasmimport.load(wat_binary(TWO_MEMORIES), name="two",
                          manifest={"functions": {"size2": "() -> u32"}})
    assert memoryview(mod.memory).nbytes == 65536
    assert memoryview(mod.scratch).nbytes == 0 and mod.size2() == 0


@pytest.mark.needs("memory-view")
def test_memory_view_follows_growth(mod: types.ModuleType) -> None:
    old = memoryview(mod.memory)
    assert mod.grow(2) == 1
    assert memoryview(mod.memory).nbytes == 3 * 65536
    assert old.nbytes == 65536          # an old view keeps its size and stays valid
    old[5] = 9
    assert mod.peek(5) == 9
    assert mod.grow(5) == -1            # past the declared maximum: the guest sees -1


@pytest.mark.needs("memory-view")
def test_memory_view_keeps_instance_alive(hook: None, syspath: Path) -> None:
    (syspath / "dropped.wasm").write_bytes(wat_binary(WAT))
    import dropped  # type: ignore[import-not-found]
    view = memoryview(dropped.memory)
    dropped.poke(3, 77)
    del sys.modules["dropped"], dropped
    import gc
    gc.collect()
    assert view[3] == 77


def test_guest_out_of_bounds_is_trap(mod: types.ModuleType) -> None:
    with pytest.raises(wasmimport.Trap) as info:
        mod.peek(4 * 65536 + 10)
    assert info.value.kind == "memory_out_of_bounds"


def test_corrupt_wasm_is_import_error_naming_file(hook: None, syspath: Path) -> None:
    (syspath / "corrupt.wasm").write_bytes(b"\0asm\x01\0\0\0\x01\x05\x01")
    with pytest.raises(wasmimport.WasmImportError, match=r"corrupt\.wasm: .*") as info:
        import corrupt  # type: ignore[import-not-found]  # noqa: F401
    assert info.value.path == str(syspath / "corrupt.wasm")


def test_invalid_wasm_code_is_import_error(hook: None, syspath: Path) -> None:
    # well-formed sections, but the function body does not type-check
    bad = wat_binary('(module (func (export "f") (result i32) i32.const 1))')
    bad = bad.replace(b"\x41\x01\x0b", b"\x42\x01\x0b")      # i32.const -> i64.const
    (syspath / "illtyped.wasm").write_bytes(bad)
    with pytest.raises(wasmimport.WasmImportError, match=r"illtyped\.wasm: not a valid wasm"):
        import illtyped  # type: ignore[import-not-found]  # noqa: F401


def test_garbage_and_bad_wat(hook: None, syspath: Path) -> None:
    (syspath / "garbage.wasm").write_bytes(b"\x89PNG\r\n\x1a\n")
    (syspath / "badtext.wat").write_text("(module (func (export \"f\") (resul i32)))")
    garbage = r"garbage\.wasm: neither a wasm binary" if has("wat") else \
        r"garbage\.wasm: not a wasm binary; text \(wat\) " + refused("wat")
    with pytest.raises(wasmimport.WasmImportError, match=garbage):
        import garbage  # type: ignore[import-not-found]  # noqa: F401
    badtext = r"badtext\.wat: .*unknown operator" if has("wat") else \
        r"badtext\.wat: not a wasm binary; text \(wat\) " + refused("wat")
    with pytest.raises(wasmimport.WasmImportError, match=badtext):
        import badtext  # type: ignore[import-not-found]  # noqa: F401


def test_component_binary_is_rejected_clearly(hook: None, syspath: Path) -> None:
    (syspath / "component.wasm").write_bytes(b"\0asm\x0d\0\x01\0")
    with pytest.raises(wasmimport.WasmImportError, match=r"component\.wasm: "):
        import component  # type: ignore[import-not-found]  # noqa: F401


def test_undeclared_imports_are_listed(hook: None, syspath: Path) -> None:
    (syspath / "needy.wasm").write_bytes(wat_binary('''(module
      (import "env" "log" (func (param i32 i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "env" "table" (table 1 funcref)))'''))
    with pytest.raises(wasmimport.WasmImportError) as info:
        import needy  # type: ignore[import-not-found]  # noqa: F401
    message = str(info.value)
    assert "needy.wasm: the module imports what its manifest does not provide" in message
    assert "env.log: (i32, i32) -> ()" in message
    assert "wasi_snapshot_preview1.fd_write: (i32, i32, i32, i32) -> (i32)" in message
    assert "env.table: table" in message


def test_start_function_trap_is_import_error(hook: None, syspath: Path) -> None:
    (syspath / "badstart.wasm").write_bytes(wat_binary("(module (func $s unreachable) "
                                                       "(start $s))"))
    with pytest.raises(wasmimport.WasmImportError, match=r"badstart\.wasm: instantiation failed"):
        import badstart  # type: ignore[import-not-found]  # noqa: F401


def test_v128_export_does_not_crash(hook: None, syspath: Path) -> None:
    (syspath / "simd.wasm").write_bytes(wat_binary('''(module
      (func (export "splat") (param i32) (result v128) local.get 0 i32x4.splat)
      (func (export "one") (result i32) i32.const 1))'''))
    import simd  # type: ignore[import-not-found]
    assert simd.one() == 1
    assert not hasattr(simd, "splat")


@pytest.mark.needs("processes")
def test_no_output_at_interpreter_shutdown(tmp_path: Path) -> None:
    (tmp_path / "atexit_mod.wasm").write_bytes(wat_binary(WAT))
    code = ("import wasmimport; wasmimport.install(); import atexit_mod; "
            "v = memoryview(atexit_mod.memory); f = atexit_mod.add; print(f(1, 2))")
    result = subprocess.run([sys.executable, "-W", "error", "-X", "dev", "-c", code],
                            cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                 **backend_env()})
    assert result.returncode == 0
    assert result.stdout == "3\n"
    assert result.stderr == ""


@pytest.mark.needs("threads")
def test_functions_are_created_once_on_first_lookup(hook: None, syspath: Path) -> None:
    (syspath / "lazy.wasm").write_bytes(wat_binary(WAT))
    (syspath / "lazy.wasm.toml").write_text(MANIFEST)
    import lazy  # type: ignore[import-not-found]
    assert "add" not in vars(lazy) and "add" in dir(lazy)
    import threading
    seen: list[object] = []

    def look_up() -> None:
        try:
            seen.append(lazy.div)
        except RuntimeError as exc:     # a backend whose modules are bound to their thread
            seen.append(exc)
    threads = [threading.Thread(target=look_up) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8
    if has("any-thread"):
        assert all(f is seen[0] for f in seen)
    else:
        assert all(isinstance(e, RuntimeError) and "only in the thread that imported it" in
                   str(e) for e in seen)
        assert "div" not in vars(lazy)
    assert lazy.div is vars(lazy)["div"]
    namespace: dict[str, object] = {}
    exec("from lazy import *", namespace)  # noqa: S102  (star-import needs a namespace)
    assert set(lazy.__all__) <= set(namespace) and namespace["add"] is lazy.add
    with pytest.raises(AttributeError, match="module 'lazy' has no attribute 'nope'"):
        lazy.nope  # noqa: B018


POST_WAT = """(module
  (global $seen (mut i32) (i32.const -1))
  (global $calls (mut i32) (i32.const 0))
  (func (export "answer") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "cabi_post_answer") (param i32)
    local.get 0 global.set $seen
    global.get $calls i32.const 1 i32.add global.set $calls)
  (func (export "seen") (result i32) global.get $seen)
  (func (export "calls") (result i32) global.get $calls))"""


@pytest.mark.parametrize("manifest", [None, '[functions]\nanswer = "(x: u8) -> u16"\n'])
def test_post_return_of_scalar_results(tmp_path: Path, manifest: str | None) -> None:
    (tmp_path / "post.wasm").write_bytes(wat_binary(POST_WAT))
    if manifest:
        (tmp_path / "post.wasm.toml").write_text(manifest)
    mod = wasmimport.load(tmp_path / "post.wasm")
    assert mod.answer(41) == 42
    assert (mod.seen(), mod.calls()) == (42, 1)     # called with the core result, once
    assert "cabi_post_answer" not in mod.__all__


def test_modules_using_newer_reference_types_load() -> None:
    """exnref and the GC proposal's shorthand types (in C++ builds with wasm exceptions, like
    Yosys's) must not stop the module from loading; functions using them are not bound.  An
    engine without wasm exceptions says so at import."""
    wasm = wat_binary("""(module
      (func (export "takes_exn") (param exnref))
      (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))""")
    if not has("exceptions"):
        with pytest.raises(wasmimport.WasmImportError, match=r"<exn>: not a valid wasm module"):
            wasmimport.load(wasm, name="exn")
        return
    mod = wasmimport.load(wasm, name="exn")
    assert mod.add(2, 3) == 5
    assert not hasattr(mod, "takes_exn")
