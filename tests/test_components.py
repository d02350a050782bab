"""Components (SPEC section 8): imported like modules, typed by their own WIT.

The guests are tests/guests/components/*.c + .wit, made components by `build --wit` (jco's
wasm-tools embed + new); see the README there.
"""

from __future__ import annotations

import gc
import inspect
import pickle
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from conftest import BACKEND, guest_path, has, mypy_strict
from wasmimport import GuestError, ManifestError, Trap, WasmImportError
from wasmimport._inspect import describe
from wasmimport._stub import render_stub
from wasmimport.component import as_core


def component(name: str) -> Path:
    return guest_path(f"components/{name}")


@pytest.fixture(scope="module")
def calc() -> types.ModuleType:
    return wasmimport.load(component("calc"), "calc")


def test_import_hook_finds_a_component(syspath: Path, hook: None) -> None:
    shutil.copy(component("calc"), syspath / "calc_c.wasm")
    import calc_c  # type: ignore[import-not-found]
    assert calc_c.add(2, 3) == 5
    assert calc_c.__file__ == str(syspath / "calc_c.wasm")


def test_component_in_a_zip(tmp_path: Path, hook: None, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(component("calc"), "zipped_calc.wasm")
    monkeypatch.syspath_prepend(str(archive))
    import zipped_calc  # type: ignore[import-not-found]
    assert zipped_calc.upper("zip") == "ZIP"


@pytest.mark.needs("file-cache")
def test_compiled_once(cache: Path, compiles: list[int]) -> None:
    wasmimport.load(component("calc"))
    wasmimport.load(component("calc"))
    assert len(compiles) == 1       # the second import loads the cached core module


def test_names_are_python_names(calc: types.ModuleType) -> None:
    assert {"add", "echo_bytes", "sum_list", "parse_int", "next_char", "not_",
            "make_shape", "shapes", "Point", "Color", "Perm", "Shape"} <= set(calc.__all__)
    assert not hasattr(calc, "cabi_realloc")       # the core module's plumbing is hidden
    assert not hasattr(calc, "memory")
    assert "cabi_realloc" not in dir(calc)


def test_scalars(calc: types.ModuleType) -> None:
    assert calc.add(2, 3) == 5
    assert calc.add(2**31 - 1, 1) == -(2**31)
    assert calc.widen(-1, 2, -3, 4, -5, 6, -7, 8) == 4
    assert calc.narrow(-1) == (-1, 255, -1, 65535, -1, 2**32 - 1, -1, 2**64 - 1)
    assert calc.id_f32(1.5) == 1.5
    assert calc.id_f64(-0.0) == 0.0
    assert calc.not_(True) is False
    assert calc.sum_many(*range(17)) == sum(range(17))


def test_ints_are_range_checked(calc: types.ModuleType) -> None:
    with pytest.raises(OverflowError, match=r"calc.widen\(\) argument 'a' is out of range"):
        calc.widen(200, 0, 0, 0, 0, 0, 0, 0)
    with pytest.raises(TypeError, match=r"calc.add\(\) argument 'b' must be int, not str"):
        calc.add(1, "2")


def test_char(calc: types.ModuleType) -> None:
    assert calc.next_char("a") == "b"
    assert calc.next_char("\U0001F600") == "\U0001F601"
    with pytest.raises(ValueError, match="must be one character, not 2"):
        calc.next_char("ab")
    with pytest.raises(ValueError, match="surrogate"):
        calc.next_char("\ud800")
    with pytest.raises(TypeError, match="must be a str of one character, not int"):
        calc.next_char(97)


def test_strings_bytes_lists_tuples(calc: types.ModuleType) -> None:
    assert calc.upper("hello") == "HELLO"
    assert calc.upper("") == ""
    assert calc.echo_bytes(b"\x00\xff") == b"\x00\xff"
    assert calc.sum_list([1.5, 2.5]) == 4.0
    assert calc.swap((7, "seven")) == ("seven", 7)


def test_option_and_result(calc: types.ModuleType) -> None:
    assert calc.parse_int("-42") == -42
    with pytest.raises(GuestError) as info:
        calc.parse_int("x")
    assert isinstance(info.value.value, str)
    assert calc.find("nope") is None


def test_record_enum_flags(calc: types.ModuleType) -> None:
    p = calc.mirror(calc.Point(1, 2))
    assert p == calc.Point(2, 1) and isinstance(p, calc.Point)
    assert calc.mirror({"x": 5, "y": 6}) == (6, 5)
    assert isinstance(calc.paint(calc.Color.green), calc.Perm)
    assert calc.toggle(calc.Perm.read) == calc.Perm.write | calc.Perm.exec


def test_variants_are_a_class_per_case(calc: types.ModuleType) -> None:
    Shape = calc.Shape
    assert issubclass(Shape.Circle, Shape) and issubclass(Shape.None_, Shape)
    assert calc.area(Shape.Rect(calc.Point(2, 3))) == 6.0
    assert calc.area(Shape.None_()) == 0.0
    made = calc.make_shape(1)
    match made:
        case Shape.Rect(p):
            assert isinstance(p, calc.Point)
        case _:
            pytest.fail(f"not a rect: {made!r}")
    assert calc.make_shape(2) == Shape.None_()
    with pytest.raises(TypeError, match=r"must be Shape.Circle or Shape.Rect or Shape.None_"):
        calc.area(1.0)


def test_exported_interface(calc: types.ModuleType) -> None:
    shapes = calc.shapes
    assert shapes.norm(shapes.Point(3, 4)) == 25
    assert shapes.length2(shapes.Segment(shapes.Point(0, 0), shapes.Point(1, 2))) == 5
    assert shapes.Point is not calc.Point           # the interface has its own point
    assert shapes.Point.__qualname__ == "shapes.Point"
    with pytest.raises(TypeError, match=r"calc.shapes.norm\(\) argument 'p'"):
        shapes.norm(5)


def test_signatures_and_pickling(calc: types.ModuleType) -> None:
    assert str(inspect.signature(calc.add)) == "(a: int, b: int) -> int"
    assert "calc.Shape" in str(inspect.signature(calc.area))
    sys.modules["calc"] = calc
    try:
        for value in (calc.add, calc.shapes.norm, calc.Point(1, 2), calc.shapes.Point(3, 4),
                      calc.Shape.Circle(2.0)):
            assert pickle.loads(pickle.dumps(value)) == value
    finally:
        del sys.modules["calc"]


class _Host:
    """What the host component's [imports] name: a module-like object per interface."""

    log: list[str] = []


def test_imports_unsatisfied_are_named(tmp_path: Path) -> None:
    shutil.copy(component("host"), tmp_path / "host_c.wasm")
    with pytest.raises(WasmImportError) as info:
        wasmimport.load(tmp_path / "host_c.wasm")
    message = str(info.value)
    assert "[imports] does not provide" in message
    assert "log: func(msg: string)" in message
    assert "demo:host/clock@0.1.0 now: func() -> u64" in message


def _host_c(syspath: Path) -> types.ModuleType:
    """host.c's component, imported with its [imports] served by two Python modules."""
    (syspath / "hostside.py").write_text(
        "logged = []\n"
        "def log(msg): logged.append(msg)\n"
        "def add_one(x): return x + 1\n"
        "def name(): return 'wasm'\n")
    (syspath / "hostclock.py").write_text(
        "def now(): return 2000\n"
        "def at(zone):\n"
        "    if zone.name == 'utc': return (1700000000, 250_000_000)\n"
        "    if zone.name == 'local': return zone.__class__.__module__\n"
        "    raise AssertionError(zone)\n")
    shutil.copy(component("host"), syspath / "host_c.wasm")
    (syspath / "host_c.wasm.toml").write_text(
        '[imports]\nlog = "hostside:log"\nadd-one = "hostside:add_one"\n'
        'name = "hostside:name"\n"demo:host/clock@0.1.0" = "hostclock"\n')
    import host_c  # type: ignore[import-not-found]
    return host_c  # type: ignore[no-any-return]


def test_imports_served_by_python(syspath: Path, hook: None, compiled: None) -> None:
    """(Host functions need the compiled extension on wasmtime: see test_host.py.)"""
    host_c = _host_c(syspath)
    import hostside  # type: ignore[import-not-found]
    assert host_c.run(5) == 6 + 2000 % 1000
    assert hostside.logged and "wasm" in hostside.logged[0]


@pytest.mark.parametrize("form", ["dict", "toml", "path"])
def test_load_takes_a_components_manifest(syspath: Path, hook: None, compiled: None,
                                          form: str) -> None:
    """load(manifest=...) reads a component's manifest by the component schema ([imports]
    by WIT name), as the sidecar is read; it was read as a core module's."""
    _host_c(syspath)
    toml = (syspath / "host_c.wasm.toml").read_text()
    (syspath / "host_c.wasm.toml").unlink()
    (syspath / "given.toml").write_text(toml)
    table = {"imports": {"log": "hostside:log", "add-one": "hostside:add_one",
                         "name": "hostside:name", "demo:host/clock@0.1.0": "hostclock"}}
    given = {"dict": table, "toml": toml, "path": syspath / "given.toml"}[form]
    host_c = wasmimport.load(syspath / "host_c.wasm", manifest=given)
    assert host_c.run(5) == 6 + 2000 % 1000
    with pytest.raises(ManifestError, match=r"a component's manifest has no \[functions\]"):
        wasmimport.load(syspath / "host_c.wasm", manifest={"functions": {}})


def test_an_imported_interfaces_types_are_the_modules(syspath: Path, hook: None,
                                                      compiled: None) -> None:
    """host.c's clock interface defines record moment and enum zone: the host function
    `at` is given a Zone and returns a Moment (or a tuple), the exports stamp and later use
    them too, and they are classes of the module with the WIT's docs; a wrong result from
    the host is a TypeError naming the import."""
    host_c = _host_c(syspath)
    assert host_c.stamp(host_c.Zone.utc) == 1700000000250
    assert host_c.stamp("utc") == 1700000000250         # an enum member by name
    assert host_c.later(host_c.Moment(5, 7), 10) == host_c.Moment(secs=15, nanos=7)
    assert host_c.Moment.__module__ == "host_c" and "Moment" in host_c.__all__
    assert str(inspect.signature(host_c.later)) == \
        "(m: host_c.Moment, secs: int) -> host_c.Moment"
    assert host_c.Zone.__doc__ == "Which of the host's clocks."
    assert "A moment: whole seconds" in (host_c.Moment.__doc__ or "")
    with pytest.raises(TypeError, match=r"demo:host/clock@0\.1\.0\.at \(hostclock:at\) "
                                        r"result must be Moment, a tuple or a mapping, not "
                                        r"str"):
        host_c.stamp("local")


def test_component_manifest_has_no_functions(tmp_path: Path) -> None:
    shutil.copy(component("calc"), tmp_path / "c.wasm")
    (tmp_path / "c.wasm.toml").write_text('[functions]\nadd = "(a: i32, b: i32) -> i32"\n')
    with pytest.raises(ImportError, match=r"a component's manifest has no \[functions\]"):
        wasmimport.load(tmp_path / "c.wasm")


def test_wasi_is_denied_without_a_grant(tmp_path: Path) -> None:
    shutil.copy(component("wasi"), tmp_path / "w.wasm")
    with pytest.raises(WasmImportError, match=r"uses WASI \(wasi:cli.*granted only by a "
                                              r"\[wasi\] table"):
        wasmimport.load(tmp_path / "w.wasm")


def test_wasi_grants(tmp_path: Path) -> None:
    shutil.copy(component("wasi"), tmp_path / "w.wasm")
    (tmp_path / "w.wasm.toml").write_text(
        '[wasi]\nstdout = "capture"\nenv = { GREETING = "hi" }\n')
    w = wasmimport.load(tmp_path / "w.wasm")
    w.greet("bob")
    assert w.__wasmimport__.stdout == b"hello, bob\n"
    assert w.get_env("GREETING") == "hi"
    assert w.get_env("HOME") is None                # only what is granted
    with pytest.raises(GuestError):
        w.read_file("/etc/hostname")                # no preopens: no files at all


def test_wasi_preopens(tmp_path: Path) -> None:
    shutil.copy(component("wasi"), tmp_path / "w.wasm")
    data = tmp_path / "data"
    data.mkdir()
    (data / "note.txt").write_text("inside")
    (tmp_path / "secret.txt").write_text("outside")
    (tmp_path / "w.wasm.toml").write_text(
        f'[wasi]\npreopens = {{ "/data" = {{ path = "{data}" }} }}\n')
    if not has("wasi-preopens"):
        with pytest.raises(WasmImportError, match="preopens .* is not supported by the"):
            wasmimport.load(tmp_path / "w.wasm")
        return
    w = wasmimport.load(tmp_path / "w.wasm")
    assert w.read_file("/data/note.txt") == "inside"
    with pytest.raises(GuestError):
        w.read_file("/data/../secret.txt")          # no escape from the preopen
    with pytest.raises(GuestError):
        w.read_file(str(tmp_path / "secret.txt"))   # nothing outside it


@pytest.fixture
def counter(compiled: None) -> types.ModuleType:
    """The counter component (a fresh instance): its handle table's built-ins are host
    functions, which need the compiled extension on wasmtime."""
    return wasmimport.load(component("counter"), "counter")


def _live_handles(module: types.ModuleType) -> int:
    """How many handles the component's table holds (each crossing leaves or re-enters it)."""
    return len(module.__wasmimport__.plan.types.declared["Counter"].table)


def test_an_exported_resource_is_a_class(counter: types.ModuleType) -> None:
    Counter = counter.counters.Counter
    c = Counter(5)
    c.increment(3)
    assert c.value() == 8 and Counter.zero().value() == 0
    assert Counter.__qualname__ == "counters.Counter" and Counter.__module__ == "counter"
    assert str(inspect.signature(Counter)) == "(start: int) -> None"
    assert str(inspect.signature(Counter.increment)) == \
        "(self: counter.counters.Counter, by: int) -> None"
    assert Counter.value.__qualname__ == "counters.Counter.value"
    assert sorted(vars(counter.counters)) == ["Counter", "__doc__", "__qualname__", "drops",
                                              "merge", "total"]
    with pytest.raises(OverflowError, match=r"argument 'by'"):
        c.increment(2**63)


def test_own_and_borrow_as_the_canonical_abi_says(counter: types.ModuleType) -> None:
    counters = counter.counters
    a, b = counters.Counter(2), counters.Counter(40)
    assert counters.total(b) == 40 and b.value() == 40     # borrowed: still ours
    if has("compiled-calls"):         # (an own parameter took the pure path)
        assert type(counters.merge.__globals__["_inner"]).__name__ == "Function"
    with pytest.raises(TypeError, match=r"argument 'b' must be Counter, not int"):
        counters.merge(a, 40)
    merged = counters.merge(a, b)    # a is the guest's now: it drops it (its destructor runs)
    assert merged.value() == 42 and counters.drops() == 1
    with pytest.raises(ValueError, match=r"counter.counters.merge\(\): the Counter was "
                                         r"moved into a call"):
        counters.merge(b, b)        # moved, then lent: refused before the call
    assert counters.drops() == 1
    with pytest.raises(ValueError, match=r"counter.counters.Counter.value\(\) argument "
                                         "'self': the Counter was moved into a call"):
        a.value()
    assert _live_handles(counter) == 0   # every handle left the table or was dropped


def test_component_resources_drop_once_and_do_not_leak(counter: types.ModuleType) -> None:
    counters = counter.counters
    Counter = counters.Counter
    c = Counter(1)
    c.close()
    c.close()
    assert counters.drops() == 1
    with pytest.raises(ValueError, match="was dropped"):
        counters.total(c)
    with Counter(2):
        pass
    Counter(3)                                   # garbage at once
    assert counters.drops() == 3
    for i in range(5000):
        counters.merge(Counter(i), Counter.zero())
    gc.collect()
    assert counters.drops() == 3 + 3 * 5000
    assert _live_handles(counter) == 0


STOREIMPL = """
class Tally:
    made = freed = 0
    def __init__(self, start):
        Tally.made += 1
        self.n = start
    def add(self, n):
        self.n += n
    def total(self):
        return self.n
    @staticmethod
    def big():
        return Tally(1000)
    def __del__(self):
        Tally.freed += 1

def consume(t):
    return t.n * 10
"""


def _store(syspath: Path, guest: str, request: pytest.FixtureRequest
           ) -> tuple[Any, Any, Any]:
    """The store component (C: the core path, whose host functions need the extension; or
    componentize-py's, on wasmtime's component runtime) with storeimpl as its tallies; the
    module, storeimpl and the table of the component's handles of tallies."""
    if guest == "store":
        request.getfixturevalue("compiled")
    elif BACKEND.name != "wasmtime":
        pytest.skip("wasmtime's component runtime: test_component_runtime checks the refusal")
    (syspath / "storeimpl.py").write_text(STOREIMPL)
    shutil.copy(component(guest), syspath / "store.wasm")
    (syspath / "store.wasm.toml").write_text(
        '[imports]\n"demo:store/tallies@0.1.0" = "storeimpl"\n')
    import storeimpl  # type: ignore[import-not-found]
    store = wasmimport.load(syspath / "store.wasm")
    return store, storeimpl, store.__wasmimport__.plan.types.declared["Tally"].table


@pytest.mark.parametrize("guest", ["store", "pystore"])
def test_an_imported_resource_is_a_python_class(syspath: Path, hook: None, guest: str,
                                                request: pytest.FixtureRequest) -> None:
    """store.wit imports `resource tally`: the host implements it (storeimpl.Tally); the
    component holds handles to Python objects, which its drops let go of.  store is C, one
    core module: the core path, whose host functions need the extension; pystore is the same
    world by componentize-py, on wasmtime's component runtime, on either call path."""
    store, storeimpl, table = _store(syspath, guest, request)
    # constructor, methods and a static function called by the guest; consume takes one back
    assert store.run(1, 2) == (1 + 3 * 2 + 1000) * 10
    gc.collect()
    assert (storeimpl.Tally.made, storeimpl.Tally.freed, len(table)) == (2, 2, 0)
    kept = storeimpl.Tally(5)
    store.hold(kept)                  # own: the guest's now (its table holds the object)
    del kept
    gc.collect()
    assert storeimpl.Tally.freed == 2 and len(table) == 1
    assert store.release_held() == 5  # the guest drops it: the table lets go
    gc.collect()
    assert storeimpl.Tally.freed == 3 and len(table) == 0
    with pytest.raises(TypeError, match=r"store.hold\(\) argument 't' must be a Tally "
                                        "object, not None"):
        store.hold(None)
    with pytest.raises(Trap, match=r"store.release_held\(\)"):
        store.release_held()          # nothing held: the guest traps


@pytest.mark.parametrize("guest", ["store", "pystore"])
def test_an_imported_resource_lent_to_an_export(syspath: Path, hook: None, guest: str,
                                                request: pytest.FixtureRequest) -> None:
    """store.peek takes a borrow<tally>: the host's object is lent for the call (the guest
    uses it through a handle, then drops the handle) and stays the caller's; a guest that
    keeps the borrowed handle past the call, or gives it away as its own, traps, as the
    Canonical ABI says."""
    store, storeimpl, table = _store(syspath, guest, request)
    t = storeimpl.Tally(7)
    assert store.peek(t, False) == 7
    assert len(table) == 0            # the loan ended with the call
    t.add(1)
    assert store.peek(t, keep=False) == 8 and t.n == 8
    assert store.hold(t) is None and store.peek(t, False) == 8   # held (own) and lent at once
    assert len(table) == 1 and store.release_held() == 8 and len(table) == 0
    with pytest.raises(TypeError, match=r"store.peek\(\) argument 't' must be a Tally "
                                        "object, not None"):
        store.peek(None, False)
    assert "(t: object, keep: bool) -> int" in str(inspect.signature(store.peek))
    for i in range(3000):
        assert store.peek(storeimpl.Tally(i), False) == i
    gc.collect()
    assert len(table) == 0 and storeimpl.Tally.made == storeimpl.Tally.freed + 1
    if guest == "store":
        with pytest.raises(Trap, match=r"store.peek\(\): the guest returned without "
                                       r"dropping 1 borrowed handle\(s\)"):
            store.peek(t, True)       # the guest keeps the borrowed handle: a trap
    else:   # componentize-py's bindings drop the borrow when the export returns
        assert store.peek(t, True) == 8
    assert len(table) == 0 and t.n == 8
    # last: after a trap, wasmtime's runtime does not enter the component again
    gave_away = "which it only borrows" if guest == "store" else "own resource from a borrow"
    with pytest.raises(Trap, match=gave_away):
        store.regift(t)               # the guest passes its borrow on as its own: a trap
    assert len(table) == 0 and t.n == 8 and storeimpl.Tally.made == storeimpl.Tally.freed + 1


@pytest.mark.needs("processes")
@pytest.mark.parametrize("guest", ["store", "pystore"])
def test_its_stub_types_a_resource_the_host_implements_as_object(tmp_path: Path,
                                                                 guest: str) -> None:
    """The class of an imported resource is the host's own (the manifest's [imports] names
    it, and the stub cannot), so the stub takes any object there, as the module does; it
    named a class `Tally` the stub lacks.  `inspect` and `stub` read the component's
    sidecar manifest as import does: they read none and found store's imports unprovided."""
    shutil.copy(component(guest), tmp_path / "store.wasm")
    (tmp_path / "store.wasm.toml").write_text(
        '[imports]\n"demo:store/tallies@0.1.0" = "storeimpl"\n')
    shown = subprocess.run([sys.executable, "-m", "wasmimport", "inspect",
                            str(tmp_path / "store.wasm")], capture_output=True, text=True)
    assert shown.returncode == 0 and "problems: none" in shown.stdout, shown.stdout
    done = subprocess.run([sys.executable, "-m", "wasmimport", "stub", "-q",
                           str(tmp_path / "store.wasm")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "def hold(t: object) -> None:\n" in (tmp_path / "store.pyi").read_text()
    (tmp_path / "user.py").write_text("import store\nstore.hold(object())\n"
                                      "n: int = store.run(1, 2) + store.release_held()\n")
    checked = mypy_strict("store.pyi", "user.py", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize("guest", ["store", "pystore"])
def test_a_missing_imported_resource_is_named(syspath: Path, hook: None, guest: str) -> None:
    if guest == "pystore" and BACKEND.name != "wasmtime":
        pytest.skip("wasmtime's component runtime: test_component_runtime checks the refusal")
    (syspath / "halfimpl.py").write_text("def consume(t): return 0\n")
    shutil.copy(component(guest), syspath / "store.wasm")
    (syspath / "store.wasm.toml").write_text(
        '[imports]\n"demo:store/tallies@0.1.0" = "halfimpl"\n')
    with pytest.raises(WasmImportError, match=r"cannot import 'halfimpl:Tally'"):
        wasmimport.load(syspath / "store.wasm")
    (syspath / "store.wasm.toml").unlink()
    with pytest.raises(WasmImportError, match=r"demo:store/tallies@0.1.0 \[method\]tally.add: "
                                              r"func\(self: borrow<tally>, n: s64\)"):
        wasmimport.load(syspath / "store.wasm")


@pytest.mark.needs("processes")
def test_inspect_prints_the_world() -> None:
    out = subprocess.run([sys.executable, "-m", "wasmimport", "inspect",
                          str(component("calc"))], capture_output=True, text=True, check=True)
    assert "a WebAssembly component; its WIT:" in out.stdout
    assert "export add: func(a: s32, b: s32) -> s32;" in out.stdout
    assert "variant shape { circle(f64), rect(point), none }" in out.stdout
    assert "interface {" in out.stdout and "norm: func(p: point) -> s64;" in out.stdout


def test_char_and_variants_in_a_core_manifest(tmp_path: Path) -> None:
    """A component's core module with a hand-written manifest: the types a component's WIT
    needs are manifest types too, and the stub declares them."""
    core, _, _ = as_core(component("calc").read_bytes(), "calc.wasm", None)
    (tmp_path / "core.wasm").write_bytes(core)
    (tmp_path / "core.wasm.toml").write_text(
        '[types.Point]\nx = "i32"\ny = "i32"\n'
        '[types.Shape]\nvariant = { circle = "f64", rect = "Point", none = "None" }\n'
        '[functions]\narea = "(s: Shape) -> f64"\n'
        'next_char = { export = "next-char", signature = "(c: char) -> char" }\n')
    m = wasmimport.load(tmp_path / "core.wasm")
    assert m.area(m.Shape.Rect(m.Point(2, 5))) == 10.0
    assert m.next_char("y") == "z"
    with pytest.raises(ImportError, match=r"variant must be a table of cases"):
        wasmimport.load(tmp_path / "core.wasm", manifest={
            "types": {"Shape": {"variant": ["circle"]}}})
    stub = render_stub(describe(str(tmp_path / "core.wasm")).plan, "core.wasm")
    assert "class Shape:" in stub and "    Rect: type[Shape]" in stub
    assert "def next_char(c: str) -> str:" in stub


@pytest.mark.needs("processes")
def test_stub_of_a_component_follows_its_wit(tmp_path: Path) -> None:
    """Interfaces are classes of static methods and nested classes, so code written against
    the module's real layout type-checks under mypy --strict (and wrong code does not)."""
    for name in ("calc", "counter"):
        shutil.copy(component(name), tmp_path / f"{name}.wasm")
        done = subprocess.run([sys.executable, "-m", "wasmimport", "stub", "-q",
                               str(tmp_path / f"{name}.wasm")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    stub = (tmp_path / "calc.pyi").read_text()
    assert "class shapes:" in stub and "    def norm(p: shapes.Point) -> int:" in stub
    assert '"""norm: func(p: point) -> s64\n\nThe squared length' in stub   # the WIT's
    (tmp_path / "user.py").write_text(
        "import calc, counter\n"
        "n: int = calc.shapes.norm(calc.shapes.Point(3, 4)) + calc.add(1, 2)\n"
        "seg = calc.shapes.Segment(calc.shapes.Point(0, 0), calc.shapes.Point(1, 1))\n"
        "m: int = calc.shapes.length2(seg)\n"
        "s: calc.Shape = calc.make_shape(1)\n"
        "with counter.counters.Counter(5) as c:\n"
        "    c.increment(1)\n"
        "    v: int = c.value() + counter.counters.total(c)\n"
        "    z: counter.counters.Counter = counter.counters.merge(c, c)\n")
    (tmp_path / "wrong.py").write_text(
        "import calc, counter\ncalc.shapes.norm(calc.Point(1, 2))\n"
        "counter.counters.Counter('x')\n")
    ok = mypy_strict("calc.pyi", "counter.pyi", "user.py", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    wrong = mypy_strict("wrong.py", cwd=tmp_path)
    assert wrong.returncode == 1 and wrong.stdout.count("incompatible type") == 2, wrong.stdout
