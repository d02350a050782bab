"""``wasmimport._speedups``, the optional compiled extension: whether it is there, and
whether a module being built now should use it.  The call path (``_binding``) and the
wasmtime backend both ask."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def extension() -> Any:
    """``wasmimport._speedups`` (the compiled call path, host trampolines, the watchdog), or
    None when it was not built.  Looked up once: a call made while the interpreter shuts
    down (from a ``__del__``) can no longer import anything."""
    if not _EXTENSION:
        try:
            from . import _speedups
        except ImportError:
            _speedups = None   # type: ignore[assignment]
        _EXTENSION.append(_speedups)
    return _EXTENSION[0]


_EXTENSION: list[Any] = []


def speedups() -> Any:
    """The extension for a module being built now: None when it is not built, or when
    ``WASMIMPORT_PURE`` (anything but ``0`` or empty) asks to run as if it were not -- the
    pure-Python fallback, exactly as a machine without a C compiler runs it.  Read each
    time a module is built, so one process can hold modules of both kinds."""
    if os.environ.get("WASMIMPORT_PURE", "0") not in ("", "0"):
        return None
    return extension()


_CORE_CODES = {"i32": "i", "i64": "I", "f32": "f", "f64": "d"}


def core_codes(kinds: tuple[str, ...]) -> str:
    """Core value types as ``_speedups`` spells them: one letter each (i, I, f, d)."""
    return "".join(_CORE_CODES[kind] for kind in kinds)


def needs_extension(what: str) -> str:
    """The message refusing ``what`` on the pure-Python fallback."""
    why = ("WASMIMPORT_PURE is set" if extension() is not None
           else "it is not built: reinstall wasmimport on a machine with a C compiler")
    return f"{what} needs wasmimport's compiled extension (wasmimport._speedups), and {why}"
