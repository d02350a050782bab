"""Import WebAssembly modules like C extension modules.

>>> import wasmimport
>>> wasmimport.install()
>>> import fastmath          # finds fastmath.wasm (+ fastmath.wasm.toml) on sys.path
>>> fastmath.add(2, 3)
5
"""

# The public names are looked up on first use (PEP 562), so that ``import wasmimport`` -- and
# the start-up hook of ``python -m wasmimport enable``, which imports this package in every
# interpreter of its environment -- costs only this file.
import sys

__version__ = "0.1.0"
__all__ = [
    "CacheWarning", "GuestError", "LimitExceeded", "ManifestError", "Trap", "TrapFrame",
    "WasiExit", "WasmImportError", "WasmLoader", "get_include", "install", "is_installed", "load",
    "uninstall",
]
_HOMES = {"CacheWarning": "_cache", "GuestError": "_errors", "LimitExceeded": "_errors",
          "ManifestError": "_errors", "Trap": "_errors", "TrapFrame": "_errors",
          "WasiExit": "_errors", "WasmImportError": "_errors", "WasmLoader": "_loader",
          "install": "_finder", "is_installed": "_finder", "load": "_loader",
          "uninstall": "_finder"}

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._cache import CacheWarning
    from ._errors import (
        GuestError,
        LimitExceeded,
        ManifestError,
        Trap,
        TrapFrame,
        WasiExit,
        WasmImportError,
    )
    from ._finder import install, is_installed, uninstall
    from ._loader import WasmLoader, load


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = f"{__name__}.{home}"
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value        # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def get_include() -> str:
    """The folder holding ``wasmimport.h``, for ``-I`` when compiling guests (like numpy's)."""
    import os
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
