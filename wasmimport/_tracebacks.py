"""Guest frames in Python tracebacks.

When a call traps, or a host function's exception passes back through guest code, each wasm
frame on the stack becomes a frame of the exception's ``__traceback__``, so that
``traceback``, pytest and IDEs show ``File "src/foo.c", line 12, in foo`` (with the source
line) between the Python caller and, for a callback, the host function's own frames.  A
frame is a real Python frame: a one-line code object whose file, name and first line are the
guest location's, run once per location and cached, then linked into each traceback with
``types.TracebackType``.  With DWARF (``clang -g``) the locations are source lines, inlined
calls included; without it (or without pyelftools) the frame is the wasm function's name in
the module's file, at line 0.

Nothing here runs before the first traceback: backends call ``with_guest_frames`` only on
the way out of a failed call, and this module is imported then.
"""

from __future__ import annotations

import linecache
import os
import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._digest import sha256
from ._dwarf import Location, SourceMap

if TYPE_CHECKING:
    from ._errors import TrapFrame
    from .backends._base import GuestCode

_RAISE = compile("raise __wasmimport_frame__", "<wasm>", "exec")
_NO_PYELFTOOLS = ("the module has DWARF debug info; install pyelftools (wasmimport[debug]) to "
                  "see guest source lines")
_CHANGED = ("{origin} changed since it was imported: its guest frames are shown without "
            "source lines")
_PACKAGE = os.path.dirname(__file__) + os.sep
_TRAMPOLINE = _PACKAGE + "_host.py"


class _Marker(Exception):
    """Raised by a location's code object to obtain its frame."""


class GuestSource:
    """One module's locations: read from its DWARF the first time a traceback needs them."""

    def __init__(self, code: GuestCode):
        self.origin, self._wasm, self._read = code.origin, code.wasm, code.read
        self._digest = code.digest
        self._map: SourceMap | None = None
        self.note: str | None = None     # why there are no source lines, when it is not plain
        self._files: dict[str, str] = {}
        self._frames: dict[Location, tuple[types.FrameType, int, int]] = {}

    def source_map(self) -> SourceMap:
        if self._map is None:
            self._map = SourceMap(b"")    # names only, unless all of the below holds
            try:
                data = self._wasm()
            except OSError:               # the file went away since the import
                self.note = _CHANGED.format(origin=self.origin)
                return self._map
            if sha256(data) != self._digest:
                self.note = _CHANGED.format(origin=self.origin)
                return self._map
            try:
                self._map = SourceMap(data)
            except ImportError:           # no pyelftools
                self.note = _NO_PYELFTOOLS
        return self._map

    def locations(self, frame: TrapFrame) -> list[Location]:
        """The Python-visible frames of one wasm frame, innermost first."""
        found = self.source_map().locate(frame.offset)
        if found:
            return [(name, self._source_file(file), line) for name, file, line in found]
        name = frame.function or f"wasm-function[{frame.func_index}]"
        return [(name, self._wasm_file(), 0)]

    def frame(self, location: Location) -> tuple[types.FrameType, int, int]:
        """A finished Python frame standing for ``location``, with its lasti and line."""
        made = self._frames.get(location)
        if made is None:
            name, file, line = location
            fields: dict[str, Any] = {"co_filename": file, "co_name": name,
                                      "co_firstlineno": line}
            if hasattr(_RAISE, "co_qualname"):
                fields["co_qualname"] = name
            code = _without_columns(_RAISE.replace(**fields))
            scope = {"__name__": os.path.basename(self.origin), "__wasmimport_frame__": _Marker}
            try:
                exec(code, scope)  # noqa: S102 - our own one-line code, for its frame
            except _Marker as exc:
                tb = exc.__traceback__.tb_next  # type: ignore[union-attr]
                assert tb is not None
                made = (tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
                del scope["__wasmimport_frame__"]
            self._frames[location] = made  # type: ignore[assignment]
        return made  # type: ignore[return-value]

    def _wasm_file(self) -> str:
        """The module's path, with linecache told it has no text lines to show."""
        if self.origin not in linecache.cache:
            linecache.cache[self.origin] = (0, None, [], self.origin)
        return self.origin

    def _source_file(self, path: str) -> str:
        """The path to show for a DWARF source file: itself where it exists, else the file
        of that name beside the module (in a zip too), its lines given to linecache."""
        shown = self._files.get(path)
        if shown is None:
            shown = path
            if not os.path.exists(path) and self._read is not None:
                beside = os.path.join(os.path.dirname(self.origin), os.path.basename(path))
                try:
                    text = self._read(beside).decode("utf-8", "replace")
                except OSError:
                    pass
                else:
                    shown = beside
                    lines = text.splitlines(keepends=True)
                    linecache.cache[beside] = (len(text), None, lines, beside)
            self._files[path] = shown
        return shown


def _without_columns(code: types.CodeType) -> types.CodeType:
    """``code`` with its lines and no columns (3.11+ location table entries of kind 13), so
    that tracebacks put no carets under a guest's source line."""
    if not hasattr(code, "co_positions"):
        return code                          # 3.10: lines only already
    units = len(code.co_code) // 2
    table = bytearray()
    while units:
        n = min(units, 8)
        table += bytes((0x80 | 13 << 3 | (n - 1), 0))   # line delta 0, as a signed varint
        units -= n
    return code.replace(co_linetable=bytes(table))


def _host_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The host function's own part of ``tb``: what follows wasmimport's host-call trampoline
    (``_host.py``; a JS engine's frames and the backend's come before it), else ``tb``
    without its head frames in wasmimport."""
    at = tb
    while at is not None:
        if at.tb_frame.f_code.co_filename == _TRAMPOLINE:
            return at.tb_next
        at = at.tb_next
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE):
        tb = tb.tb_next
    return tb


def with_guest_frames(exc: BaseException, frames: Iterable[TrapFrame],
                      code: GuestCode) -> BaseException:
    """``exc`` with one traceback frame per guest frame (``frames`` innermost first) in
    front of the traceback it has, so that the guest's frames sit between the caller and
    any host function's frames."""
    tb = _host_frames(exc.__traceback__)
    frames = tuple(frames)
    if frames:
        source = code.source
        if source is None:
            source = code.source = GuestSource(code)
        for frame in frames:
            for location in source.locations(frame):
                made, lasti, line = source.frame(location)
                tb = types.TracebackType(tb, made, lasti, line)
        if source.note is not None and hasattr(exc, "add_note"):
            exc.add_note(source.note)
    return exc.with_traceback(tb)
