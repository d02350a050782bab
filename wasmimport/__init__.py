"""Import WebAssembly modules like C extension modules.

>>> import wasmimport
>>> wasmimport.install()
>>> import fastmath          # finds fastmath.wasm (+ fastmath.wasm.toml) on sys.path
>>> fastmath.add(2, 3)
5
"""

from __future__ import annotations

import os

from ._cache import CacheWarning
from ._errors import GuestError, LimitExceeded, ManifestError, Trap, TrapFrame, WasmImportError
from ._finder import install, is_installed, uninstall
from ._loader import WasmLoader, load

__version__ = "0.1.0"
__all__ = [
    "CacheWarning", "GuestError", "LimitExceeded", "ManifestError", "Trap", "TrapFrame",
    "WasmImportError", "WasmLoader", "get_include", "install", "is_installed", "load",
    "uninstall",
]


def get_include() -> str:
    """The folder holding ``wasmimport.h``, for ``-I`` when compiling guests (like numpy's)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
