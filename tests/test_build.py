"""`python -m wasmimport build`: C to a module wasmimport imports, with clang + lld or zig.

Real compilers, real sources from tests/guests and the sample packages: clang + lld (the
project's `make toolchain` installs them) and the PyPI `ziglang` package, which this file
installs into a folder of its own (it is 100 MB, and only this test needs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

import wasmimport
from conftest import GUESTS, ROOT
from wasmimport._wasmbin import read_module

EDGES = GUESTS / "edges.wasm.toml"
TEXTKIT = ROOT / "sample_pkgs" / "textkit"


def build(*args: str, pythonpath: str = str(ROOT), path: str | None = None,
          **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=pythonpath, **extra_env)
    if path is not None:
        env["PATH"] = path
    env.pop("WASM_CC", None)
    return subprocess.run([sys.executable, "-m", "wasmimport", "build", *args],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def ziglang(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A folder with the ziglang package in it, for PYTHONPATH."""
    target = tmp_path_factory.mktemp("ziglang")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target",
                           str(target), "ziglang"], capture_output=True, text=True)
    assert done.returncode == 0, f"cannot install ziglang from PyPI: {done.stderr}"
    yield str(target)


def check_edges(path: Path, names: bool) -> None:
    """The module imports with the edges manifest and behaves; no debug info, no entry."""
    info = read_module(path.read_bytes())
    customs = {name for name, _ in info.custom_sections}
    assert not any(name.startswith(".debug") for name in customs), customs
    exports = {export.name for export in info.exports}
    assert "_start" not in exports and "memory" in exports
    mod = wasmimport.load(path, name="edges", manifest=EDGES)
    assert mod.echo_str("ü") == "ü" and mod.sum17(*range(17)) == 136
    with pytest.raises(wasmimport.Trap) as info_:
        mod.trap_unreachable()
    assert info_.value.kind == "unreachable"
    assert (info_.value.frames[0].function == "trap_unreachable") is names
    assert (info.stack_pointer is not None) is names
    with pytest.raises(wasmimport.Trap) as overflow:      # the stack is below the data
        mod.recurse(10**7)
    assert overflow.value.kind == "stack_overflow"
    assert mod.echo_i32(5) == 5


def test_clang_builds_a_freestanding_module(tmp_path: Path) -> None:
    out = tmp_path / "edges.wasm"
    done = build(str(GUESTS / "edges.c"), "-o", str(out), "--toolchain", "clang", "--werror")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"built {out} with clang\n", "")
    check_edges(out, names=True)


def test_a_wasm_opt_on_path_leaves_the_build_alone(tmp_path: Path) -> None:
    """clang runs binaryen's wasm-opt after an optimised link when it finds one (which
    drops the name section and DWARF); the build links without -O so it never does.  This
    wasm-opt, first on PATH, would break the module."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "wasm-opt").write_text("#!/bin/sh\necho wasm-opt ran >&2\nexit 3\n")
    (tools / "wasm-opt").chmod(0o755)
    out = tmp_path / "edges.wasm"
    done = build(str(GUESTS / "edges.c"), "-o", str(out), "--toolchain", "clang", "--werror",
                 "--cflag=-Wl,--export=echo_i32", path=f"{tools}:{os.environ['PATH']}")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"built {out} with clang\n", "")
    check_edges(out, names=True)


def test_clang_builds_a_wasi_reactor(tmp_path: Path) -> None:
    out = tmp_path / "textkit.wasm"
    done = build("--wasi", str(TEXTKIT / "csrc" / "textkit.c"), "-o", str(out))
    assert done.returncode == 0 and "(WASI reactor)" in done.stdout, done.stderr
    exports = {e.name for e in read_module(out.read_bytes()).exports}
    assert "_initialize" in exports and "_start" not in exports
    mod = wasmimport.load(out, name="tk",
                          manifest=TEXTKIT / "src" / "textkit" / "_textkit.wasm.toml")
    assert mod.upper("héllo") == "HéLLO" and mod.slugify("Hello, World!") == "hello-world"


SIMD_C = """
#include <stdint.h>
#include <stdlib.h>
#include <wasm_simd128.h>
#include "wasmimport.h"
/* the sum of four lanes of (x, x+1, x+2, x+3) * SCALE, in SIMD128; a malloc for good
 * measure: libc's allocator needs no WASI */
WI_EXPORT(lanes) int32_t lanes(int32_t x) {
    int32_t *scratch = malloc(16);
    v128_t v = wasm_i32x4_mul(wasm_i32x4_add(wasm_i32x4_splat(x), wasm_i32x4_make(0, 1, 2, 3)),
                              wasm_i32x4_splat(SCALE));
    wasm_v128_store(scratch, v);
    int32_t sum = scratch[0] + scratch[1] + scratch[2] + scratch[3];
    free(scratch);
    return sum;
}
"""


def test_simd_and_flags_given_through(tmp_path: Path) -> None:
    """--simd turns on SIMD128, --cflag goes to clang as it is; a --wasi module whose libc
    use reaches no system imports no WASI, so it needs no [wasi] grant."""
    source = tmp_path / "lanes.c"
    source.write_text(SIMD_C)
    out = tmp_path / "lanes.wasm"
    plain = build("--wasi", str(source), "-o", str(out), "--cflag=-DSCALE=3")
    assert plain.returncode == 1 and "simd128" in plain.stderr.lower(), plain.stderr
    done = build("--wasi", "--simd", str(source), "-o", str(out), "--cflag=-DSCALE=3",
                 "--cflag=-Wl,--export=malloc")
    assert done.returncode == 0, done.stderr
    module = read_module(out.read_bytes())
    assert not module.imports and "malloc" in {e.name for e in module.exports}
    mod = wasmimport.load(out, name="lanes", manifest={"functions": {
        "lanes": "(x: i32) -> i32"}})
    assert mod.lanes(10) == (10 + 11 + 12 + 13) * 3


def test_zig_builds_both_kinds_and_says_what_it_lacks(tmp_path: Path, ziglang: str) -> None:
    pythonpath = os.pathsep.join([str(ROOT), ziglang])
    out = tmp_path / "edges.wasm"
    done = build(str(GUESTS / "edges.c"), "-o", str(out), "--toolchain", "zig",
                 pythonpath=pythonpath)
    assert done.returncode == 0 and done.stdout == f"built {out} with zig\n", done.stderr
    assert "zig's wasm linker writes no name section" in done.stderr
    check_edges(out, names=False)
    reactor = tmp_path / "textkit.wasm"
    assert build("--wasi", "--toolchain", "zig", str(TEXTKIT / "csrc" / "textkit.c"), "-o",
                 str(reactor), pythonpath=pythonpath).returncode == 0
    mod = wasmimport.load(reactor, name="tk",
                          manifest=TEXTKIT / "src" / "textkit" / "_textkit.wasm.toml")
    assert mod.word_count("a b  c") == 3
    # with no clang on PATH, auto picks zig
    auto = build(str(GUESTS / "plain.c"), "-o", str(tmp_path / "plain.wasm"),
                 pythonpath=pythonpath, path=str(tmp_path / "empty"))
    assert auto.returncode == 0 and auto.stdout.endswith("with zig\n"), auto.stderr


def test_without_a_toolchain_it_says_what_to_install(tmp_path: Path) -> None:
    done = build(str(GUESTS / "plain.c"), "-o", str(tmp_path / "plain.wasm"),
                 path=str(tmp_path / "empty"))      # no clang, and ziglang not importable
    assert done.returncode == 1
    assert done.stderr.startswith("error: no C-to-wasm toolchain found: install Debian's "
                                  "`clang lld`")
    assert "pip install ziglang" in done.stderr and not (tmp_path / "plain.wasm").exists()


def test_a_compile_error_shows_the_compiler_and_its_message(tmp_path: Path) -> None:
    (tmp_path / "bad.c").write_text("int f(void) { return undefined_name; }\n")
    done = build(str(tmp_path / "bad.c"), "-o", str(tmp_path / "bad.wasm"))
    assert done.returncode == 1
    assert done.stderr.startswith("error: clang failed (exit status 1):\n  clang --target=")
    assert "use of undeclared identifier 'undefined_name'" in done.stderr
    missing = build(str(tmp_path / "nope.c"), "-o", str(tmp_path / "x.wasm"))
    assert missing.returncode == 1 and missing.stderr == f"error: {tmp_path / 'nope.c'}: " \
        "no such file\n"


# --wit: the core module made a component by wasm-tools embed + new (npm jco, run by Node)
COMPONENT_DEPS = ROOT / ".cache" / "component" / ".installed"
ADD_C = """\
#include <stdint.h>
__attribute__((export_name("add"))) int32_t add(int32_t a, int32_t b) { return a + b; }
"""
ADD_WIT = ("package demo:add@0.1.0;\n\n"
           "world adder {\n  export add: func(a: s32, b: s32) -> s32;\n}\n")
COMPONENT_LAYER = b"\0asm\x0d\x00\x01\x00"     # a component's preamble; a module has 1,0,0,0


@pytest.fixture
def jco() -> None:
    if not COMPONENT_DEPS.exists():
        pytest.fail(f"{COMPONENT_DEPS.parent} is missing: run `make component-deps` (the test "
                    "suite needs it)")


def component_wit(path: Path) -> str:
    done = subprocess.run(["node", str(ROOT / "tools" / "component" / "wasm_tools.mjs"), "wit",
                           str(path)], capture_output=True, text=True, check=True)
    return done.stdout


def call_component(path: Path, name: str, *args: object) -> object:
    """Run an export of the component with wasmtime's component API (and WASI p2)."""
    from wasmtime import Engine, Store, WasiConfig, component
    engine = Engine()
    store = Store(engine)
    store.set_wasi(WasiConfig())
    linker = component.Linker(engine)
    linker.add_wasip2()
    instance = linker.instantiate(store, component.Component.from_file(engine, str(path)))
    func = instance.get_func(store, name)
    assert func is not None, name
    result = func(store, *args)
    func.post_return(store)
    return result


def test_wit_makes_a_component(tmp_path: Path, jco: None) -> None:
    (tmp_path / "add.c").write_text(ADD_C)
    (tmp_path / "add.wit").write_text(ADD_WIT)
    out = tmp_path / "add.wasm"
    done = build(str(tmp_path / "add.c"), "--wit", str(tmp_path / "add.wit"), "-o", str(out))
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == f"built {out} with clang (component, WIT {tmp_path / 'add.wit'})\n"
    assert out.read_bytes().startswith(COMPONENT_LAYER)
    assert "export add: func(a: s32, b: s32) -> s32;" in component_wit(out)
    assert call_component(out, "add", 2, 3) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["add.c", "add.wasm", "add.wit"]


def test_wit_with_wasi_adapts_preview1_and_world_picks_one(tmp_path: Path, jco: None) -> None:
    (tmp_path / "hello.c").write_text(
        "#include <stdio.h>\n#include <stdint.h>\n"
        '__attribute__((export_name("hello"))) int32_t hello(int32_t n) {\n'
        '  printf("hello %d\\n", n); fflush(stdout); return n + 1;\n}\n')
    (tmp_path / "two.wit").write_text(
        "package demo:two;\n\nworld one {\n  export hello: func(n: s32) -> s32;\n}\n\n"
        "world other {\n  export bye: func();\n}\n")
    out = tmp_path / "hello.wasm"
    ambiguous = build("--wasi", str(tmp_path / "hello.c"), "--wit", str(tmp_path / "two.wit"),
                      "-o", str(out))
    assert ambiguous.returncode == 1 and "wasm-tools embed" in ambiguous.stderr
    assert "multiple worlds" in ambiguous.stderr and not out.exists()
    done = build("--wasi", str(tmp_path / "hello.c"), "--wit", str(tmp_path / "two.wit"),
                 "--world", "one", "-o", str(out))
    assert done.returncode == 0 and "(component, WASI reactor, WIT" in done.stdout, done.stderr
    wit = component_wit(out)
    assert "import wasi:cli/stdout@0.2" in wit and "export hello:" in wit, wit
    assert call_component(out, "hello", 41) == 42


def test_wit_without_node_or_jco_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "add.c").write_text(ADD_C)
    (tmp_path / "add.wit").write_text(ADD_WIT)
    args = (str(tmp_path / "add.c"), "--wit", str(tmp_path / "add.wit"), "-o",
            str(tmp_path / "add.wasm"))
    no_node = build(*args, path=str(tmp_path / "empty"))
    assert no_node.returncode == 1
    assert no_node.stderr.startswith("error: --wit needs Node.js (`node` is not on PATH)")
    assert "make component-deps" in no_node.stderr
    # a wasm_tools.mjs that finds no jco: its message, and the Makefile target
    script = tmp_path / "wasm_tools.mjs"
    script.write_text((ROOT / "tools" / "component" / "wasm_tools.mjs").read_text())
    no_jco = build(*args, WASMIMPORT_JCO=str(script),
                   WASMIMPORT_COMPONENT_DEPS=str(tmp_path / "nothing"))
    assert no_jco.returncode == 1 and "wasm-tools embed" in no_jco.stderr, no_jco.stderr
    assert "npm @bytecodealliance/jco is not installed" in no_jco.stderr
    assert "make component-deps" in no_jco.stderr
    missing = build(*args, WASMIMPORT_JCO=str(tmp_path / "nope.mjs"))
    assert missing.returncode == 1
    assert missing.stderr == f"error: $WASMIMPORT_JCO is {tmp_path / 'nope.mjs'}, which is " \
        "not a file\n"
    assert not (tmp_path / "add.wasm").exists()
    world_alone = build(str(tmp_path / "add.c"), "--world", "adder", "-o", str(tmp_path / "x"))
    assert (world_alone.returncode, world_alone.stderr) == (1, "error: --world needs --wit\n")


def test_debug_keeps_dwarf_and_says_what_it_costs(tmp_path: Path) -> None:
    """--debug (-g) keeps DWARF: a trap's traceback then shows debug.c's lines; without it
    the module keeps only its name section.  inspect tells which a module has."""
    source, manifest = GUESTS / "debug.c", {"functions": {"outer": "(x: i32) -> i32"}}
    kept, stripped = tmp_path / "kept.wasm", tmp_path / "stripped.wasm"
    done = build("--debug", "-O1", str(source), "-o", str(kept), "--cflag=-DNO_HOST")
    assert done.returncode == 0, done.stderr
    cost = done.stdout.splitlines()[-1]
    assert cost.startswith("debug info: DWARF, ") and "sections" in cost
    assert f"the file is {kept.stat().st_size} bytes" in cost
    assert build("-O1", str(source), "-o", str(stripped), "--cflag=-DNO_HOST").returncode == 0
    assert not any(name.startswith(".debug_")
                   for name, _ in read_module(stripped.read_bytes()).custom_sections)
    shown = {}
    for path in (kept, stripped):
        try:
            wasmimport.load(path, manifest=manifest).outer(0)
        except wasmimport.Trap as exc:
            shown[path] = [(os.path.basename(f.filename), f.name)
                           for f in traceback.extract_tb(exc.__traceback__)][-3:]
    assert shown[kept] == [("debug.c", "middle"), ("debug.c", "inner"), ("debug.c", "checked")]
    assert shown[stripped] == [("stripped.wasm", "outer"), ("stripped.wasm", "middle"),
                               ("stripped.wasm", "inner")]
    inspect = [sys.executable, "-m", "wasmimport", "inspect"]
    for path, expected in ((kept, "debug info: DWARF, "), (stripped, "debug info: names only")):
        out = subprocess.run([*inspect, str(path)], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
        assert expected in out, out
