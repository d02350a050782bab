"""Host functions: [imports.MODULE.NAME] provides a wasm import with a Python callable."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import hostfns
import pytest

import wasmimport
from conftest import guest_path, has, wat_binary

# host functions need the extension (see test_the_pure_fallback_refuses_host_functions)
pytestmark = pytest.mark.usefixtures("compiled")


@pytest.fixture
def host() -> Iterator[types.ModuleType]:
    mod = wasmimport.load(guest_path("host"))
    hostfns.module = mod
    hostfns.logged.clear()
    yield mod
    hostfns.module = None


def test_arguments_and_results_cross_with_the_type_system(host: types.ModuleType) -> None:
    assert host.greet("héllo") == len("héllo".encode())
    assert hostfns.logged == ["héllo"]
    assert host.sum_via_host(2, 40) == 42
    assert host.shout("wasm") == "WASM!"          # the host wrote a str into the guest
    pages = host.__wasmimport__.instance.memory("memory").size()
    for _ in range(2000):                         # and the guest frees it: no growth
        host.shout("x" * 100)
    assert host.__wasmimport__.instance.memory("memory").size() == pages


def test_a_host_exception_reaches_the_caller_as_itself(host: types.ModuleType) -> None:
    with pytest.raises(hostfns.HostError, match="raised by the host") as info:
        host.call_fail()
    notes = getattr(info.value, "__notes__", [])
    if hasattr(BaseException, "add_note"):      # Python 3.11+: the wasm frames, as a note
        assert len(notes) == 1
        head, _, frames = notes[0].partition("wasm backtrace:\n")
        assert "host.call_fail()" in head
        assert "call_fail" in frames
    # the host function's own frame is in the traceback
    assert any(frame.name == "fail" for frame in info.traceback)
    assert host.sum_via_host(1, 2) == 3          # and the module stays usable


def test_host_functions_may_call_back_into_the_module(host: types.ModuleType) -> None:
    assert host.use_reenter(21) == 21 * 2 + 1 + 1000


def test_a_trap_in_a_nested_call_leaves_the_outer_call_intact(host: types.ModuleType) -> None:
    assert host.nested_probe() == sum(i % 256 for i in range(1024))
    with pytest.raises(wasmimport.Trap):
        host.trap_with_frame()
    assert host.nested_probe() == sum(i % 256 for i in range(1024))


def test_a_wrong_host_result_is_the_host_functions_error(host: types.ModuleType,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(hostfns, "add", lambda a, b: "not an int")
    # the callable was resolved at instantiation: a fresh load picks the new one
    mod = wasmimport.load(guest_path("host"))
    with pytest.raises(TypeError, match=r"env\.add \(hostfns:add\) result must be int, "
                                        r"not str"):
        mod.sum_via_host(1, 2)


CTRL_C_CHILD = textwrap.dedent("""
    import sys, wasmimport
    mod = wasmimport.load(sys.argv[1])
    for _ in range(int(sys.argv[2])):
        print("ready", flush=True)
        try:
            mod.count_via_host(0)              # calls env.add forever
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    print(mod.count_via_host(1000), mod.sum_via_host(2, 3), flush=True)
""")


def line_reader(child: subprocess.Popen[str]) -> Callable[[], str]:
    """Read the child's output lines as they come: each call returns the next one, or ""
    if none comes within 30 seconds (a hung child fails the test instead of hanging it)."""
    assert child.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in child.stdout or ()],
                     daemon=True).start()

    def readline() -> str:
        try:
            return lines.get(timeout=30)
        except queue.Empty:
            return ""
    return readline


def test_the_pure_fallback_refuses_host_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    # A ctypes callback cannot catch the KeyboardInterrupt that Python's SIGINT handler may
    # raise at its first instruction, and then hands the engine a garbage trap pointer.
    # (Only where the engine is called through ctypes: an engine with its own Python
    # binding, without the C call path, calls host functions through that binding.)
    monkeypatch.setenv("WASMIMPORT_PURE", "1")
    if not has("compiled-calls"):
        host = wasmimport.load(guest_path("host"))
        assert host.sum_via_host(2, 40) == 42 and host.shout("wasm") == "WASM!"
        return
    with pytest.raises(wasmimport.WasmImportError,
                       match=r"host\.wasm: \[imports\] \(host functions\) needs wasmimport's "
                             r"compiled extension \(wasmimport\._speedups\), and "
                             "WASMIMPORT_PURE is set"):
        wasmimport.load(guest_path("host"))


@pytest.mark.needs("processes")
def test_ctrl_c_while_wasm_calls_the_host_in_a_loop(tmp_path: Path) -> None:
    # The SIGINT lands while wasm is entering or leaving the host function, so Python's
    # handler raises KeyboardInterrupt at the host function's first instruction: it must
    # end the wasm call like any host exception, round after round.
    rounds = 6
    script = tmp_path / "child.py"
    script.write_text(CTRL_C_CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(hostfns.__file__).parent),
                                          os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, str(script), str(guest_path("host")),
                              str(rounds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    readline = line_reader(child)
    try:
        for _ in range(rounds):
            assert readline() == "ready\n"
            time.sleep(0.2)                   # well inside the endless loop
            child.send_signal(signal.SIGINT)
            assert readline() == "interrupted\n"
        assert readline() == "1000 5\n"
        child.wait(timeout=60)
    finally:
        child.kill()
        _, err = child.communicate()
    assert "Exception ignored" not in err
    assert child.returncode == 0, err


def copy_with_manifest(tmp_path: Path, manifest: str) -> Path:
    target = tmp_path / "h.wasm"
    shutil.copy(guest_path("host"), target)
    (tmp_path / "h.wasm.toml").write_text(manifest)
    return target


def test_every_unprovided_import_is_listed(tmp_path: Path) -> None:
    with pytest.raises(wasmimport.WasmImportError) as info:
        wasmimport.load(copy_with_manifest(tmp_path, ""))
    message = str(info.value)
    for line in ("env.log: (i32, i32) -> ()", "env.add: (i32, i32) -> (i32)",
                 "env.shout: (i32, i32, i32) -> ()", "env.fail: () -> ()"):
        assert f"  {line}" in message


@pytest.mark.parametrize("entry, message", [
    ('[imports.env.log]\npython = "hostfns:nope"\nsignature = "(m: str) -> None"',
     r"\[imports\.env\.log\]: cannot import 'hostfns:nope'"),
    ('[imports.env.log]\npython = "no_such_module_xyz:f"\nsignature = "(m: str) -> None"',
     r"cannot import 'no_such_module_xyz:f'"),
    ('[imports.env.log]\npython = "hostfns:logged"\nsignature = "(m: str) -> None"',
     r"'hostfns:logged' is a list, not a callable"),
])
def test_a_bad_callable_is_an_import_error(tmp_path: Path, entry: str, message: str) -> None:
    manifest = (tmp_path / "full.toml")
    full = guest_path("host").with_suffix(".wasm.toml").read_text()
    full = full.replace('[imports.env.log]\npython = "hostfns:log"\nsignature = "(msg: str) '
                        '-> None"', entry)
    manifest.write_text(full)
    with pytest.raises(wasmimport.WasmImportError, match=message):
        wasmimport.load(guest_path("host"), manifest=manifest)


@pytest.mark.parametrize("entry, message", [
    ('[imports.env.log]\npython = "hostfns:log"\nsignature = "(msg: str) -> i32"',
     r"\[imports\.env\.log\]: signature '\(msg: str\) -> i32' needs the import to have core "
     r"type \(i32, i32\) -> \(i32\), but its core type is \(i32, i32\) -> \(\)"),
    ('[imports.env.log]\npython = "hostfns"\nsignature = "(msg: str) -> None"',
     r"python must name a callable as \"package\.module:attribute\", not 'hostfns'"),
    ('[imports.env.log]\npython = "hostfns:log"\nsignature = "(msg: str) -> None"\n'
     '[imports.env.extra]\npython = "hostfns:log"',
     r"\[imports\.env\.extra\]: the module does not import env\.extra"),
    ('[imports.env.log]\npython = "hostfns:log"\nsignatur = "(msg: str) -> None"',
     r"\[imports\.env\.log\]: unknown key 'signatur'"),
])
def test_a_bad_import_entry_is_a_manifest_error(tmp_path: Path, entry: str,
                                                message: str) -> None:
    full = guest_path("host").with_suffix(".wasm.toml").read_text()
    full = full.replace('[imports.env.log]\npython = "hostfns:log"\nsignature = "(msg: str) '
                        '-> None"', entry)
    (tmp_path / "m.toml").write_text(full)
    with pytest.raises(wasmimport.ManifestError, match=message):
        wasmimport.load(guest_path("host"), manifest=tmp_path / "m.toml")


def wide(*values: object) -> int:
    """A host function of many parameters: what it got, folded into one number."""
    return sum(len(v) * 1000 if isinstance(v, str) else int(v)  # type: ignore[call-overload]
               for v in values)


WIDE_CORE = 70          # core parameters, as the module declares them: passed as they are


def test_a_host_function_of_many_core_parameters() -> None:
    """No fixed limit: an import declared with 70 core parameters gets them all."""
    consts = " ".join(f"i32.const {i}" for i in range(WIDE_CORE))
    module = f"""(module
      (import "env" "wide" (func $wide (param {' i32' * WIDE_CORE}) (result i32)))
      (func (export "call_wide") (result i32) {consts} call $wide))"""
    mod = wasmimport.load(wat_binary(module), manifest={
        "functions": {"call_wide": "() -> i32"},
        "imports": {"env": {"wide": {"python": "test_host:wide"}}}})
    assert mod.call_wide() == sum(range(WIDE_CORE))


def test_a_typed_host_function_of_more_than_16_flat_values_gets_them_from_memory() -> None:
    """Canonical ABI lowering into the host: 16 i32 and a str are 18 flat values, so the
    guest stores them as a tuple in its memory and passes one pointer."""
    stores = " ".join(f"i32.const {64 + 4 * i} i32.const {i + 1} i32.store" for i in range(16))
    module = f"""(module
      (import "env" "wide" (func $wide (param i32) (result i64)))
      (memory (export "memory") 1)
      (data (i32.const 256) "wasm!")
      (func (export "call_wide") (param $at i32) (result i64)
        {stores}
        i32.const 128 i32.const 256 i32.store          ;; the str: ptr at +64 ...
        i32.const 132 i32.const 5 i32.store            ;; ... and length at +68
        local.get $at call $wide))"""
    params = ", ".join(f"a{i}: i32" for i in range(16))
    mod = wasmimport.load(wat_binary(module), manifest={
        "functions": {"call_wide": "(at: i32) -> i64"},
        "imports": {"env": {"wide": {"python": "test_host:wide",
                                      "signature": f"({params}, s: str) -> i64"}}}})
    assert mod.call_wide(64) == sum(range(1, 17)) + 5000
    with pytest.raises(wasmimport.Trap) as info:
        mod.call_wide(66)
    assert str(info.value) == "the guest passed its arguments at unaligned address 0x42"
    if sys.version_info >= (3, 11):       # noted as any error raised on the host's side
        assert "in wasm_module.call_wide()" in info.value.__notes__[0]
