"""Guest frames in Python tracebacks (SPEC section 9), on tests/guests/debug.c built with
DWARF at -O0 and -O1, without DWARF, and with DWARF whose source folder does not exist."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import traceback
import types
import zipfile
from pathlib import Path

import hostfns
import pytest

import wasmimport
from conftest import GUESTS, backend_env, has, load_on_path, refused, wat_binary

# debug.c's host import needs the compiled extension on wasmtime (see test_host.py), so the
# module runs on the compiled path; test_both_call_paths covers the pure one
pytestmark = pytest.mark.usefixtures("compiled")

SOURCE = GUESTS / "debug.c"
MANIFEST = GUESTS / "debug.toml"
NO_HOST = '[functions]\nouter = "(x: i32) -> i32"\nrecurse = "(depth: i32) -> i32"\n'
WASMER = os.environ.get("WASMIMPORT_BACKEND") == "wasmer"
JS = sys.platform == "emscripten"


def line_of(marker: str) -> int:
    """The line of debug.c whose comment ends with ``marker``."""
    lines = SOURCE.read_text().splitlines()
    found = [n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"/* {marker} */")]
    assert len(found) == 1, marker
    return found[0]


def load(name: str, manifest: str | Path = MANIFEST) -> types.ModuleType:
    return wasmimport.load(GUESTS / f"{name}.wasm", manifest=manifest)


def raised(call: object, *args: object) -> BaseException:
    try:
        call(*args)  # type: ignore[operator]
    except BaseException as exc:    # noqa: BLE001 - the test looks at it
        return exc
    raise AssertionError("the call did not raise")


def guest_frames(exc: BaseException, suffix: str = ".c") -> list[tuple[str, int, str]]:
    """(file name, line, function) of the traceback's frames in guest files."""
    return [(os.path.basename(f.filename), f.lineno or 0, f.name)
            for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(suffix)]


THREE_DEEP = [("debug.c", line_of("CALL outer->middle"), "outer"),
              ("debug.c", line_of("CALL middle->inner"), "middle"),
              ("debug.c", line_of("CALL inner->checked"), "inner"),
              ("debug.c", line_of("TRAP checked"), "checked")]


@pytest.mark.parametrize("build", ["debug_O0", "debug_O1"])
def test_a_trap_three_frames_deep_shows_each_source_line(build: str) -> None:
    exc = raised(load(build).outer, 0)
    assert isinstance(exc, wasmimport.Trap) and exc.kind == "unreachable"
    # at -O1 checked() is inlined into inner(): DWARF's inlined call is a frame of its own
    assert guest_frames(exc) == THREE_DEEP
    summary = traceback.extract_tb(exc.__traceback__)
    lines = SOURCE.read_text().splitlines()
    for frame in summary[-4:]:
        assert frame.filename == str(SOURCE.resolve())
        assert frame.line == lines[(frame.lineno or 0) - 1].strip()   # the source, shown
    if not WASMER and not JS:
        # the compiled path: from this test's frame straight to the guest's
        assert summary[-5].name == "raised"


def test_the_trap_stays_what_it_was() -> None:
    mod = load("debug_O1")
    exc = raised(mod.outer, 0)
    assert type(exc) is wasmimport.Trap
    assert str(exc).startswith("debug_O1.outer(): wasm trap:")
    assert "wasm backtrace:" in str(exc)            # the text is still there
    assert [f.function for f in exc.frames] == ["inner", "middle", "outer"]
    printed = "".join(traceback.format_exception(exc))
    assert f'debug.c", line {line_of("TRAP checked")}, in checked' in printed
    assert "__builtin_trap();" in printed
    shown = printed.splitlines()
    guest = [n for n, line in enumerate(shown) if 'debug.c", line' in line]
    assert all("^" not in shown[n + 2] for n in guest)     # no carets under guest source
    assert mod.outer(5) == (4 * 2 + 1) * 3 + 7      # and the module still works


def test_a_recursive_guest_has_a_frame_per_call() -> None:
    exc = raised(load("debug_O0").recurse, 3)
    recurse, bottom = line_of("RECURSE"), line_of("TRAP recurse")
    assert guest_frames(exc) == [("debug.c", recurse, "recurse")] * 3 + [
        ("debug.c", bottom, "recurse")]


@pytest.mark.parametrize("build", ["debug_O0", "debug_O1"])
def test_a_host_exception_passes_back_through_guest_frames(build: str) -> None:
    exc = raised(load(build).call_host, 4)
    assert type(exc) is hostfns.HostError and str(exc) == "visited at depth 4"
    summary = traceback.extract_tb(exc.__traceback__)
    names = [(os.path.basename(f.filename), f.name) for f in summary]
    host = names.index(("hostfns.py", "visit"))     # the host function's own frames, last
    assert summary[host].line == 'raise HostError(f"visited at depth {depth}")'
    if WASMER:
        # wasmer gives no wasm frames for a host function's error: its traceback as raised
        assert guest_frames(exc) == []
        return
    assert guest_frames(exc) == [("debug.c", line_of("CALL call_host->through"), "call_host"),
                                 ("debug.c", line_of("CALL through->visit"), "through")]
    # caller, guest frames, host function: no wasmimport frame between them
    assert names[host - 2:host] == [("debug.c", "call_host"), ("debug.c", "through")]
    package = os.path.dirname(wasmimport.__file__)
    assert not any(f.filename.startswith(package) for f in summary[host - 3:])
    if sys.version_info >= (3, 11):
        assert "raised in a host function called by wasm" in "\n".join(exc.__notes__)


def test_without_dwarf_frames_are_the_functions_of_the_name_section() -> None:
    exc = raised(load("debug_stripped").outer, 0)
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.endswith(".wasm")]
    assert [(f.name, f.lineno) for f in frames] == [("outer", 0), ("middle", 0), ("inner", 0)]
    assert {f.filename for f in frames} == {str(GUESTS / "debug_stripped.wasm")}
    assert all(not f.line for f in frames)          # no binary shown as source
    assert "debug_stripped.wasm\", line 0, in inner" in "".join(
        traceback.format_exception(exc))


def test_the_source_is_found_beside_the_module() -> None:
    """debug_moved's DWARF names /nonexistent/src/debug.c: debug.c beside it is shown."""
    exc = raised(load("debug_moved", NO_HOST).outer, 0)
    summary = traceback.extract_tb(exc.__traceback__)
    assert guest_frames(exc) == THREE_DEEP
    assert summary[-1].filename == str(GUESTS / "debug.c")
    assert summary[-1].line == "__builtin_trap();                           /* TRAP checked */"


@pytest.mark.parametrize("path", ["pure"] if WASMER else ["compiled", "pure"])
def test_both_call_paths(path: str) -> None:
    exc = raised(load_on_path("debug_moved", path, manifest=NO_HOST).outer, 0)
    assert guest_frames(exc) == THREE_DEEP


def test_a_module_in_a_zip_shows_the_source_from_the_zip(tmp_path: Path, hook: None) -> None:
    archive = tmp_path / "guest.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(GUESTS / "debug_moved.wasm", "zipped_debug/core.wasm")
        z.writestr("zipped_debug/core.wasm.toml", NO_HOST)
        z.writestr("zipped_debug/__init__.py", "")
        z.write(SOURCE, "zipped_debug/debug.c")
    sys.path.insert(0, str(archive))
    try:
        from zipped_debug import core  # type: ignore[import-not-found]
        exc = raised(core.recurse, 1)
    finally:
        sys.path.remove(str(archive))
    summary = traceback.extract_tb(exc.__traceback__)
    assert summary[-1].filename == os.path.join(str(archive), "zipped_debug", "debug.c")
    assert (summary[-1].lineno, summary[-1].name) == (line_of("TRAP recurse"), "recurse")
    assert summary[-1].line == "__builtin_trap();                           /* TRAP recurse */"
    assert summary[-2].line == "return recurse(depth - 1) + 1;                  /* RECURSE */"


@pytest.mark.parametrize("limit", ["fuel = 100000", "timeout = \"20ms\""])
def test_a_limit_keeps_its_type_and_shows_where_it_stopped(limit: str) -> None:
    manifest = MANIFEST.read_text() + f"\n[limits]\n{limit}\n"
    setting = limit.partition(" ")[0]
    if not has(f"limits-{setting}"):         # the backend refuses it at import instead
        with pytest.raises(wasmimport.WasmImportError, match=refused(f"limits-{setting}")):
            load("debug_O1", manifest)
        return
    exc = raised(load("debug_O1", manifest).spin, 3)
    assert type(exc) is wasmimport.LimitExceeded
    assert exc.kind == ("out_of_fuel" if setting == "fuel" else "timeout")
    assert guest_frames(exc) == [("debug.c", line_of("SPIN"), "spin")]


def test_frames_are_made_once_per_location() -> None:
    mod = load("debug_O1")
    first, second = raised(mod.outer, 0), raised(mod.outer, 0)

    def frames(exc: BaseException) -> list[types.FrameType]:
        return [f for f, _ in traceback.walk_tb(exc.__traceback__)
                if f.f_code.co_filename.endswith(".c")]
    assert len(frames(first)) == 4
    assert all(a is b for a, b in zip(frames(first), frames(second)))


def run(code: str, **env: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=GUESTS.parent,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, **backend_env(), **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.needs("processes")
def test_nothing_is_read_until_a_traceback_is_made() -> None:
    out = run("""
        import sys, pathlib, wasmimport
        mod = wasmimport.load("guests/debug_O1.wasm", manifest=pathlib.Path("guests/debug.toml"))
        assert mod.outer(5) == 34
        lazy = ("wasmimport._tracebacks", "wasmimport._dwarf", "elftools")
        print(*[name in sys.modules for name in lazy])
        try:
            mod.outer(0)
        except wasmimport.Trap:
            pass
        print(*[name in sys.modules for name in lazy])
    """)
    assert out.split("\n")[:2] == ["False False False", "True True True"]


@pytest.mark.needs("processes")
def test_without_pyelftools_frames_are_names_and_a_note_says_why() -> None:
    out = run("""
        import sys, pathlib, traceback, wasmimport
        sys.modules["elftools"] = None          # as if not installed
        mod = wasmimport.load("guests/debug_O1.wasm", manifest=pathlib.Path("guests/debug.toml"))
        try:
            mod.outer(0)
        except wasmimport.Trap as exc:
            print([f.name for f in traceback.extract_tb(exc.__traceback__)
                   if f.filename.endswith(".wasm")])
            print(getattr(exc, "__notes__", None))
    """)
    names, notes = out.splitlines()[:2]
    assert names == "['outer', 'middle', 'inner']"
    if sys.version_info >= (3, 11):                 # exception notes came with 3.11
        assert "install pyelftools (wasmimport[debug])" in notes


@pytest.mark.needs("processes")
def test_pytest_shows_the_guest_source(tmp_path: Path) -> None:
    shutil.copy(GUESTS / "debug_O1.wasm", tmp_path / "guest.wasm")
    shutil.copy(MANIFEST, tmp_path / "guest.wasm.toml")
    # the source beside the module too: where the checkout is copied elsewhere (the sid
    # root's /src), the path the DWARF names is not there, and the file beside is shown
    shutil.copy(GUESTS / "debug.c", tmp_path / "debug.c")
    (tmp_path / "test_guest.py").write_text(textwrap.dedent("""
        import wasmimport
        def test_trap():
            wasmimport.load("guest.wasm").outer(0)
    """))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--rootdir", str(tmp_path), str(tmp_path / "test_guest.py")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, **backend_env(),
                                 "PYTHONPATH": str(GUESTS.parent)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"debug.c:{line_of('CALL inner->checked')}: in inner" in result.stdout
    assert f"debug.c:{line_of('TRAP checked')}: Trap" in result.stdout   # where it trapped
    assert ">   __builtin_trap();" in result.stdout


def test_a_module_file_changed_since_the_import_gives_names_not_wrong_lines(
        tmp_path: Path) -> None:
    path = tmp_path / "guest.wasm"
    shutil.copy(GUESTS / "debug_O1.wasm", path)
    mod = wasmimport.load(path, manifest=MANIFEST)
    shutil.copy(GUESTS / "debug_O0.wasm", path)         # rebuilt: other offsets, other DWARF
    exc = raised(mod.outer, 0)
    frames = traceback.extract_tb(exc.__traceback__)
    assert [(f.filename, f.name, f.lineno) for f in frames[-3:]] == [
        (str(path), "outer", 0), (str(path), "middle", 0), (str(path), "inner", 0)]
    if sys.version_info >= (3, 11):
        assert f"{path} changed since it was imported" in "\n".join(exc.__notes__)


def test_a_component_built_with_debug_shows_its_source(tmp_path: Path) -> None:
    """components/host_debug.wasm: host.c with DWARF, made a component; its add-one import
    raises through the guest's run()."""
    (tmp_path / "hostside_tb.py").write_text(
        "def log(msg): pass\n"
        "def add_one(x): raise LookupError(f'no add-one for {x}')\n"
        "def name(): return 'wasm'\n"
        "def now(): return 2000\n"
        "def at(zone): return (0, 0)\n")
    shutil.copy(GUESTS / "components" / "host_debug.wasm", tmp_path / "host_debug.wasm")
    (tmp_path / "host_debug.wasm.toml").write_text(
        '[imports]\nlog = "hostside_tb:log"\nadd-one = "hostside_tb:add_one"\n'
        'name = "hostside_tb:name"\n"demo:host/clock@0.1.0" = "hostside_tb"\n')
    sys.path.insert(0, str(tmp_path))
    try:
        mod = wasmimport.load(tmp_path / "host_debug.wasm")
        exc = raised(mod.run, 5)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("hostside_tb", None)
    assert type(exc) is LookupError
    summary = traceback.extract_tb(exc.__traceback__)
    source = GUESTS / "components" / "host.c"
    call = [n for n, line in enumerate(source.read_text().splitlines(), 1)
            if "host_add_one(x)" in line]
    guest = [] if WASMER else [("host.c", call[0], "run")]   # wasmer: no frames (see above)
    assert [(os.path.basename(f.filename), f.lineno, f.name)
            for f in summary[-1 - len(guest):]] == [*guest, ("hostside_tb.py", 2, "add_one")]
    if not WASMER:      # (on a pure call path wasmimport's call frames come first)
        assert not summary[-2].filename.startswith(os.path.dirname(wasmimport.__file__))


def test_without_a_name_section_frames_are_numbered_wasm_functions() -> None:
    wasm = wat_binary('(module (func (result i32) unreachable)'
                      '  (func (export "boom") (result i32) call 0))')
    mod = wasmimport.load(wasm, name="nameless", manifest={"functions": {"boom": "() -> i32"}})
    exc = raised(mod.boom)
    frames = traceback.extract_tb(exc.__traceback__)[-2:]
    assert [(f.filename, f.lineno, f.name) for f in frames] == [
        ("<nameless>", 0, "wasm-function[1]"), ("<nameless>", 0, "wasm-function[0]")]
