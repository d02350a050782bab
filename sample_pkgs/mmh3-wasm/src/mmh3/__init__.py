"""A Python front-end to MurmurHash3, compiled to WebAssembly.

A drop-in for the ``mmh3`` C extension (the API of mmh3 5.x): the same functions, hasher
classes, results and exception types, from one ``py3-none-any`` wheel.  The hashing is
MurmurHash3 x86_32, x86_128 and x64_128 in C (``csrc/murmur.c``) compiled to
``_murmur.wasm``, whose manifest binds mmh3's functions and hasher classes with mmh3's
argument rules; they are re-exported here as they are.  This module adds only what a
manifest cannot say: how a key larger than the guest's 32-bit memory is hashed (in pieces,
by a hasher: the manifest's ``oversize``), the results that are 128-bit integers,
``hash64``'s result type chosen by ``signed``, and the hashers' class attributes.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Any

import wasmimport

# loaded without the import hook, so importing mmh3 changes nothing else in the process
_murmur: Any = wasmimport.load(os.path.join(os.path.dirname(__file__), "_murmur.wasm"),
                               name=f"{__name__}._murmur")
sys.modules[_murmur.__name__] = _murmur

__all__ = [
    "hash", "hash64", "hash128", "hash_bytes", "hash_from_buffer",
    "mmh3_32_digest", "mmh3_32_sintdigest", "mmh3_32_uintdigest",
    "mmh3_x64_128_digest", "mmh3_x64_128_sintdigest", "mmh3_x64_128_uintdigest",
    "mmh3_x64_128_stupledigest", "mmh3_x64_128_utupledigest",
    "mmh3_x86_128_digest", "mmh3_x86_128_sintdigest", "mmh3_x86_128_uintdigest",
    "mmh3_x86_128_stupledigest", "mmh3_x86_128_utupledigest",
    "mmh3_32", "mmh3_x64_128", "mmh3_x86_128",
]

# the guest's bindings, as they are
mmh3_32 = _murmur.mmh3_32
mmh3_x64_128 = _murmur.mmh3_x64_128
mmh3_x86_128 = _murmur.mmh3_x86_128


# A key that guest memory cannot take makes a binding's call go to its manifest's
# `oversize`: the function of the same name here, which feeds the key to a hasher in pieces
# of _CHUNK bytes (the same digest).
_CHUNK = 1 << 24


def _stream(cls: Any, key: Any, seed: Any, finish: str) -> Any:
    """The hash of a key of any size: a hasher ``cls`` fed piece by piece, then its
    ``finish`` method."""
    data = memoryview(key.encode() if isinstance(key, str) else key).cast("B")
    hasher = cls(seed=seed)
    for start in range(0, len(data), _CHUNK):
        hasher.update(data[start:start + _CHUNK])
    return getattr(hasher, finish)()


def _signed_pieces(key: Any, seed: int = 0, signed: Any = True) -> int:
    """hash() and hash_from_buffer() of a key too large for the guest."""
    return _stream(mmh3_32, key, seed,  # type: ignore[no-any-return]
                   "sintdigest" if signed else "uintdigest")


def _arch_pieces(finish: str) -> Any:
    """hash_bytes() and hash64's bindings (key, seed=0, x64arch=True) for such a key."""
    def pieces(key: Any, seed: int = 0, x64arch: Any = True) -> Any:
        return _stream(mmh3_x64_128 if x64arch else mmh3_x86_128, key, seed, finish)
    return pieces


def _digest_pieces(cls: Any, finish: str) -> Any:
    """A digest function (key, seed=0, /) for such a key."""
    def pieces(key: Any, seed: int = 0, /) -> Any:
        return _stream(cls, key, seed, finish)
    return pieces


def _update_pieces(self: Any, data: Any, /) -> None:
    """A hasher's update() with such data."""
    view = memoryview(data).cast("B")
    for start in range(0, len(view), _CHUNK):
        self.update(view[start:start + _CHUNK])


_in_pieces = SimpleNamespace(
    update=_update_pieces, hash=_signed_pieces, hash_from_buffer=_signed_pieces,
    hash_bytes=_arch_pieces("digest"), _hash64_signed=_arch_pieces("stupledigest"),
    _hash64_unsigned=_arch_pieces("utupledigest"),
    **{f"mmh3_32_{finish}": _digest_pieces(mmh3_32, finish)
       for finish in ("digest", "sintdigest", "uintdigest")},
    **{f"mmh3_{arch}_{finish}": _digest_pieces(cls, finish)
       for arch, cls in (("x64_128", mmh3_x64_128), ("x86_128", mmh3_x86_128))
       for finish in ("digest", "stupledigest", "utupledigest")})

# the guest's bindings, as they are
hash = _murmur.hash  # noqa: A001 - mmh3's name
hash_from_buffer = _murmur.hash_from_buffer
hash_bytes = _murmur.hash_bytes
_hash64 = {True: _murmur._hash64_signed, False: _murmur._hash64_unsigned}
mmh3_32_digest = _murmur.mmh3_32_digest
mmh3_32_sintdigest = _murmur.mmh3_32_sintdigest
mmh3_32_uintdigest = _murmur.mmh3_32_uintdigest
mmh3_x64_128_digest = _murmur.mmh3_x64_128_digest
mmh3_x64_128_stupledigest = _murmur.mmh3_x64_128_stupledigest
mmh3_x64_128_utupledigest = _murmur.mmh3_x64_128_utupledigest
mmh3_x86_128_digest = _murmur.mmh3_x86_128_digest
mmh3_x86_128_stupledigest = _murmur.mmh3_x86_128_stupledigest
mmh3_x86_128_utupledigest = _murmur.mmh3_x86_128_utupledigest
_from_bytes = int.from_bytes


def hash64(key: bytes | str, seed: int = 0, x64arch: Any = True,
           signed: Any = True) -> tuple[int, int]:
    """hash64(key, seed=0, x64arch=True, signed=True) -> tuple[int, int]

    Return the 128-bit MurmurHash3 of key as two 64-bit integers (low, high): x64_128, or
    x86_128 if x64arch is false; signed unless signed is false.
    """
    return _hash64[not not signed](key, seed, x64arch)  # type: ignore[no-any-return]


def hash128(key: bytes | str, seed: int = 0, x64arch: Any = True,
            signed: Any = False) -> int:
    """hash128(key, seed=0, x64arch=True, signed=False) -> int

    Return the 128-bit MurmurHash3 of key (x64_128, or x86_128 if x64arch is false) as an
    unsigned 128-bit integer, or a signed one if signed is true.
    """
    return _from_bytes(hash_bytes(key, seed, x64arch), "little", signed=not not signed)


def _int_digests(arch: str, digest: Any) -> tuple[Any, Any]:
    """A 128-bit variant's digest as a signed and as an unsigned int, from its bytes."""
    def sintdigest(key: Any, seed: int = 0, /) -> int:
        return _from_bytes(digest(key, seed), "little", signed=True)

    def uintdigest(key: Any, seed: int = 0, /) -> int:
        return _from_bytes(digest(key, seed), "little")

    for fn, what in ((sintdigest, "a signed"), (uintdigest, "an unsigned")):
        fn.__name__ = fn.__qualname__ = f"mmh3_{arch}_{fn.__name__}"
        fn.__doc__ = (f"{fn.__name__}(key, seed=0, /) -> int\n\n"
                      f"Return the MurmurHash3_{arch} digest of a buffer as {what} 128-bit "
                      "integer.")
    return sintdigest, uintdigest


mmh3_x64_128_sintdigest, mmh3_x64_128_uintdigest = _int_digests("x64_128",
                                                                mmh3_x64_128_digest)
mmh3_x86_128_sintdigest, mmh3_x86_128_uintdigest = _int_digests("x86_128",
                                                                mmh3_x86_128_digest)


# ---- the hashers: the manifest's resource classes, with mmh3's attributes ----------------

def _sintdigest(self: Any) -> int:
    """The digest so far as a signed 128-bit integer."""
    return _from_bytes(self.digest(), "little", signed=True)


def _uintdigest(self: Any) -> int:
    """The digest so far as an unsigned 128-bit integer."""
    return _from_bytes(self.digest(), "little")


def _final(cls: type, **kwargs: Any) -> None:
    raise TypeError(f"type 'mmh3.{cls.__mro__[1].__name__}' is not an acceptable base type")


for _cls, _digest_size, _block_size in ((mmh3_32, 4, 12), (mmh3_x64_128, 16, 32),
                                        (mmh3_x86_128, 16, 32)):
    _cls.name = _cls.__name__
    _cls.digest_size, _cls.block_size = _digest_size, _block_size
    _cls.__init_subclass__ = classmethod(_final)   # mmh3's hasher types are final
    if _digest_size == 16:
        _cls.sintdigest, _cls.uintdigest = _sintdigest, _uintdigest
del _cls, _digest_size, _block_size
