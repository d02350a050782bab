"""The ``python -m wasmimport`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from collections.abc import Iterator, Sequence

from . import __version__, _activation, _cache, get_include, is_installed
from ._errors import WasmImportError
from ._finder import WASM_SUFFIXES
from ._inspect import debug_info, describe, report
from ._loader import SIDECAR_SUFFIX
from ._manifest import EMBEDDED_SECTION, parse_manifest
from ._module import compile_only
from ._plan import plan_module
from ._stub import render_component_stub, render_stub
from ._wasmbin import WasmFormatError, read_module, with_custom_section
from .backends import get_backend


def _enable(args: argparse.Namespace) -> int:
    try:
        path = _activation.enable(args.user)
    except OSError as exc:
        print(f"error: cannot write {_activation.PTH_NAME} into {_activation.site_dir(args.user)}"
              f": {exc.strerror or exc}; use a virtual environment, or --user", file=sys.stderr)
        return 1
    print(f"enabled: {path} installs the wasmimport import hook at every start of "
          f"{'your user site' if args.user else 'this environment'}'s Python")
    return 0


def _disable(args: argparse.Namespace) -> int:
    try:
        path = _activation.disable(args.user)
    except OSError as exc:
        print(f"error: cannot remove {_activation.PTH_NAME} from "
              f"{_activation.site_dir(args.user)}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"disabled: removed {path}" if path else
          f"already disabled: no {_activation.PTH_NAME} in {_activation.site_dir(args.user)}")
    return 0


def _status(args: argparse.Namespace) -> int:
    found = _activation.enabled_by()
    if found:
        print("enabled: the import hook is installed at start-up by " + ", ".join(found))
    else:
        print(f"disabled: no {_activation.PTH_NAME} in {_activation.site_dir()}; a program "
              "must call wasmimport.install() (or run `python -m wasmimport enable`)")
    print(f"in this process the hook is {'installed' if is_installed() else 'not installed'}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from ._build import ZIG_CAVEAT, BuildError, Options, build
    options = Options(args.wasi, args.toolchain, args.optimize, tuple(args.include),
                      tuple(args.define), args.werror, args.simd, tuple(args.cflag), args.debug)
    try:
        toolchain, _ = build(args.sources, args.output, options, args.wit, args.world)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if toolchain.name == "zig":
        print(ZIG_CAVEAT, file=sys.stderr)
    if not args.quiet:
        kind = "WASI reactor" if args.wasi else ""
        if args.wit:
            kind = f"component{', WASI reactor' if args.wasi else ''}, WIT {args.wit}"
        print(f"built {args.output} with {toolchain.name}{f' ({kind})' if kind else ''}")
        if args.debug:
            print(_debug_cost(args.output))
    return 0


def _debug_cost(path: str) -> str:
    """What ``--debug`` added to the module at ``path`` (a component: to its largest core
    module, the one built from the C sources)."""
    from ._wasmbin import read_module
    from .component import is_component
    with open(path, "rb") as f:
        data = f.read()
    core = data
    if is_component(data):
        from .component._decode import decode
        core = max((data[start:end] for start, end in decode(data).modules), key=len)
    return f"debug info: {debug_info(read_module(core))}; the file is {len(data)} bytes"


def _include(args: argparse.Namespace) -> int:
    print(get_include())
    return 0


def _embed(args: argparse.Namespace) -> int:
    """Check the manifest against the module, then write it into a custom section."""
    with open(args.wasm, "rb") as f:
        wasm = f.read()
    with open(args.manifest, "rb") as f:
        text = f.read()
    try:
        plan_module(read_module(wasm), parse_manifest(text, args.manifest), args.wasm)
        out = with_custom_section(wasm, EMBEDDED_SECTION, text)
    except (WasmImportError, WasmFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _write_atomically(args.output, out)
    return 0


def _write_atomically(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _inspect(args: argparse.Namespace) -> int:
    found = describe(args.file, args.backend)
    print(report(found))
    return 1 if found.problems else 0


def _stub(args: argparse.Namespace) -> int:
    found = describe(args.file, args.backend)
    source = os.path.basename(args.file)
    if found.runtime and not found.problems:      # on wasmtime's component runtime
        from .component._runtime import stub_layout
        assert found.component is not None       # (set with found.runtime)
        try:
            plan, types, functions, interfaces = stub_layout(found.component, args.file)
        except WasmImportError as exc:
            found.problems.append(str(exc))
        else:
            found.plan = plan
            text = render_component_stub(plan, source, types, functions, interfaces)
    if found.plan is None or found.problems:
        for problem in found.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    if not found.runtime:
        layout = found.layout
        text = render_stub(found.plan, source) if layout is None else render_component_stub(
            found.plan, source, layout.types, layout.functions, layout.interfaces)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = args.output or os.path.splitext(args.file)[0] + ".pyi"
    _write_atomically(output, text.encode("utf-8"))
    if not args.quiet:
        print(f"wrote {output}")
    return 0


def _sources(paths: Sequence[str]) -> Iterator[tuple[str, bytes | OSError, bytes | None]]:
    """(name, bytes or the error reading them, its sidecar manifest's bytes or None) of every
    wasm module under ``paths``.

    Directories are walked; zip archives (wheels, .pyz) are read entry by entry.
    """
    for path in paths:
        if os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(tuple(WASM_SUFFIXES)):
                        yield from _sources([os.path.join(folder, name)])
        elif zipfile.is_zipfile(path) and not path.endswith(tuple(WASM_SUFFIXES)):
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                for name in sorted(names):
                    if name.endswith(tuple(WASM_SUFFIXES)):
                        sidecar = name + SIDECAR_SUFFIX
                        yield (os.path.join(path, name), archive.read(name),
                               archive.read(sidecar) if sidecar in names else None)
        else:
            try:
                with open(path, "rb") as f:
                    data: bytes | OSError = f.read()
            except OSError as exc:
                data = exc
            try:
                with open(path + SIDECAR_SUFFIX, "rb") as f:
                    yield path, data, f.read()
            except FileNotFoundError:
                yield path, data, None


def _progress(done: int, total: int, name: str) -> None:
    width = 30
    filled = width * done // total if total else width
    label = name if len(name) <= 40 else "..." + name[-37:]
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:40}",
          end="", file=sys.stderr, flush=True)


def _compile(args: argparse.Namespace) -> int:
    """Precompile every wasm module under the paths into the cache, like compileall."""
    if not _cache.enabled():
        print("error: the compile cache is disabled (WASMIMPORT_CACHE=0)", file=sys.stderr)
        return 1
    backend = get_backend(args.backend)
    sources = list(_sources(args.paths))
    bar = sys.stderr.isatty() and not args.quiet
    failed = 0
    for done, (name, data, sidecar) in enumerate(sources, 1):
        if bar:
            _progress(done - 1, len(sources), name)
        try:
            if isinstance(data, OSError):
                raise data
            manifest = None if sidecar is None else parse_manifest(sidecar,
                                                                   name + SIDECAR_SUFFIX)
            compile_only(data, name, manifest, backend)
        except (OSError, WasmImportError) as exc:
            failed += 1
            print(("\n" if bar else "") + f"error: {exc}", file=sys.stderr)
            continue
        if not bar and not args.quiet:
            print(f"compiled {name}")
    if bar:
        _progress(len(sources), len(sources), "done")
        print(file=sys.stderr)
    if not args.quiet:
        print(f"{len(sources) - failed} of {len(sources)} modules compiled into "
              f"{_cache.cache_dir()}")
    return 1 if failed else 0


_KINDS = ((_cache.SUFFIX, "compiled modules"), (_cache.MANIFEST_SUFFIX, "manifests"),
          (_cache.PLAN_SUFFIX, "plans"), (".tmp", "temporary files"))


def _cache_info(args: argparse.Namespace) -> int:
    directory = _cache.cache_dir()
    print(f"directory: {directory}")
    print(f"enabled:   {'yes' if _cache.enabled() else f'no ({_cache.CACHE_ENV}=0)'}")
    if not os.path.isdir(directory):
        print("entries:   none (the directory does not exist yet)")
        return 0
    if _cache.usable_dir(create=False) is None:
        print("trusted:   no (see the warning above); entries are ignored")
    counts = dict.fromkeys((kind for _, kind in _KINDS), 0)
    size = 0
    for entry in _cache.entries(directory):
        counts[next(kind for suffix, kind in _KINDS if entry.name.endswith(suffix))] += 1
        size += entry.stat().st_size
    listing = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "none"
    print(f"entries:   {listing}")
    print(f"size:      {size / 1e6:.1f} MB")
    return 0


def _cache_clear(args: argparse.Namespace) -> int:
    directory = _cache.cache_dir()
    removed = 0
    for entry in list(_cache.entries(directory)):
        try:
            os.unlink(entry.path)
            removed += 1
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
    print(f"removed {removed} entries from {directory}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m wasmimport",
                                     description="Import WebAssembly modules like C extensions.")
    parser.add_argument("--version", action="version", version=f"wasmimport {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    include = commands.add_parser("include", help="print the folder holding wasmimport.h",
                                  description="Print the folder holding wasmimport.h, for "
                                              "-I when compiling a guest.")
    include.set_defaults(run=_include)
    build = commands.add_parser(
        "build", help="compile C sources into a wasm module for wasmimport",
        description="Compile SRC files (C, with wasmimport.h on the include path) into OUT: "
                    "exported functions, no entry point (a WASI reactor with --wasi), the "
                    "stack below the data, optimised for size, debug info stripped (names "
                    "kept for backtraces). Uses clang + lld or the ziglang package, "
                    "whichever is present ($WASM_CC names another clang driver).")
    build.add_argument("sources", nargs="+", metavar="SRC", help="C source files")
    build.add_argument("-o", "--output", required=True, metavar="OUT", help="the .wasm to write")
    build.add_argument("--wasi", action="store_true",
                       help="link with wasi-libc, as a WASI reactor: the module imports "
                            "WASI (and needs a [wasi] grant) only for what reaches the system "
                            "(stdio, files, clocks, env); malloc, string.h and math.h need none")
    build.add_argument("--toolchain", choices=("auto", "clang", "zig"), default="auto",
                       help="which compiler (default: clang if present, else zig)")
    build.add_argument("-O", dest="optimize", default="s", metavar="LEVEL",
                       help="optimisation level: s (default), z, 2, 3, ...")
    build.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                       help="another include folder")
    build.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VALUE]",
                       help="a preprocessor definition")
    build.add_argument("--werror", action="store_true", help="make every warning an error")
    build.add_argument("--simd", action="store_true",
                       help="allow wasm SIMD128 (-msimd128: clang's vector code and "
                            "wasm_simd128.h); every engine wasmimport runs on has it")
    build.add_argument("--debug", action="store_true",
                       help="keep DWARF debug info (-g): tracebacks then show the guest's "
                            "source files and lines; it prints what that costs in size")
    build.add_argument("--cflag", action="append", default=[], metavar="FLAG",
                       help="another compiler or linker flag, given through as it is (write "
                            "--cflag=-fno-strict-aliasing, --cflag=-Wl,--export=NAME)")
    build.add_argument("--wit", metavar="WIT",
                       help="make OUT a WebAssembly component of this WIT world (a .wit file "
                            "or folder): wasm-tools embed + new, through Node.js and npm jco "
                            "(`make component-deps`; $WASMIMPORT_JCO names wasm_tools.mjs)")
    build.add_argument("--world", metavar="NAME",
                       help="which world of the WIT (needed when it has several)")
    build.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    build.set_defaults(run=_build)

    embed = commands.add_parser(
        "embed", help="write a manifest into a wasm file's 'wasmimport' custom section",
        description="Check MANIFEST against WASM and write a copy of WASM with the manifest "
                    "in its 'wasmimport' custom section (replacing any there), so that the "
                    "one file needs no sidecar.")
    embed.add_argument("wasm", metavar="WASM", help="the wasm module")
    embed.add_argument("manifest", metavar="MANIFEST", help="the manifest (TOML)")
    embed.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="where to write the module with the embedded manifest")
    embed.set_defaults(run=_embed)

    inspect = commands.add_parser(
        "inspect", help="show a module's imports, exports, manifest and problems",
        description="Show what FILE imports and exports (with core types), its manifest "
                    "(sidecar or embedded) and the Python functions it would get, and list "
                    "every problem an import would hit. Exits 1 when there are problems.")
    inspect.add_argument("file", metavar="FILE", help="a .wasm or .wat file")
    inspect.add_argument("--backend", help="the engine to validate with")
    inspect.set_defaults(run=_inspect)

    compile_ = commands.add_parser(
        "compile", help="precompile every wasm module under the paths into the cache",
        description="Compile every .wasm/.wat under PATH (folders are walked, zip archives "
                    "such as wheels are read) into the compile cache, like compileall does "
                    "for .py files, so that the first import is fast too. Exits 1 when a "
                    "module fails.")
    compile_.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or zips")
    compile_.add_argument("-q", "--quiet", action="store_true",
                          help="print only errors (no progress)")
    compile_.add_argument("--backend", help="the engine to compile for")
    compile_.set_defaults(run=_compile)

    stub = commands.add_parser(
        "stub", help="write a .pyi stub with the module's Python signatures",
        description="Write a .pyi type stub for FILE from its manifest, so that mypy and "
                    "IDEs know the functions' signatures (default: beside FILE).")
    stub.add_argument("file", metavar="FILE", help="a .wasm or .wat file")
    stub.add_argument("-o", "--output", metavar="OUT", help="where to write it ('-': stdout)")
    stub.add_argument("-q", "--quiet", action="store_true", help="do not say where it went")
    stub.add_argument("--backend", help="the engine to validate with")
    stub.set_defaults(run=_stub)

    for name, run, summary, description in (
            ("enable", _enable, "install the import hook at every start of this environment",
             f"Write {_activation.PTH_NAME} into this environment's site-packages, so that "
             "the import hook is installed when the interpreter starts: wasm modules then "
             "import without anyone calling wasmimport.install()."),
            ("disable", _disable, "undo enable",
             f"Remove {_activation.PTH_NAME} from this environment's site-packages.")):
        command = commands.add_parser(name, help=summary, description=description)
        command.add_argument("--user", action="store_true",
                             help="the user site-packages instead of the environment's")
        command.set_defaults(run=run)
    commands.add_parser(
        "status", help="say whether enable is in force",
        description=f"Say which {_activation.PTH_NAME} installs the hook at start-up, if "
                    "any, and whether it is installed in this process.").set_defaults(
        run=_status)

    cache = commands.add_parser("cache", help="show or clear the compile cache",
                                description="Show or clear the compile cache.")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True,
                                          metavar="ACTION")
    cache_commands.add_parser(
        "info", help="where the cache is and what it holds",
        description="Print the cache directory, whether it is enabled and trusted, and "
                    "what it holds.").set_defaults(run=_cache_info)
    cache_commands.add_parser(
        "clear", help="remove every cache entry",
        description="Remove every entry of the compile cache.").set_defaults(run=_cache_clear)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result
