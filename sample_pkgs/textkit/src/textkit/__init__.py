"""textkit: UTF-8 string helpers written in C and compiled to WebAssembly.

A wasmimport sample package: the functions live in ``_textkit.wasm`` and get their Python
signatures from the manifest ``_textkit.wasm.toml`` beside it.
"""

import wasmimport

wasmimport.install()

from textkit._textkit import (  # noqa: E402  (the import hook must be installed first)
    char_count,
    count,
    is_palindrome,
    lower,
    reverse,
    slugify,
    swapcase,
    upper,
    word_count,
)

__all__ = [
    "char_count",
    "count",
    "is_palindrome",
    "lower",
    "reverse",
    "slugify",
    "swapcase",
    "upper",
    "word_count",
]
