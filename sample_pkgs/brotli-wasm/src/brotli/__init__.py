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

# Decompress a compressed byte string.
decompress = _brotli.decompress

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
    return compressor.process(string) + compressor.finish()  # type: ignore[no-any-return]
