"""`make demo`: import the two sample packages (installed as wheels) and call them."""

from __future__ import annotations

import inspect
import zlib

import numkit
import textkit


def main() -> None:
    print(f"textkit from {textkit._textkit.__file__}")
    print(f"  upper('héllo wörld')      -> {textkit.upper('héllo wörld')!r}")
    print(f"  slugify('Hello, World!')  -> {textkit.slugify('Hello, World!')!r}")
    print(f"  reverse('naïve 🐍')       -> {textkit.reverse('naïve 🐍')!r}")
    print(f"  count('banana', 'an')     -> {textkit.count('banana', 'an')}")
    print(f"numkit from {numkit._numkit.__file__}")
    data = b"The quick brown fox jumps over the lazy dog"
    print(f"  crc32(data)               -> {numkit.crc32(data):#010x} "
          f"(zlib: {zlib.crc32(data):#010x})")
    print(f"  mean([1.5, 2.5, 3.5])     -> {numkit.mean([1.5, 2.5, 3.5])}")
    print(f"  powmod(2, 10**18, 2**61-1) -> {numkit.powmod(2, 10**18, 2**61 - 1)}")
    print(f"  is_prime(2**61 - 1)       -> {numkit.is_prime(2**61 - 1)}")
    print(f"  signature of crc32        -> crc32{inspect.signature(numkit.crc32)}")
    try:
        numkit.div(1, 0)
    except RuntimeError as exc:   # wasmimport.Trap
        print(f"  div(1, 0) trapped         -> {type(exc).__name__}: {str(exc).splitlines()[0]}")
    try:
        numkit.gcd(-1, 2)
    except OverflowError as exc:
        print(f"  gcd(-1, 2)                -> OverflowError: {exc}")


if __name__ == "__main__":
    main()
