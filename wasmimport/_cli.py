"""The ``python -m wasmimport`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__, get_include
from ._errors import WasmImportError
from ._manifest import EMBEDDED_SECTION, parse_manifest
from ._plan import plan_module
from ._wasmbin import WasmFormatError, read_module, with_custom_section


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
    tmp = f"{args.output}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, args.output)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result
