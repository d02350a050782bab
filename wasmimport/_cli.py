"""The ``python -m wasmimport`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import __version__, get_include


def _include(args: argparse.Namespace) -> int:
    print(get_include())
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result
