"""Components that are not one core module, on wasmtime's component runtime (SPEC section 8).

componentize-py's components (CPython, libc and the app as separate core modules, wired by
adapters) cannot run as one core module; wasmimport runs them through libwasmtime's
``wasmtime_component_*`` API, with the same Python names, classes, signatures, argument
checks and docstrings as a component on the core path, and WASI 0.2 served by wasmtime's
own implementation with the manifest's grants.  The guests are tests/guests/components/
pyguest (no imports), pywasi (WASI 0.2 imported itself), pyhost (functions its host
implements, from the manifest's [imports]), pyres (an interface exporting a resource) and
pystore (store.wit's world, importing a resource the host implements: see test_components),
built by `make wasm`.
"""

from __future__ import annotations

import gc
import inspect
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import wasmimport
from conftest import BACKEND, guest_path, interrupted_child, mypy_strict
from wasmimport import GuestError, WasmImportError
from wasmimport._extension import speedups
from wasmimport.component import _runtime

ON_WASMTIME = BACKEND.name == "wasmtime"
REFUSED = r"does not run as one core module \(its functions do not all come from one core " \
          r"module\), so it needs wasmtime's component runtime"


@pytest.fixture(scope="module")
def pyguest() -> types.ModuleType:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only: test_other_backends_refuse_it checks the refusal")
    return wasmimport.load(guest_path("components/pyguest"), "pyguest")


def test_other_backends_refuse_it() -> None:
    if ON_WASMTIME:
        assert wasmimport.load(guest_path("components/pyguest"), "pyguest").greet("x")
        return
    with pytest.raises(WasmImportError, match=REFUSED + rf": the wasmtime backend, not "
                                              rf"{BACKEND.name}"):
        wasmimport.load(guest_path("components/pyguest"), "pyguest")


def test_a_component_of_several_core_modules_runs(pyguest: types.ModuleType) -> None:
    assert pyguest.greet("Ann") == "Hello, Ann!"
    assert pyguest.describe(pyguest.Person("Bob", 41)) == "Bob (41)"
    assert pyguest.describe(("Cy", 7)) == "Cy (7)"           # a record from a tuple
    people = [pyguest.Person("a", 3), pyguest.Person("b", 40), pyguest.Person("c", 9)]
    assert pyguest.oldest(people) == pyguest.Person("b", 40)
    assert type(pyguest.oldest(people)) is pyguest.Person
    assert pyguest.oldest([]) is None
    assert sorted(pyguest.__all__) == ["Person", "describe", "exports", "greet", "oldest"]
    assert pyguest.Person.__qualname__ == "Person" and pyguest.Person.__module__ == "pyguest"


def test_its_python_side_is_the_core_paths(pyguest: types.ModuleType) -> None:
    assert str(inspect.signature(pyguest.oldest)) == \
        "(people: list[pyguest.Person]) -> pyguest.Person | None"
    assert pyguest.greet.__doc__ == "greet: func(name: string) -> string"
    with pytest.raises(TypeError, match=r"pyguest.greet\(\) argument 'name' must be str, not int"):
        pyguest.greet(5)
    with pytest.raises(OverflowError, match=r"pyguest.describe\(\) argument 'p' field 'age' "
                                            r"is out of range for u32"):
        pyguest.describe(pyguest.Person("x", -1))
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'name'"):
        pyguest.greet()
    assert pyguest.greet(name="kw") == "Hello, kw!"
    assert pyguest.greet("\u00e9\u4e2d\U0001f600") == "Hello, \u00e9\u4e2d\U0001f600!"


def test_a_string_too_long_for_the_runtime_is_refused_before_the_call(
        pyguest: types.ModuleType) -> None:
    """wasmtime copies at most 2**31 - 1 bytes of a string into a component; it refused a
    longer one only after seconds of copying, as a Trap that ended the instance."""
    name = "a" * (1 << 31)
    too_long = r"a string of 2147483648 bytes of UTF-8 is too long for wasmtime's component " \
               r"runtime \(2\*\*31 - 1 bytes at most\)"
    with pytest.raises(OverflowError, match=r"^pyguest.greet\(\): " + too_long):
        pyguest.greet(name)
    with pytest.raises(OverflowError, match=r"^pyguest.describe\(\): " + too_long):
        pyguest.describe(pyguest.Person(name, 1))          # inside a record too
    del name
    assert pyguest.greet("still here") == "Hello, still here!"


def test_it_is_compiled_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled into the compile cache by its first import (or `compile`); the next import,
    in this process or another, deserializes it."""
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    shutil.copy(guest_path("components/pyguest"), tmp_path / "pg.wasm")
    assert wasmimport.load(tmp_path / "pg.wasm").greet("1") == "Hello, 1!"
    compiled: list[int] = []
    real = _runtime._Runtime.compile

    def counting(self: _runtime._Runtime, wasm: bytes) -> object:
        compiled.append(len(wasm))
        return real(self, wasm)
    monkeypatch.setattr(_runtime._Runtime, "compile", counting)
    assert wasmimport.load(tmp_path / "pg.wasm").greet("2") == "Hello, 2!"
    assert compiled == []


def _pywasi(tmp_path: Path, grants: str | None) -> types.ModuleType:
    shutil.copy(guest_path("components/pywasi"), tmp_path / "pywasi.wasm")
    if grants is not None:
        (tmp_path / "pywasi.wasm.toml").write_text(grants)
    return wasmimport.load(tmp_path / "pywasi.wasm")


def test_wasi_p2_is_denied_without_a_grant(tmp_path: Path) -> None:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    with pytest.raises(WasmImportError, match=r"uses WASI \(wasi:cli, wasi:clocks, "
                                              r"wasi:filesystem, .*granted only by a \[wasi\]"):
        _pywasi(tmp_path, None)


def test_wasi_p2_grants(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "note.txt").write_text("read me")
    (tmp_path / "rw").mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    w = _pywasi(tmp_path, '[wasi]\nargs = ["one", "two"]\nenv = { GREETING = "hi" }\n'
                          'stdout = "inherit"\n'
                          'preopens = { "/ro" = { path = "ro" }, '
                          '"/rw" = { path = "rw", mode = "rw" } }\n')
    assert w.env_var("GREETING") == "hi"
    assert w.env_var("HOME") is None                  # only what is granted
    assert w.args() == ["pywasi.wasm", "one", "two"]
    assert w.read_file("/ro/note.txt") == "read me"
    assert w.write_file("/rw/out.txt", "written") is None
    assert (tmp_path / "rw" / "out.txt").read_text() == "written"
    with pytest.raises(GuestError, match="PermissionError|OSError|ReadOnly|Read-only"):
        w.write_file("/ro/new.txt", "no")              # a read-only preopen
    assert not (tmp_path / "ro" / "new.txt").exists()
    for escape in ("/ro/../secret.txt", "/rw/../../secret.txt", str(tmp_path / "secret.txt")):
        with pytest.raises(GuestError) as caught:
            w.read_file(escape)
        assert "outside" not in str(caught.value)
    w.say("to stdout")
    assert capfd.readouterr().out == "to stdout\n"


def test_wasi_p2_without_files_or_streams(tmp_path: Path, capfd: pytest.CaptureFixture[str]
                                          ) -> None:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    (tmp_path / "note.txt").write_text("here")
    w = _pywasi(tmp_path, "[wasi]\n")
    with pytest.raises(GuestError):
        w.read_file(str(tmp_path / "note.txt"))        # no preopens: no files at all
    w.say("nowhere")
    assert capfd.readouterr().out == ""                 # stdout is null unless granted
    assert w.args() == ["pywasi.wasm"]


def test_streams_can_be_captured(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    w = _pywasi(tmp_path, '[wasi]\nstdout = "capture"\nstderr = "capture"\n')
    w.say("kept")
    w.say("and this")
    assert w.__wasmimport__.stdout == b"kept\nand this\n"
    assert w.__wasmimport__.stderr == b""
    assert capfd.readouterr().out == ""
    files = list(w.__wasmimport__.instance.files.values())
    assert all(os.path.exists(f) for f in files) and len(files) == 2
    del w
    gc.collect()
    assert not any(os.path.exists(f) for f in files)      # deleted with the module
    with pytest.raises(ValueError, match=r"\[wasi\] stdout is not captured"):
        _pywasi(tmp_path, "[wasi]\n").__wasmimport__.stdout  # noqa: B018


AFTER_A_TRAP = (r"pywasi.env_var\(\): this component trapped in an earlier call \(%s\), and "
                r"an instance of a component cannot be entered again after a trap \(the "
                r"Component Model's rule\): import the module anew \(importlib.reload\)")


@pytest.mark.parametrize(("limit", "call", "stopped"), [
    ("fuel = 100_000_000", "spin",
     r"the call used up its fuel \(\[limits\] fuel = 100000000\)"),
    ("timeout = 0.2", "spin",
     r"the call ran past its time limit \(\[limits\] timeout = 0.2 s\)"),
    ("memory = '64 MiB'", "hoard",
     r"the guest ran out of memory: it asked to grow its memory to [\d.]+ MiB \(\d+ bytes\), "
     r"past \[limits\] memory = 64 MiB \(67108864 bytes\)"),
])
def test_limits_stop_a_call(tmp_path: Path, limit: str, call: str, stopped: str) -> None:
    """[limits] hold on this path as on the core path (the instantiation is bounded as a call
    is); after a trap the instance cannot be entered again, and the error says so."""
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    grants = f"[wasi]\n[limits]\n{limit}\n"
    native = speedups() is not None
    if not native and call == "spin":     # the pure path: what needs the watchdog is refused
        with pytest.raises(WasmImportError, match=rf"\[limits\] {limit.split()[0]} needs "
                                                  r"wasmimport's compiled extension"):
            _pywasi(tmp_path, grants)
        return
    w = _pywasi(tmp_path, grants)
    assert w.hoard(1) == 1 << 20                       # within every limit
    if not native:     # wasmtime's own limiter holds the cap: the guest fails, unexplained
        with pytest.raises(wasmimport.Trap, match=r"pywasi.hoard\(\): wasm trap"):
            w.hoard(200)
        return
    with pytest.raises(wasmimport.LimitExceeded, match=rf"pywasi.{call}\(\): {stopped}") as exc:
        getattr(w, call)(*([200] if call == "hoard" else []))
    assert exc.value.frames, "a wasm backtrace"
    with pytest.raises(wasmimport.Trap, match=AFTER_A_TRAP % stopped):
        w.env_var("X")


CHILD = """
import sys, wasmimport
w = wasmimport.load(sys.argv[1])
print(w.args(), flush=True)
print("ready", flush=True)
try:
    w.spin()
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@pytest.mark.needs("processes")
def test_ctrl_c_stops_a_call(tmp_path: Path) -> None:
    """A real SIGINT stops a component's runaway call with KeyboardInterrupt (the watchdog
    serves this path too); without it the child never ends."""
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    if speedups() is None:
        pytest.skip("the pure path cannot stop running wasm code (test_limits checks this)")
    shutil.copy(guest_path("components/pywasi"), tmp_path / "pywasi.wasm")
    (tmp_path / "pywasi.wasm.toml").write_text("[wasi]\n")
    first, out = interrupted_child(tmp_path, CHILD, tmp_path / "pywasi.wasm")
    assert (first, out) == ("['pywasi.wasm']\n", "interrupted\n")


@pytest.mark.needs("processes")
def test_inspect_and_stub_say_how_it_runs() -> None:
    path = str(guest_path("components/pyguest"))
    out = subprocess.run([sys.executable, "-m", "wasmimport", "inspect", path],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "export oldest: func(people: list<person>) -> option<person>;" in out.stdout
    assert "it runs on wasmtime's component runtime (its functions do not all come from " \
           "one core module)" in out.stdout
    stub = subprocess.run([sys.executable, "-m", "wasmimport", "stub", "-o", "-", path],
                          capture_output=True, text=True)
    assert stub.returncode == 0, stub.stderr
    compile(stub.stdout, "pyguest.pyi", "exec")
    assert "class Person(NamedTuple):\n    name: str\n    age: int\n" in stub.stdout
    assert 'def oldest(people: list[Person]) -> Person | None:\n    """oldest: func(people: ' \
           'list<person>) -> option<person>"""' in stub.stdout
    assert "__all__ = [\n    'Person',\n    'describe',\n    'exports',\n    'greet',\n" \
           "    'oldest',\n]" in stub.stdout       # the module's own __all__


@pytest.mark.needs("processes")
def test_a_process_using_it_exits_cleanly() -> None:
    """wasmtime-py's objects are let go of at exit, not finalized once wasmtime-py is torn
    down (whose finalizers then printed "Exception ignored in: Managed.__del__ ...
    'NoneType' object is not callable" at the end of a test run).  The child stands for that
    teardown by taking wasmtime-py's delete functions away before it exits."""
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    code = ("import wasmimport\n"
            f"m = wasmimport.load({str(guest_path('components/pyguest'))!r}, 'pg')\n"
            "print(m.greet('exit'))\n"
            "from wasmtime import _engine, _store\n"
            "_engine.ffi = _store.ffi = None\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hello, exit!\n", "")


@pytest.fixture(scope="module")
def pyres() -> types.ModuleType:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    return wasmimport.load(guest_path("components/pyres"), "pyres")


def test_an_exported_resource_is_a_class(pyres: types.ModuleType) -> None:
    """pyres's counter: constructor, methods, a static function, borrow and own as the
    Canonical ABI says, close and with, the core path's errors after a drop or a move."""
    Counter = pyres.counters.Counter
    assert Counter.__qualname__ == "counters.Counter" and Counter.__module__ == "pyres"
    assert str(inspect.signature(Counter)) == "(start: int) -> None"
    a, b = Counter(5), Counter(7)
    a.increment(3)
    assert (a.value(), b.value(), Counter.zero().value()) == (8, 7, 0)
    assert pyres.counters.total(a, b) == 15 and a.value() == 8     # borrowed: still ours
    merged = pyres.counters.merge(a, b)                             # owned: moved in
    assert type(merged) is Counter and merged.value() == 15
    assert "moved into a call that took ownership of it" in repr(a)
    with pytest.raises(ValueError, match=r"pyres.counters.Counter.value\(\) argument 'self': "
                                         r"the Counter was moved into a call"):
        a.value()
    handles = len(pyres.__wasmimport__.instance.handles)
    with pytest.raises(ValueError, match=r"^pyres.counters.merge\(\): the Counter was moved"):
        pyres.counters.merge(merged, merged)                        # one object, moved twice
    assert merged.value() == 15                 # refused before anything moved: still ours
    assert len(pyres.__wasmimport__.instance.handles) == handles
    with Counter(1) as c:
        c.increment(1)
        assert c.value() == 2
    with pytest.raises(ValueError, match=r"argument 'self': the Counter was dropped"):
        c.value()
    c.close()                                                       # a second close: no-op
    with pytest.raises(TypeError, match=r"argument 'a' must be Counter, not int"):
        pyres.counters.total(1, Counter(0))


def test_resources_are_dropped_once_without_leaks(pyres: types.ModuleType) -> None:
    """Thousands created and dropped (close, with, garbage collection): the store's table
    of wasmtime's handles is back where it started, and the guest still answers."""
    Counter, handles = pyres.counters.Counter, pyres.__wasmimport__.instance.handles
    [resource] = pyres.__wasmimport__.plan.types.resources()
    drop, dropped = resource._drop, []

    def counted(rep: int) -> None:       # wasmtime's drop, counted
        dropped.append(rep)
        drop(rep)
    resource._drop = counted
    try:
        gc.collect()
        before = len(handles)
        kept = Counter(0)
        for i in range(2000):
            Counter(i).close()
            with Counter(i) as c:
                c.increment(1)
            Counter.zero()
            kept.increment(1)
        gc.collect()
        assert len(handles) == before + 1 and kept.value() == 2000
        assert len(dropped) == 6000
        del kept
        gc.collect()
        assert len(handles) == before and len(dropped) == 6001
    finally:
        resource._drop = drop


@pytest.mark.needs("processes")
def test_its_stub_types_the_resource_and_componentize_pys_records(tmp_path: Path) -> None:
    """The stub of pyres passes mypy --strict: its resource class, and componentize-py's own
    `exports` interface, whose record `symbols` has a field `exports` (which hid the
    interface in the record's class until the stub named it by an alias)."""
    shutil.copy(guest_path("components/pyres"), tmp_path / "pyres.wasm")
    done = subprocess.run([sys.executable, "-m", "wasmimport", "stub", "-q",
                           str(tmp_path / "pyres.wasm")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    stub = (tmp_path / "pyres.pyi").read_text()
    assert "        exports: list[_wi_exports.FunctionExport]\n" in stub
    assert "        @staticmethod\n        def zero() -> counters.Counter: ..." in stub
    (tmp_path / "user.py").write_text(
        "import pyres\n"
        "with pyres.counters.Counter(1) as c:\n"
        "    c.increment(2)\n"
        "    n: int = c.value() + pyres.counters.total(c, pyres.counters.Counter.zero())\n")
    (tmp_path / "wrong.py").write_text("import pyres\npyres.counters.Counter('x')\n")
    ok = mypy_strict("pyres.pyi", "user.py", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    wrong = mypy_strict("wrong.py", cwd=tmp_path)
    assert wrong.returncode == 1 and "incompatible type" in wrong.stdout, wrong.stdout


@pytest.mark.needs("processes")
def test_its_stub_types_an_imported_interfaces_types(tmp_path: Path) -> None:
    """pyhost's stub has the classes its imported interfaces define (record span, enum
    word-case), which the module has, and passes mypy --strict."""
    shutil.copy(guest_path("components/pyhost"), tmp_path / "pyhost.wasm")
    done = subprocess.run([sys.executable, "-m", "wasmimport", "stub", "-q",
                           str(tmp_path / "pyhost.wasm")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    stub = (tmp_path / "pyhost.pyi").read_text()
    assert "class Span(NamedTuple):\n    start: int\n    len: int\n" in stub
    assert "class WordCase(enum.Enum):\n    lower = 0\n" in stub
    assert "    'Span',\n    'WordCase',\n" in stub
    (tmp_path / "user.py").write_text(
        "import pyhost\n"
        "at: pyhost.Span = pyhost.Span(0, 2)\n"
        "case: pyhost.WordCase = pyhost.WordCase.upper\n"
        "word: str = pyhost.cased('HI')\n")
    ok = mypy_strict("pyhost.pyi", "user.py", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout


@pytest.mark.needs("processes")
def test_live_resources_at_exit_are_dropped_cleanly() -> None:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    code = ("import wasmimport\n"
            f"m = wasmimport.load({str(guest_path('components/pyres'))!r}, 'pr')\n"
            "kept = [m.counters.Counter(i) for i in range(100)]\n"
            "print(m.counters.total(kept[3], kept[4]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "7\n", "")


HOSTSIDE = '''
lines = []


def log(text):
    lines.append(text)


class host:
    @staticmethod
    def add(a, b):
        return a + b

    @staticmethod
    def greeting(name):
        if name == "boom":
            raise ValueError("no boom")
        return 5 if name == "number" else f"hello {name}"

    @staticmethod
    def parse(text):
        import wasmimport
        try:
            return int(text)
        except ValueError:
            raise wasmimport.GuestError(f"not a number: {text!r}") from None

    @staticmethod
    def find(text, word):
        if word == "bad":
            return "not a span"
        at = text.find(word)
        return None if at < 0 else (at, len(word))

    @staticmethod
    def excerpt(text, at):
        lines.append(at)
        return text[at.start:at.start + at.len]

    @staticmethod
    def case_of(word):
        return "upper" if word.isupper() else "lower" if word.islower() else "mixed"
'''


def _pyhost(tmp_path: Path, imports: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    shutil.copy(guest_path("components/pyhost"), tmp_path / "pyhost.wasm")
    (tmp_path / "hostside_rt.py").write_text(HOSTSIDE)
    (tmp_path / "pyhost.wasm.toml").write_text(f"[imports]\n{imports}")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hostside_rt", raising=False)   # this test's own
    return wasmimport.load(tmp_path / "pyhost.wasm")


GRANTED = 'log = "hostside_rt:log"\n"demo:pyhost/host@0.1.0" = "hostside_rt:host"\n'


def test_imports_are_python_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A componentize-py component's own imports (a world function, an interface's
    functions) are the Python the manifest's [imports] names, as on the core path."""
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    m = _pyhost(tmp_path, GRANTED, monkeypatch)
    import hostside_rt  # type: ignore[import-not-found]

    assert m.work(41) == 42
    assert hostside_rt.lines == ["work(41) = 42"]
    assert m.hello("ann") == "HELLO ANN"


def test_an_interface_of_types_only_needs_no_import(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An imported interface that has only types (`types`, whose enum `host` uses) needs no
    [imports] entry; its enum is the module's, and the host may return a member's name."""
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    m = _pyhost(tmp_path, GRANTED, monkeypatch)
    assert [m.cased(w) for w in ("HI", "hi", "Hi")] == ["upper", "lower", "mixed"]
    assert [member.name for member in m.WordCase] == ["lower", "upper", "mixed"]


def test_a_host_function_gives_a_result(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A host function's `result`: what it returns is the ok case, a GuestError it raises
    the error case (its .value the payload), as on the core path."""
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    m = _pyhost(tmp_path, GRANTED, monkeypatch)
    assert m.parsed("41") == "ok 41"
    assert m.parsed("x") == "err not a number: 'x'"
    assert m.parsed("-7") == "ok -7"


def test_an_imported_interfaces_types_cross(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """An imported interface's record (`span`), as a host function's result (`option<span>`,
    given as a tuple) and as its parameter (the module's record class, as for exports)."""
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    m = _pyhost(tmp_path, GRANTED, monkeypatch)
    import hostside_rt  # type: ignore[import-not-found]

    assert m.located("say hello there", "hello") == "hello at 4+5"
    assert m.located("say hello there", "bye") == "absent"
    assert hostside_rt.lines == [m.Span(4, 5)] and type(hostside_rt.lines[0]) is m.Span
    assert m.Span._fields == ("start", "len")
    with pytest.raises(TypeError, match=r"pyhost: \[imports\] demo:pyhost/host@0.1.0 "
                                        r"\(hostside_rt:host.find\) result must be Span, a tuple "
                                        r"or a mapping, not str"):
        m.located("text", "bad")


@pytest.mark.parametrize(("name", "raised", "first"), [
    ("boom", ValueError, "no boom"),
    ("number", TypeError, r"pyhost: \[imports\] demo:pyhost/host@0.1.0 \(hostside_rt:host."
                          r"greeting\) result must be str, not int"),
])
def test_what_a_host_function_raises_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               name: str, raised: type[Exception],
                                               first: str) -> None:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    m = _pyhost(tmp_path, GRANTED, monkeypatch)
    with pytest.raises(raised, match=first) as exc:
        m.hello(name)
    if sys.version_info >= (3, 11):         # (add_note)
        assert exc.value.__notes__ == ["raised in a host function called by wasm, in "
                                       "pyhost.hello()"]
    with pytest.raises(wasmimport.Trap, match=r"pyhost.work\(\): this component trapped in an "
                                              rf"earlier call \(a host function raised "
                                              rf"{raised.__name__}: "):
        m.work(1)


def test_an_unprovided_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not ON_WASMTIME:
        pytest.skip("runs on wasmtime only")
    with pytest.raises(WasmImportError, match=r"the component imports what its manifest's "
                                              r"\[imports\] does not provide:\n"
                                              r"  demo:pyhost/host@0.1.0 add: func\(a: s32, "
                                              r"b: s32\) -> s32\n"
                                              r"  demo:pyhost/host@0.1.0 greeting: "):
        _pyhost(tmp_path, 'log = "hostside_rt:log"\n', monkeypatch)
    with pytest.raises(WasmImportError, match=r"\[imports\] log: cannot import "
                                              r"'hostside_rt:nope'"):
        _pyhost(tmp_path, GRANTED.replace("hostside_rt:log", "hostside_rt:nope"), monkeypatch)
