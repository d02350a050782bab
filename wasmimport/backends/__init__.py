"""The wasm engines behind one interface (``_base``), and how one is chosen.

One module per engine: ``_wasmtime`` (libwasmtime's C API through ctypes, the default) and
``_wasmer`` (the wasmer package, CPython 3.10).  Each is imported only when chosen.
"""

from __future__ import annotations

import os
import sys

from .._errors import WasmImportError
from ._base import FEATURES as FEATURES
from ._base import Backend as Backend
from ._base import BackendError as BackendError
from ._base import CompiledModule as CompiledModule
from ._base import Instance as Instance
from ._base import Memory as Memory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._base import RawFunction as RawFunction


_BACKENDS: dict[str, Backend] = {}
# name -> (module, class, how to install its engine, the newest Python the engine supports)
_NAMES: dict[str, tuple[str, str, str, tuple[int, int] | None]] = {
    "wasmtime": ("_wasmtime", "WasmtimeBackend", "pip install wasmtime", None),
    "wasmer": ("_wasmer", "WasmerBackend", "pip install 'wasmimport[wasmer]'",
               (3, 10)),
    "js": ("_js", "JsBackend", "run under Pyodide", None),
}
# the engine a machine has: on Pyodide the JavaScript engine's own WebAssembly
_DEFAULT = "js" if sys.platform == "emscripten" else "wasmtime"


def get_backend(name: str | None = None) -> Backend:
    """The backend called ``name`` (default: ``$WASMIMPORT_BACKEND`` or wasmtime).

    Raises WasmImportError (an ImportError) when there is no such backend, or when its
    engine is not installed or cannot run on this Python, saying what to do.
    """
    name = name or os.environ.get("WASMIMPORT_BACKEND") or _DEFAULT
    known = _BACKENDS.get(name)
    if known is not None:
        return known
    if name not in _NAMES:
        raise WasmImportError(f"unknown wasmimport backend {name!r} (available: "
                              f"{', '.join(_NAMES)})")
    module, cls, install, newest = _NAMES[name]
    try:
        qualified = f"{__package__}.{module}"
        __import__(qualified)      # not importlib.import_module: importlib costs an import
        found = sys.modules[qualified]
    except ImportError as exc:
        if "does not support loading in subinterpreters" in str(exc):
            # Python 3.12's ctypes (which every engine binding uses) is single-phase
            hint = ("an isolated subinterpreter (one with its own GIL) cannot load ctypes on "
                    f"Python {sys.version_info[0]}.{sys.version_info[1]}: use Python 3.13 or "
                    "newer, or a subinterpreter that shares the main interpreter's GIL")
        elif "subinterpreter" in str(exc):
            hint = "use the wasmtime backend in subinterpreters"
        elif newest is not None and sys.version_info[:2] > newest:
            hint = (f"its engine publishes wheels only for Python {newest[0]}.{newest[1]} and "
                    f"older, and this is Python {sys.version_info[0]}.{sys.version_info[1]}: "
                    f"run under Python {newest[0]}.{newest[1]} (then {install}), or use the "
                    "wasmtime backend")
        else:
            hint = f"install it: {install}"
        raise WasmImportError(f"the {name} backend is not available ({exc}); {hint}") from exc
    backend: Backend = getattr(found, cls)()
    _BACKENDS[name] = backend
    return backend
