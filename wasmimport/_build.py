"""``python -m wasmimport build``: C sources to a wasm module, with the flags it needs.

A module for wasmimport exports its functions (``WI_EXPORT`` in ``wasmimport.h``), has no
entry point (a WASI module is a *reactor*: ``_initialize``, no ``_start``), keeps its stack
below its data so an overflow traps instead of corrupting data, is optimised for size, and
is stripped of debug information but keeps its name section for trap backtraces.  The
compiler is Debian's clang + lld (+ wasi-libc for WASI) or the PyPI ``ziglang`` package,
whichever is present; $WASM_CC names another clang-compatible driver.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass

from . import get_include

INSTALL_HINT = ("install Debian's `clang lld` (and `wasi-libc libclang-rt-14-dev-wasm32` "
                "for --wasi): apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32; "
                "or the PyPI zig toolchain: pip install ziglang")


class BuildError(Exception):
    """The module could not be built; the message says why and what to do."""


@dataclass(frozen=True)
class Toolchain:
    """A clang-compatible driver and how its targets and linker differ."""

    name: str
    command: tuple[str, ...]
    freestanding: str          # the --target of a module without libc
    stack_first: tuple[str, ...]   # the flag that puts the stack below the data, if needed


def _clang(command: str) -> Toolchain:
    return Toolchain("clang", (command,), "wasm32", ("-Wl,--stack-first",))


def _zig() -> Toolchain:
    # zig's own wasm linker places the stack first already (and refuses --stack-first)
    return Toolchain("zig", (sys.executable, "-m", "ziglang", "cc"), "wasm32-freestanding", ())


def find_toolchain(which: str = "auto") -> Toolchain:
    """The toolchain to use: ``clang``, ``zig``, or ``auto`` ($WASM_CC, clang, zig)."""
    has_clang = bool(shutil.which("clang") and shutil.which("wasm-ld"))
    has_zig = importlib.util.find_spec("ziglang") is not None
    if which == "clang" or (which == "auto" and os.environ.get("WASM_CC")):
        command = os.environ.get("WASM_CC", "clang")
        if shutil.which(command) is None or not shutil.which("wasm-ld"):
            raise BuildError(f"{command} with wasm-ld (lld) is not installed: {INSTALL_HINT}")
        return _clang(command)
    if which == "zig" or (which == "auto" and not has_clang and has_zig):
        if not has_zig:
            raise BuildError("the ziglang package is not installed: pip install ziglang")
        return _zig()
    if which == "auto" and has_clang:
        return _clang("clang")
    raise BuildError(f"no C-to-wasm toolchain found: {INSTALL_HINT}")


def command_line(toolchain: Toolchain, sources: list[str], output: str, wasi: bool,
                 optimize: str = "s", includes: tuple[str, ...] = (),
                 defines: tuple[str, ...] = (), werror: bool = False) -> list[str]:
    """The compile-and-link command for ``sources``."""
    if wasi:
        target = ["--target=wasm32-wasi", "-mexec-model=reactor"]
    else:
        target = [f"--target={toolchain.freestanding}", "-mbulk-memory", "-nostdlib",
                  "-Wl,--no-entry"]
    return [*toolchain.command, *target, "-std=c11", f"-O{optimize}", "-Wall", "-Wextra",
            *(["-Werror"] if werror else []),
            "-I", get_include(), *[f"-I{path}" for path in includes],
            *[f"-D{name}" for name in defines],
            "-Wl,--strip-debug", *toolchain.stack_first, *sources, "-o", output]


def build(sources: list[str], output: str, wasi: bool = False, toolchain: str = "auto",
          optimize: str = "s", includes: tuple[str, ...] = (),
          defines: tuple[str, ...] = (), werror: bool = False) -> tuple[Toolchain, list[str]]:
    """Compile ``sources`` into ``output``; return the toolchain and the command it ran.

    Raises BuildError with the compiler's own messages when it fails.
    """
    for source in sources:
        if not os.path.isfile(source):
            raise BuildError(f"{source}: no such file")
    chosen = find_toolchain(toolchain)
    command = command_line(chosen, sources, output, wasi, optimize, includes, defines, werror)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        hint = ""
        if wasi and chosen.name == "clang" and ("stdio.h" in done.stderr or "-lc" in done.stderr
                                                 or "wasi" in done.stderr):
            hint = ("\n(--wasi needs wasi-libc: apt-get install wasi-libc "
                    "libclang-rt-14-dev-wasm32, or pip install ziglang)")
        raise BuildError(f"{chosen.name} failed (exit status {done.returncode}):\n"
                         f"  {shlex.join(command)}\n{done.stdout}{done.stderr}".rstrip()
                         + hint)
    return chosen, command


ZIG_CAVEAT = ("note: zig's wasm linker writes no name section, so traps in this module show "
              "no function names and wasmimport cannot find its C stack pointer to reset it "
              "after a trap (a module that traps again and again may run out of stack); "
              "clang + lld keeps both")
