"""numkit: checksums, statistics and integer math written in C and compiled to WebAssembly.

A wasmimport sample package: the functions live in ``_numkit.wasm`` and get their Python
signatures from the manifest ``_numkit.wasm.toml`` beside it.
"""

import wasmimport

wasmimport.install()

from numkit._numkit import (  # noqa: E402  (the import hook must be installed first)
    Summary,
    adler32,
    argmax,
    bytes_xor,
    crc32,
    cumsum,
    div,
    fib,
    fnv1a64,
    gcd,
    histogram,
    is_prime,
    isqrt,
    mean,
    powmod,
    scale,
    sum_i64,
    summary,
    total,
    variance,
)

__all__ = [
    "adler32",
    "argmax",
    "bytes_xor",
    "crc32",
    "cumsum",
    "div",
    "fib",
    "fnv1a64",
    "gcd",
    "histogram",
    "is_prime",
    "isqrt",
    "mean",
    "powmod",
    "Summary",
    "scale",
    "sum_i64",
    "summary",
    "total",
    "variance",
]
