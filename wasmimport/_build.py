"""``python -m wasmimport build``: C sources to a wasm module, with the flags it needs.

A module for wasmimport exports its functions (``WI_EXPORT`` in ``wasmimport.h``), has no
entry point (a WASI module is a *reactor*: ``_initialize``, no ``_start``), keeps its stack
below its data so an overflow traps instead of corrupting data, is optimised for size, and
is stripped of debug information but keeps its name section for trap backtraces (``debug``
keeps DWARF, for source lines in tracebacks).  The
compiler is Debian's clang + lld (+ wasi-libc for WASI) or the PyPI ``ziglang`` package,
whichever is present; $WASM_CC names another clang-compatible driver.

With ``--wit`` the core module is then made a WebAssembly *component*: wasm-tools' ``embed``
(the WIT world into a custom section) and ``new`` (the component around the core module,
with the WASI preview1-to-preview2 adapter for ``--wasi``), run by Node.js through npm jco
(``tools/component/wasm_tools.mjs`` of the wasmimport checkout, installed by ``make
component-deps``; ``$WASMIMPORT_JCO`` names another copy of that script).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


class Options:
    """What to build: the target (``wasi``: a WASI reactor with libc) and the compiler's
    options, the flags given through (``cflags``) last."""

    def __init__(self, wasi: bool = False, toolchain: str = "auto", optimize: str = "s",
                 includes: tuple[str, ...] = (), defines: tuple[str, ...] = (),
                 werror: bool = False, simd: bool = False, cflags: tuple[str, ...] = (),
                 debug: bool = False):
        self.wasi, self.toolchain, self.optimize = wasi, toolchain, optimize
        self.includes, self.defines, self.werror = includes, defines, werror
        self.simd, self.cflags, self.debug = simd, cflags, debug


def command_lines(toolchain: Toolchain, sources: list[str], output: str, options: Options,
                  objects: str) -> list[list[str]]:
    """The commands that build ``sources``: one compile per source into the folder
    ``objects``, then the link.  The link gets no -O: given one, clang runs binaryen's
    wasm-opt on the module if it finds one, which drops the name section and DWARF.  Both
    steps get every flag (``-Qunused-arguments``: a -D means nothing to the link, a -Wl,
    nothing to a compile), so that ``cflags`` may hold either; but -mexec-model, which
    newer clangs refuse in a compile, goes to the link alone."""
    if options.wasi:
        target, link_only = ["--target=wasm32-wasi"], ["-mexec-model=reactor"]
    else:
        target = [f"--target={toolchain.freestanding}", "-mbulk-memory", "-nostdlib",
                  "-Wl,--no-entry"]
        link_only = []
    flags = [*toolchain.command, *target, *(["-msimd128"] if options.simd else []),
             "-std=c11", "-Wall", "-Wextra", *(["-Werror"] if options.werror else []),
             "-Qunused-arguments", "-I", get_include(),
             *[f"-I{path}" for path in options.includes],
             *[f"-D{name}" for name in options.defines],
             *(["-g"] if options.debug else ["-Wl,--strip-debug"]), *toolchain.stack_first,
             *options.cflags]
    objs = [os.path.join(objects, f"{k}-{Path(source).stem}.o")
            for k, source in enumerate(sources)]
    compiles = [[*flags, f"-O{options.optimize}", "-c", source, "-o", obj]
                for source, obj in zip(sources, objs)]
    return [*compiles, [*flags, *link_only, *objs, "-o", output]]


def build(sources: list[str], output: str, options: Options | None = None,
          wit: str | None = None, world: str | None = None
          ) -> tuple[Toolchain, list[list[str]]]:
    """Compile ``sources`` into ``output``; return the toolchain and the commands it ran.

    With ``wit`` (a WIT file or folder; ``world`` picks one of its worlds) the module is
    then made a component (see ``componentize``).  Raises BuildError with the compiler's (or
    wasm-tools') own messages when it fails.
    """
    options = options or Options()
    wasi = options.wasi
    for source in sources:
        if not os.path.isfile(source):
            raise BuildError(f"{source}: no such file")
    if world is not None and wit is None:
        raise BuildError("--world needs --wit")
    if wit is not None:
        if not os.path.exists(wit):
            raise BuildError(f"{wit}: no such WIT file or folder")
        find_component_tools()          # before compiling: say early what is missing
        core = f"{output}.core.tmp{os.getpid()}"
        try:
            chosen, commands = build(sources, core, options)
            componentize(core, wit, output, world, wasi)
        finally:
            if os.path.exists(core):
                os.unlink(core)
        return chosen, commands
    chosen = find_toolchain(options.toolchain)
    with tempfile.TemporaryDirectory(prefix="wasmimport-build-") as objects:
        commands = command_lines(chosen, sources, output, options, objects)
        for command in commands:
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise BuildError(f"{chosen.name} failed (exit status {done.returncode}):\n"
                                 f"  {shlex.join(command)}\n{done.stdout}{done.stderr}".rstrip()
                                 + _hint(chosen, wasi, done.stderr))
    return chosen, commands


def _hint(toolchain: Toolchain, wasi: bool, stderr: str) -> str:
    """What to install, when a --wasi build failed for want of wasi-libc."""
    if wasi and toolchain.name == "clang" and ("stdio.h" in stderr or "-lc" in stderr
                                               or "wasi" in stderr):
        return ("\n(--wasi needs wasi-libc: apt-get install wasi-libc "
                "libclang-rt-14-dev-wasm32, or pip install ziglang)")
    return ""


JCO_ENV = "WASMIMPORT_JCO"
JCO_HINT = ("run `make component-deps` in the wasmimport checkout (it installs npm jco into "
            ".cache/component), or set $WASMIMPORT_JCO to a tools/component/wasm_tools.mjs")


def find_component_tools() -> tuple[str, str]:
    """(node, wasm_tools.mjs): what ``--wit`` runs; BuildError naming the fix if missing."""
    node = shutil.which("node")
    if node is None:
        raise BuildError("--wit needs Node.js (`node` is not on PATH): apt-get install nodejs "
                         "npm; then " + JCO_HINT)
    script = os.environ.get(JCO_ENV)
    if script:
        if not os.path.isfile(script):
            raise BuildError(f"${JCO_ENV} is {script}, which is not a file")
        return node, script
    here = Path(__file__).resolve().parent.parent / "tools" / "component" / "wasm_tools.mjs"
    if not here.is_file():
        raise BuildError(f"--wit needs tools/component/wasm_tools.mjs of a wasmimport checkout "
                         f"(this wasmimport, in {here.parent.parent.parent}, has none): "
                         f"set ${JCO_ENV} to it")
    return node, str(here)


def _run_tool(command: list[str], what: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        message = f"{done.stdout}{done.stderr}".rstrip()
        hint = f"\n({JCO_HINT})" if "component-deps" not in message and (
            "Cannot find" in message or "not installed" in message) else ""
        raise BuildError(f"{what} failed (exit status {done.returncode}):\n"
                         f"  {shlex.join(command)}\n{message}" + hint)
    return done.stdout


def componentize(core: str, wit: str, output: str, world: str | None = None,
                 wasi: bool = False) -> list[list[str]]:
    """Make the core module ``core`` a component in ``output``: embed the WIT (a file or a
    folder) and wrap it, with the reactor adapter when ``wasi``; return the commands run."""
    if not os.path.exists(wit):
        raise BuildError(f"{wit}: no such WIT file or folder")
    node, script = find_component_tools()
    embedded = f"{output}.embed.tmp{os.getpid()}"
    embed = [node, script, "embed", core, wit, *(["--world", world] if world else []),
             "-o", embedded]
    new = [node, script, "new", embedded, "-o", output]
    try:
        _run_tool(embed, "wasm-tools embed (WIT into the core module)")
        if wasi:
            adapter = _run_tool([node, script, "adapter", "reactor"],
                                "finding the WASI adapter").strip()
            new[4:4] = ["--adapt", f"wasi_snapshot_preview1={adapter}"]
        _run_tool(new, "wasm-tools new (the component)")
        _append_docs(output, wit)
    finally:
        if os.path.exists(embedded):
            os.unlink(embedded)
    return [embed, new]


def _append_docs(component: str, wit: str) -> None:
    """Append the WIT's doc comments to ``component`` as a custom section, since jco's
    ``embed`` does not carry them (see component/_witdocs.py)."""
    from .component._witdocs import extract, read_wit, section
    docs = extract(read_wit(wit))
    if docs:
        with open(component, "ab") as f:
            f.write(section(docs))


ZIG_CAVEAT = ("note: zig's wasm linker writes no name section, so traps in this module show "
              "no function names and wasmimport cannot find its C stack pointer to reset it "
              "after a trap (a module that traps again and again may run out of stack); "
              "clang + lld keeps both")
