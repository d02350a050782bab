"""`python -m wasmimport build`: C to a module wasmimport imports, with clang + lld or zig.

Real compilers, real sources from tests/guests and the sample packages: clang + lld (the
project's `make toolchain` installs them) and the PyPI `ziglang` package, which this file
installs into a folder of its own (it is 100 MB, and only this test needs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import wasmimport
from conftest import GUESTS, ROOT
from wasmimport._wasmbin import read_module

EDGES = GUESTS / "edges.wasm.toml"
TEXTKIT = ROOT / "sample_pkgs" / "textkit"


def build(*args: str, pythonpath: str = str(ROOT),
          path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=pythonpath)
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


def test_clang_builds_a_wasi_reactor(tmp_path: Path) -> None:
    out = tmp_path / "textkit.wasm"
    done = build("--wasi", str(TEXTKIT / "csrc" / "textkit.c"), "-o", str(out))
    assert done.returncode == 0 and "(WASI reactor)" in done.stdout, done.stderr
    exports = {e.name for e in read_module(out.read_bytes()).exports}
    assert "_initialize" in exports and "_start" not in exports
    mod = wasmimport.load(out, name="tk",
                          manifest=TEXTKIT / "src" / "textkit" / "_textkit.wasm.toml")
    assert mod.upper("héllo") == "HéLLO" and mod.slugify("Hello, World!") == "hello-world"


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
