"""Brotli compiled to WebAssembly: a drop-in for the ``brotli`` C extension (its 1.2.1 API).

Brotli's own C library, from the pinned ``brotli`` sdist, runs as ``_brotli.wasm``; its
manifest makes the Compressor and Decompressor classes (guest objects, dropped exactly once)
and raises ``brotli.error`` as the C extension does.  What is Python here is what is Python
in the original package too (``brotli.py``): the constants, ``compress`` and the error class.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import wasmimport


class error(Exception):  # noqa: N801 - the C extension's name
    """Raised if compression or decompression fails."""


# loaded without the import hook, so importing brotli changes nothing else in the process
_brotli: Any = wasmimport.load(os.path.join(os.path.dirname(__file__), "_brotli.wasm"),
                               name=f"{__name__}._brotli")
sys.modules[_brotli.__name__] = _brotli

_v = _brotli._version()
# The library version.
version = __version__ = f"{_v >> 24}.{(_v >> 12) & 0xFFF}.{_v & 0xFFF}"

# The compression mode.
MODE_GENERIC = 0
MODE_TEXT = 1
MODE_FONT = 2

# The Compressor and Decompressor objects.
Compressor = _brotli.Compressor
Decompressor = _brotli.Decompressor

__all__ = ["Compressor", "Decompressor", "MODE_FONT", "MODE_GENERIC", "MODE_TEXT",
           "compress", "decompress", "error", "version"]


def compress(string: Any, mode: int = MODE_GENERIC, quality: int = 11, lgwin: int = 22,
             lgblock: int = 0) -> bytes:
    """Compress a byte string.

    Args:
      string (bytes): The input data.
      mode (int, optional): The compression mode; MODE_GENERIC (0, default), MODE_TEXT (1,
        for UTF-8 text) or MODE_FONT (2, for WOFF 2.0).
      quality (int, optional): The compression-speed vs compression-density tradeoff,
        0 to 11 (default 11).
      lgwin (int, optional): Base 2 logarithm of the sliding window size, 10 to 24
        (default 22).
      lgblock (int, optional): Base 2 logarithm of the maximum input block size, 16 to 24,
        or 0 (default) to choose it from the quality.

    Returns:
      The compressed byte string.

    Raises:
      brotli.error: If arguments are invalid, or compressor fails.
    """
    compressor = Compressor(mode=mode, quality=quality, lgwin=lgwin, lgblock=lgblock)
    pieces = _pieces(string)
    if pieces is None:
        return compressor.process(string) + compressor.finish()  # type: ignore[no-any-return]
    return b"".join([*map(compressor.process, pieces), compressor.finish()])


def decompress(string: Any) -> bytes:
    """Decompress a compressed byte string.

    Args:
      string (bytes): The compressed input data.

    Returns:
      The decompressed byte string.

    Raises:
      brotli.error: If decompressor fails.
    """
    pieces = _pieces(string)
    if pieces is None:
        try:
            return _one_shot(string)  # type: ignore[no-any-return]
        except error as exc:
            if exc.args != (_NO_MEMORY,):
                raise
        pieces = [string]         # the output is what does not fit
    decompressor = Decompressor()
    out = []
    for piece in pieces:
        out.append(decompressor.process(piece, output_buffer_limit=_PIECE))
        while not decompressor.can_accept_more_data():
            out.append(decompressor.process(b"", output_buffer_limit=_PIECE))
    while not decompressor.is_finished():          # the output still held back
        more = decompressor.process(b"", output_buffer_limit=_PIECE)
        if not more:
            raise error("brotli: decoder failed")  # truncated: as the one-shot call says
        out.append(more)
    return b"".join(out)


# One call's data and result must fit in the guest's memory, of a fixed 2 GiB (see the
# package's README); compress() and decompress() take larger ones through a Compressor or
# Decompressor, _PIECE bytes a call, as the C extension takes any size.
_PIECE = 1 << 28
_NO_MEMORY = "brotli: unable to allocate memory"
_one_shot = _brotli.decompress


def _pieces(data: Any) -> list[memoryview] | None:
    """``data`` cut into _PIECE-byte views when it is a buffer larger than that, else None
    (one call takes it, and raises for what is no buffer)."""
    try:
        view = memoryview(data)
    except TypeError:
        return None
    if view.nbytes <= _PIECE or not view.c_contiguous:
        return None
    view = view.cast("B")
    return [view[start:start + _PIECE] for start in range(0, len(view), _PIECE)]
