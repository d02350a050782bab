"""python -m wasmimport: include and embed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import wasmimport
from conftest import GUESTS, ROOT, guest_path, has, mypy_strict, refused
from wasmimport._wasmbin import read_module


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmimport", *args], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_help_everywhere() -> None:
    for args in ([], ["include"], ["embed"], ["inspect"], ["compile"], ["stub"], ["cache"],
                 ["cache", "info"], ["cache", "clear"]):
        result = cli(*args, "--help")
        assert result.returncode == 0 and "usage: python -m wasmimport" in result.stdout
    assert cli().returncode == 2


def test_include_prints_the_header_folder() -> None:
    result = cli("include")
    assert result.returncode == 0
    folder = Path(result.stdout.strip())
    assert folder == Path(wasmimport.get_include())
    assert (folder / "wasmimport.h").is_file()


def test_embed_makes_a_one_file_module_equal_to_the_sidecar_pair(tmp_path: Path) -> None:
    edges = guest_path("edges")
    manifest = edges.with_suffix(".wasm.toml")
    out = tmp_path / "onefile.wasm"
    result = cli("embed", str(edges), str(manifest), "-o", str(out))
    assert result.returncode == 0, result.stderr
    onefile = wasmimport.load(out)
    pair = wasmimport.load(edges)
    assert onefile.__doc__ == pair.__doc__
    assert onefile.__all__ == pair.__all__
    assert onefile.echo_str("ü") == "ü" and onefile.echo_u64(2**64 - 1) == 2**64 - 1
    # embedding again replaces the section instead of adding a second one
    shutil.copy(out, tmp_path / "again_in.wasm")
    (tmp_path / "doc.toml").write_text('doc = "replaced"\n')
    assert cli("embed", str(tmp_path / "again_in.wasm"), str(tmp_path / "doc.toml"),
               "-o", str(out)).returncode == 0
    assert len(read_module(out.read_bytes()).custom("wasmimport")) == 1
    assert wasmimport.load(out).__doc__ == "replaced"


def test_embed_refuses_a_manifest_that_does_not_fit(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[functions]\nnope = "(a: i32) -> i32"\n')
    out = tmp_path / "out.wasm"
    result = cli("embed", str(guest_path("plain")), str(tmp_path / "bad.toml"), "-o", str(out))
    assert result.returncode == 1
    assert "bad.toml: [functions] nope: the module has no export 'nope'" in result.stderr
    assert not out.exists()


def test_inspect_a_good_module() -> None:
    result = cli("inspect", str(guest_path("edges")))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"manifest: sidecar {guest_path('edges')}.toml" in out
    assert "imports (0):" in out and "problems: none" in out
    assert "func    echo_str" in out and "(i32, i32) -> (i32)" in out
    assert "  echo_str(s: str) -> str" in out and "memories: memory" in out
    # the exports the ABI calls are listed as such, not as Python functions
    functions, _, abi = out.partition("python functions:\n")[2].partition(
        "abi (called by wasmimport, not in __all__):\n")
    assert "cabi" not in functions
    assert "  cabi_post_echo_str       (i32) -> ()  post-return of echo_str\n" in abi
    assert "  cabi_realloc             (i32, i32, i32, i32) -> (i32)  [abi] realloc\n" in abi
    reactor = cli("inspect", str(guest_path("wasi_reactor"))).stdout
    assert "  _initialize   () -> ()  WASI reactor initialisation, run at import\n" in reactor


def test_inspect_lists_the_abi_allocator_the_manifest_names_as_abi(tmp_path: Path) -> None:
    from conftest import wat_binary
    (tmp_path / "alloc.wasm").write_bytes(wat_binary("""(module (memory (export "memory") 1)
        (func (export "my_alloc") (param i32) (result i32) i32.const 16)
        (func (export "my_free") (param i32))
        (func (export "cabi_other") (param i32))
        (func (export "take") (param i32 i32)))"""))
    (tmp_path / "alloc.wasm.toml").write_text(
        '[abi]\nalloc = "my_alloc"\nfree = "my_free"\n[functions]\ntake = "(s: str) -> None"\n')
    out = cli("inspect", str(tmp_path / "alloc.wasm")).stdout
    assert out.split("python functions:\n")[1].split("memories:")[0] == (
        "  take(s: str) -> None\n"
        "abi (called by wasmimport, not in __all__):\n"
        "  cabi_other  (i32) -> ()  Canonical ABI\n"
        "  my_alloc    (i32) -> (i32)  [abi] alloc\n"
        "  my_free     (i32) -> ()  [abi] free\n")


def test_inspect_shows_declared_types_with_their_c_layout() -> None:
    result = cli("inspect", str(guest_path("rich")))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "  point_swap(p: Point) -> Point" in out
    assert "python types (the C layout: size / alignment in bytes):" in out
    assert "  Mixed: record (a: u8 @0, b: u64 @8, c: u16 @16, d: str @20), 32 / 8" in out
    assert "  Color: enum (red, green, blue), 1 / 1" in out
    assert "  Big: enum (k0, k1, k2, ..., k299, 300 in all), 2 / 2" in out


def test_inspect_lists_every_problem(tmp_path: Path) -> None:
    module = tmp_path / "broken.wat"
    module.write_text('(module (import "env" "log" (func (param i32))) '
                      '(func (export "f") (param i32) (result i32) local.get 0))')
    (tmp_path / "broken.wat.toml").write_text(
        '[functions]\nf = "(a: i64) -> i32"\ng = "(a: i32) -> i32"\nh = "(a: qq) -> i32"\n')
    result = cli("inspect", str(module))
    assert result.returncode == 1
    out = result.stdout
    assert "h: unknown type 'qq'" in out      # a parse problem stops the manifest here
    (tmp_path / "broken.wat.toml").write_text(
        '[functions]\nf = "(a: i64) -> i32"\ng = "(a: i32) -> i32"\n')
    out = cli("inspect", str(module)).stdout
    assert "problems (3):" in out
    assert "[functions] f: signature '(a: i64) -> i32' needs the export 'f'" in out
    assert "[functions] g: the module has no export 'g'" in out
    assert "imports env.log ((i32) -> ()), which the manifest does not provide" in out
    assert "  func    env.log  (i32) -> ()" in out


def test_inspect_embedded_and_corrupt(tmp_path: Path) -> None:
    out = cli("inspect", str(guest_path("embedded"))).stdout
    assert "manifest: embedded" in out and "greet(name: str) -> str" in out
    (tmp_path / "junk.wasm").write_bytes(b"\0asm\x01\0\0\0\x01\xff")
    result = cli("inspect", str(tmp_path / "junk.wasm"))
    assert result.returncode == 1 and "junk.wasm" in result.stdout


IMPORT_WITHOUT_WORK = """
import sys, wasmimport
from wasmimport import _facts, _plan, backends
def refuse(*args):
    raise AssertionError("not from the cache")
_facts.read_module = _facts.plan_module = backends.get_backend().compile = refuse
sys.path.insert(0, sys.argv[1])
wasmimport.install()
from pkg import a
print(a.which(), a.add(200, 55))
"""


def test_compile_fills_the_cache(tmp_path: Path) -> None:
    from conftest import tagged_wat, wat_binary
    cache = tmp_path / "cache"
    tree = tmp_path / "tree" / "pkg"
    tree.mkdir(parents=True)
    (tree / "a.wasm").write_bytes(wat_binary(tagged_wat(1)))
    (tree / "a.wasm.toml").write_text('[functions]\nadd = "(a: u8, b: u8) -> u8"\n')
    (tree / "b.wat").write_text(tagged_wat(2))
    (tree / "notwasm.txt").write_text("x")
    wheel = tmp_path / "dist.whl"
    import zipfile
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/c.wasm", wat_binary(tagged_wat(3)))
    env = dict(os.environ, PYTHONPATH=str(ROOT), WASMIMPORT_CACHE_DIR=str(cache))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wasmimport", *args], env=env,
                              capture_output=True, text=True)
    result = run("compile", str(tmp_path / "tree"), str(wheel))
    assert result.returncode == 0, result.stderr
    assert sum(line.startswith("compiled ") for line in result.stdout.splitlines()) == 3
    assert "3 of 3 modules compiled" in result.stdout
    assert len(list(cache.glob("*.cwasm"))) == 3 and len(list(cache.glob("*.plan"))) == 3
    # compiling again hits the cache: nothing new is written
    quiet = run("compile", "-q", str(tree / "a.wasm"))
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    assert len(list(cache.glob("*.cwasm"))) == 3
    # and so does importing, with the sidecar manifest: nothing is compiled, nor planned
    imported = subprocess.run([sys.executable, "-c", IMPORT_WITHOUT_WORK, str(tree.parent)],
                              env=env, capture_output=True, text=True)
    assert (imported.stdout, imported.stderr) == ("1 255\n", "")
    assert len(list(cache.glob("*"))) == 7       # 3 compiled, 3 plans, a.wasm.toml's manifest
    (tree / "bad.wasm").write_bytes(b"\0asm\x01\0\0\0\x05")
    failed = run("compile", str(tmp_path / "tree"))
    assert failed.returncode == 1 and "bad.wasm" in failed.stderr
    info = run("cache", "info")
    assert f"directory: {cache}" in info.stdout
    assert "entries:   3 compiled modules, 1 manifests, 3 plans\n" in info.stdout
    cleared = run("cache", "clear")
    assert "removed 7 entries" in cleared.stdout and list(cache.iterdir()) == []


def test_compile_compiles_for_the_engine_settings_the_manifest_needs(
        tmp_path: Path, compiled: None) -> None:
    """Fuel metering compiles other code: compile must make that code, not the default."""
    from conftest import tagged_wat, wat_binary
    tree = tmp_path / "tree" / "pkg"
    tree.mkdir(parents=True)
    (tree / "a.wasm").write_bytes(wat_binary(tagged_wat(4)))
    (tree / "a.wasm.toml").write_text("[limits]\nfuel = 1_000_000\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), WASMIMPORT_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-m", "wasmimport", "compile", "-q", str(tree)],
                          env=env, capture_output=True, text=True)
    if not has("limits-fuel"):      # refused, as the import would refuse it
        assert done.returncode == 1
        assert re.search(refused("limits-fuel"), done.stderr), done.stderr
        return
    assert (done.returncode, done.stderr) == (0, "")
    imported = subprocess.run([sys.executable, "-c", IMPORT_WITHOUT_WORK.replace(
        "a.add(200, 55)", "a.bump()"), str(tree.parent)], env=env, capture_output=True,
        text=True)
    assert (imported.stdout, imported.stderr) == ("4 1\n", "")


def test_stub_passes_mypy_strict(tmp_path: Path) -> None:
    shutil.copy(guest_path("edges"), tmp_path / "edges.wasm")
    shutil.copy(guest_path("edges").with_suffix(".wasm.toml"), tmp_path / "edges.wasm.toml")
    result = cli("stub", str(tmp_path / "edges.wasm"))
    assert result.returncode == 0, result.stderr
    stub = (tmp_path / "edges.pyi").read_text()
    assert "def echo_str(s: str) -> str:" in stub
    assert "def echo_list_f64(xs: list[float]) -> list[float]:" in stub
    assert "cabi_realloc" not in stub
    (tmp_path / "user.py").write_text(
        "import edges\n"
        "n: int = edges.echo_u64(3)\n"
        "s: str = edges.echo_str('x')\n"
        "xs: list[float] = edges.echo_list_f64([1.0])\n"
        "view: memoryview = edges.memory\n")
    (tmp_path / "wrong.py").write_text("import edges\ns: str = edges.echo_u64(3)\n")
    ok = mypy_strict("edges.pyi", "user.py", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    wrong = mypy_strict("wrong.py", cwd=tmp_path)
    assert wrong.returncode == 1 and "incompatible types in assignment" in wrong.stdout.lower()


def test_stub_of_resources_and_imports_passes_mypy_strict(tmp_path: Path) -> None:
    """A module with [imports] (served by Python, so no problem) and a resource class."""
    shutil.copy(guest_path("objects"), tmp_path / "objects.wasm")
    shutil.copy(guest_path("objects").with_suffix(".wasm.toml"),
                tmp_path / "objects.wasm.toml")
    result = cli("stub", str(tmp_path / "objects.wasm"))
    assert result.returncode == 0, result.stderr
    stub = (tmp_path / "objects.pyi").read_text()
    assert "class Acc:" in stub and "    def __init__(self, start: int = 0) -> None: ..." in stub
    assert "    @staticmethod\n    def merged(a: Acc, b: Acc) -> Acc: ..." in stub
    assert "Acc.add" not in stub                  # a method, not an unusable function name
    (tmp_path / "user.py").write_text(
        "import objects\n"
        "with objects.Acc(1) as a:\n"
        "    a.add(2)\n"
        "    n: int = a.value() + objects.total(a)\n"
        "    b: objects.Acc = objects.Acc.merged(a.copy(), a)\n")
    (tmp_path / "wrong.py").write_text("import objects\nobjects.Acc('x')\n")
    ok = mypy_strict("objects.pyi", "user.py", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    wrong = mypy_strict("wrong.py", cwd=tmp_path)
    assert wrong.returncode == 1 and "incompatible type" in wrong.stdout.lower()


def test_stub_of_a_broken_module_fails(tmp_path: Path) -> None:
    (tmp_path / "b.wat").write_text('(module (func (export "f")))')
    (tmp_path / "b.wat.toml").write_text('[functions]\nf = "(a: i32) -> None"\n')
    result = cli("stub", str(tmp_path / "b.wat"))
    assert result.returncode == 1 and "[functions] f: signature" in result.stderr
    assert not (tmp_path / "b.pyi").exists()


def test_compile_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import pty

    from conftest import tagged_wat
    for i in range(3):
        (tmp_path / f"m{i}.wat").write_text(tagged_wat(i))
    leader, follower = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT), WASMIMPORT_CACHE_DIR=str(tmp_path / "c"))
    proc = subprocess.run([sys.executable, "-m", "wasmimport", "compile", str(tmp_path)],
                          env=env, stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    bar = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "[" + "#" * 30 + "] 3/3" in bar and "\r" in bar
    assert proc.stdout.startswith("3 of 3 modules compiled")   # no per-file lines


def test_inspect_marks_functions_that_release_the_gil(tmp_path: Path) -> None:
    shutil.copy(guest_path("edges"), tmp_path / "edges.wasm")
    (tmp_path / "edges.wasm.toml").write_text(
        guest_path("edges").with_suffix(".wasm.toml").read_text() + "\n" +
        (GUESTS / "edges_nogil.toml").read_text())
    out = subprocess.run([sys.executable, "-m", "wasmimport", "inspect",
                          str(tmp_path / "edges.wasm")], capture_output=True, text=True).stdout
    assert "  spin_nogil(n: u32) -> u32  [export 'spin']  [releases the GIL]" in out
    assert "  spin(n: u32) -> u32\n" in out


def test_stub_of_a_record_whose_fields_hide_other_names_passes_mypy_strict(
        tmp_path: Path) -> None:
    """A field named like a type used by a later field (a builtin here, an interface in a
    component) hides it inside the record's class: the stub names such types by an alias."""
    (tmp_path / "r.wat").write_text("(module)")
    (tmp_path / "r.wat.toml").write_text(
        '[types.Line]\nPoint = "Point"\nend = "Point"\n'
        '[types.Point]\nint = "i64"\nfloat = "f64"\ny = "f64"\ncount = "i64"\n')
    result = cli("stub", str(tmp_path / "r.wat"))
    assert result.returncode == 0, result.stderr
    (tmp_path / "user.py").write_text(
        "import r\n"
        "p = r.Point(1, 2.0, 3.0, 4)\n"
        "line: r.Line = r.Line(p, p)\n"
        "n: int = line.end.int + line.Point.count\n"
        "x: float = line.Point.float + line.end.y\n")
    (tmp_path / "wrong.py").write_text("import r\ns: str = r.Point(1, 2.0, 3.0, 4).y\n")
    ok = mypy_strict("r.pyi", "user.py", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + (tmp_path / "r.pyi").read_text()
    wrong = mypy_strict("wrong.py", cwd=tmp_path)
    assert wrong.returncode == 1 and "incompatible types in assignment" in wrong.stdout.lower()
