"""Resources in a core module's manifest: guest objects owned by Python objects.

The guest is tests/guests/objects.c with objects.wasm.toml: an accumulator whose handle is
its pointer, with a drop export, methods, a consuming function and a copy.  Its drop tells
the host (env.dropped), so these tests run with the compiled extension (host functions
need it on wasmtime); a method's call is the compiled path's, over the object's
representation.
"""

from __future__ import annotations

import copy
import gc
import inspect
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import wasmimport
from conftest import guest_path, has
from wasmimport import ManifestError, Trap, WasmImportError

MANIFEST = guest_path("objects").with_name("objects.wasm.toml")


@pytest.fixture
def objects(compiled: None) -> Iterator[types.ModuleType]:
    """A fresh instance: each test counts its own objects."""
    module = wasmimport.load(guest_path("objects"), "objects")
    yield module
    gc.collect()


def test_constructor_methods_and_signatures(objects: types.ModuleType) -> None:
    acc = objects.Acc(5)
    acc.add(2)
    assert acc.value() == 7 and objects.total(acc) == 7
    assert objects.Acc().value() == 0               # the manifest's default
    assert isinstance(acc, objects.Acc) and type(acc).__module__ == "objects"
    assert str(inspect.signature(objects.Acc)) == "(start: int = 0) -> None"
    assert str(inspect.signature(objects.Acc.add)) == \
        "(self: objects.Acc, by: int) -> None"
    assert objects.Acc.__init__.__doc__ == "A new accumulator at start."
    assert objects.Acc.add.__qualname__ == "Acc.add"
    assert "Acc" in objects.__all__ and "acc_free" not in dir(objects)  # the drop is hidden
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'by'"):
        acc.add()                       # type: ignore[call-arg]


def test_methods_with_memory_run_on_the_compiled_path(objects: types.ModuleType) -> None:
    """A method lending its object and passing bytes and str is the compiled path's call
    over the representation (a plain call's cost, not the general pure invoker's)."""
    acc = objects.Acc(7)
    assert acc.feed(b"\x01\x02") == "10" and acc.feed(bytearray(b"\xff")) == "265"
    assert objects.Acc(-300).feed(b"") == "-300"
    if has("compiled-calls"):
        for method in (objects.Acc.feed, objects.Acc.value, objects.Acc.copy):
            assert type(method.__globals__["_inner"]).__name__ == "Function", method
    with pytest.raises(TypeError, match=r"objects\.Acc\.feed\(\) argument 'data' must be "):
        acc.feed("text")                # type: ignore[arg-type]
    acc.close()
    with pytest.raises(ValueError, match=r"argument 'self': the Acc was dropped"):
        acc.feed(b"x")
    copied = objects.Acc(4).copy()      # a resource result is adopted from its handle
    assert type(copied) is objects.Acc and copied.value() == 4


def test_borrow_lends_and_own_moves(objects: types.ModuleType) -> None:
    a, b = objects.Acc(1), objects.Acc(10)
    merged = objects.merge(a, b)        # consumes a (the guest drops it), borrows b
    assert merged.value() == 11 and b.value() == 10
    assert objects.live() == 2 and objects.drops() == 1
    with pytest.raises(ValueError, match=r"objects.Acc.add\(\) argument 'self': the Acc "
                                         r"was moved into a call that took ownership of it"):
        a.add(1)
    assert "moved into a call" in repr(a)
    static = objects.Acc.merged(objects.Acc(2), b)      # a static function of the class
    assert static.value() == 12


def test_an_object_moved_and_lent_in_one_call_is_refused(objects: types.ModuleType) -> None:
    a = objects.Acc(3)
    with pytest.raises(ValueError, match=r"objects.merge\(\): the Acc was moved into a call"):
        objects.merge(a, a)       # the guest would read what it just freed
    assert objects.drops() == 0


def test_a_call_moving_an_object_in_checks_every_argument_first(objects: types.ModuleType
                                                                 ) -> None:
    """merge(a: Acc, b: borrow[Acc]) -> Acc runs on the compiled path (it took the pure
    one), and, as the pure path does, checks every argument before it moves any: a wrong
    second argument leaves the first one Python's."""
    a, b = objects.Acc(5), objects.Acc(6)
    if has("compiled-calls"):
        for function in (objects.merge, objects.Acc.merged):
            assert type(function.__globals__["_inner"]).__name__ == "Function", function
    with pytest.raises(TypeError, match=r"objects.merge\(\) argument 'b' must be Acc, not int"):
        objects.merge(a, 6)
    b.close()
    with pytest.raises(ValueError, match=r"objects.merge\(\) argument 'b': the Acc was "
                                         r"dropped"):
        objects.merge(a, b)
    assert a.value() == 5 and objects.drops() == 1         # a is still Python's
    assert objects.merge(a, objects.Acc(1)).value() == 6 and objects.drops() == 2
    assert "moved into a call" in repr(a)


def test_dropped_exactly_once(objects: types.ModuleType) -> None:
    acc = objects.Acc(1)
    acc.close()
    acc.close()                                   # a second close is a no-op, as for files
    assert objects.drops() == 1 and "(dropped)" in repr(acc)
    with pytest.raises(ValueError, match=r"objects.Acc.value\(\) argument 'self': the Acc "
                                         "was dropped"):
        acc.value()
    with objects.Acc(2) as inside:
        assert inside.value() == 2
    assert objects.drops() == 2
    with pytest.raises(ValueError, match="was dropped"):
        with inside:
            pass
    ref = objects.Acc(3)
    del ref                                       # garbage: dropped by refcounting
    cycle = objects.Acc(4)
    holder: list[object] = [cycle]
    holder.append(holder)
    del cycle, holder
    gc.collect()                                  # in a cycle: dropped by the collector
    assert objects.drops() == 4 and objects.live() == 0


def test_thousands_without_leaks(objects: types.ModuleType) -> None:
    def churn(n: int) -> None:
        for i in range(n):
            acc = objects.Acc(i)
            acc.add(1)
            objects.merge(acc, objects.Acc(1)).close()
    churn(1000)
    pages = objects.__wasmimport__.instance.memory("memory").size()
    churn(20000)
    assert objects.live() == 0 and objects.drops() == 3 * 21000
    assert objects.__wasmimport__.instance.memory("memory").size() == pages


def test_copy_uses_the_guest_and_pickle_is_refused(objects: types.ModuleType) -> None:
    acc = objects.Acc(8)
    for twin in (acc.copy(), copy.copy(acc), copy.deepcopy(acc)):
        twin.add(1)
        assert twin.value() == 9 and acc.value() == 8
    with pytest.raises(TypeError, match="cannot pickle or copy 'Acc' object: it owns a "
                                        "guest object"):
        pickle.dumps(acc)


def test_wrong_arguments_name_the_function(objects: types.ModuleType) -> None:
    with pytest.raises(TypeError, match=r"objects.total\(\) argument 'a' must be Acc, "
                                        "not int"):
        objects.total(5)
    with pytest.raises(TypeError, match=r"objects.Acc.add\(\) argument 'by' must be int"):
        objects.Acc(1).add("1")
    assert objects.live() == 0          # the argument was refused before the guest ran


def test_a_resource_without_constructor(tmp_path: Path, compiled: None) -> None:
    (tmp_path / "m.wasm").write_bytes(guest_path("objects").read_bytes())
    (tmp_path / "m.wasm.toml").write_text(
        '[types.Acc]\nresource = { drop = "acc_free" }\n[functions]\n'
        'new = { export = "acc_new", signature = "(start: i64) -> Acc" }\n'
        '[imports.env.dropped]\npython = "hostfns:dropped"\n'
        'signature = "(value: i64) -> None"\n')
    m = wasmimport.load(tmp_path / "m.wasm")
    with pytest.raises(TypeError, match="cannot create 'Acc' instances: the guest declares "
                                        "no constructor"):
        m.Acc()
    assert isinstance(m.new(1), m.Acc)


def test_a_trap_in_drop_is_raised_by_close(objects: types.ModuleType) -> None:
    acc = objects.Acc(1)
    objects.Acc.merged(objects.Acc(0), acc)       # fine: acc is only lent
    forged = objects.Acc.__new__(objects.Acc)
    forged._wasm_rep = 16                         # not an accumulator: the guest traps
    with pytest.raises(Trap, match=r"objects.Acc.close\(\)"):
        forged.close()


@pytest.mark.needs("threads")
def test_threads_create_and_drop_concurrently(objects: types.ModuleType) -> None:
    def work() -> None:
        for i in range(500):
            with objects.Acc(i) as acc:
                acc.add(1)
            objects.Acc(i)
    if not has("any-thread"):       # wasmer: the documented error, in the other thread
        with pytest.raises(RuntimeError, match="runs a module only in the thread"):
            _in_thread(lambda: objects.Acc(1))
        return
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_in_thread, args=(work, errors)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert objects.live() == 0 and objects.drops() == 4000


def _in_thread(fn: object, errors: list[BaseException] | None = None) -> None:
    """Run ``fn`` in a thread of its own and re-raise what it raised (or record it)."""
    if errors is not None:
        try:
            fn()  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        return
    caught: list[BaseException] = []
    t = threading.Thread(target=_in_thread, args=(fn, caught))
    t.start()
    t.join()
    if caught:
        raise caught[0]


@pytest.mark.needs("processes")
def test_objects_alive_at_exit_are_dropped(tmp_path: Path, compiled: None) -> None:
    """At interpreter exit every object still alive (a global, a cycle, one made in a thread)
    is dropped while its instance lives: the guest tells the host of each drop."""
    shutil.copy(guest_path("objects"), tmp_path / "objects.wasm")
    shutil.copy(MANIFEST, tmp_path / "objects.wasm.toml")
    script = textwrap.dedent("""
        import threading, wasmimport
        wasmimport.install()
        import objects
        objects.notify_drops(True)
        kept = objects.Acc(1)
        cycle = [objects.Acc(2)]
        cycle.append(cycle)
        made = []
        if {threads}:
            t = threading.Thread(target=lambda: made.append(objects.Acc(3)))
            t.start(); t.join()
        else:
            made.append(objects.Acc(3))
        print("exiting", flush=True)
    """).replace("{threads}", str(has("any-thread")))
    tests = Path(__file__).parent
    out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": f"{tmp_path}:{tests}",
                              "WASMIMPORT_PURE": "0"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "exiting"
    assert sorted(lines[1:]) == ["dropped 1", "dropped 2", "dropped 3"], out.stdout
    assert "Exception ignored" not in out.stderr


@pytest.mark.parametrize(("types_table", "functions", "message"), [
    ('[types.R]\nresource = 5\n', '', r"\[types.R\] resource must be a table"),
    ('[types.R]\nresource = {drop = 3}\n', '', r"resource drop must be the name of an export"),
    ('[types.R]\nresource = {}\n', 'f = "() -> borrow[R]"\n',
     r"borrow\[R\] is only a type for an exported function's own parameters, not a result"),
    ('[types.P]\nx = "u8"\n', 'f = "(p: borrow[P]) -> None"\n',
     r"borrow\[\.\.\.\] takes one resource type declared in \[types\]"),
    ('[types.R]\nresource = {}\n', 'f = "(r: own[R, R]) -> None"\n',
     r"own\[\.\.\.\] takes one resource type"),
])
def test_manifest_errors(tmp_path: Path, types_table: str, functions: str,
                         message: str) -> None:
    (tmp_path / "m.wasm").write_bytes(guest_path("objects").read_bytes())
    (tmp_path / "m.wasm.toml").write_text(f"{types_table}\n[functions]\n{functions}")
    with pytest.raises(ManifestError, match=message):
        wasmimport.load(tmp_path / "m.wasm")


@pytest.mark.parametrize(("edit", "message"), [
    (('resource = { drop = "acc_free" }', 'resource = { drop = "acc_nope" }'),
     r"\[types.Acc\]: the drop export 'acc_nope' is missing; expected core type "
     r"\(i32\) -> \(\)"),
    (('signature = "(start: i64 = 0) -> Acc"', 'signature = "(start: i64 = 0) -> i32"'),
     r"\[functions\] Acc.__init__: a constructor must return Acc"),
    (('(self: borrow[Acc], by: i64)', '(self: i32, by: i64)'),
     r"\[functions\] Acc.add: a method's self must be borrow\[Acc\]"),
    (('signature = "(value: i64) -> None"', 'signature = "(value: Acc) -> None"'),
     r"\[imports.env.dropped\]: a host function cannot take or return the guest's own "
     r"resources"),
])
def test_planning_errors(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    text = MANIFEST.read_text()
    assert edit[0] in text
    (tmp_path / "m.wasm").write_bytes(guest_path("objects").read_bytes())
    (tmp_path / "m.wasm.toml").write_text(text.replace(*edit))
    with pytest.raises((ManifestError, WasmImportError), match=message):
        wasmimport.load(tmp_path / "m.wasm")


def test_handles_inside_lists(objects: types.ModuleType) -> None:
    made = objects.acc_range(50)
    assert [a.value() for a in made] == list(range(50)) and objects.live() == 50
    assert objects.acc_consume_all(made[10:]) == sum(range(10, 50))   # moved in: dropped
    assert objects.live() == 10 and all("moved" in repr(a) for a in made[10:])
    with pytest.raises(ValueError, match=r"acc_consume_all\(\).*was moved"):
        objects.acc_consume_all(made[9:11])
    with pytest.raises(TypeError, match=r"acc_consume_all\(\) argument 'items'.*Acc"):
        objects.acc_consume_all([1])
    pages = objects.__wasmimport__.instance.memory("memory").size()
    for _ in range(300):
        objects.acc_consume_all(objects.acc_range(100))
    assert objects.__wasmimport__.instance.memory("memory").size() == pages
