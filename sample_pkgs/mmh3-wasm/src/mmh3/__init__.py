"""A Python front-end to MurmurHash3, compiled to WebAssembly.

A drop-in for the ``mmh3`` C extension (the API of mmh3 5.x): the same functions, hasher
classes, results and exception types, from one ``py3-none-any`` wheel.  The hashing is
MurmurHash3 x86_32, x86_128 and x64_128 in C (``csrc/murmur.c``) compiled to
``_murmur.wasm``, whose manifest gives each export its Python types.  This module only
checks arguments the way mmh3 does and picks the binding (bytes or str key, signed or
unsigned result); the hashers' state lives in the guest.
"""

from __future__ import annotations

import os
import struct
import sys
from operator import index
from typing import Any, final

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

_PACK128 = struct.Struct("<QQ").pack
_SEED_MAX = 0xFFFFFFFF
_OUT_OF_RANGE = "seed is out of range"
# Keys up to this size are copied into the guest whole; longer ones (up to any size: the
# guest's memory is 32-bit) are streamed through a guest-side hasher, chunk by chunk.
_CHUNK = 1 << 24
_KINDS = {"x86_32": 0, "x86_128": 1, "x64_128": 2}   # hasher_new's kinds (murmur.c)

# the bindings, by (x64arch, signed) and by key type
_s32, _u32 = _murmur._s32, _murmur._u32
_x64_128_u, _x86_128_u = _murmur._x64_128_u, _murmur._x86_128_u
_2_128 = 1 << 128
_B32 = {True: _s32, False: _u32}
_S32 = {True: _murmur._s32_str, False: _murmur._u32_str}
_B128 = {(True, True): _murmur._x64_128_s, (True, False): _x64_128_u,
         (False, True): _murmur._x86_128_s, (False, False): _x86_128_u}
_S128 = {(True, True): _murmur._x64_128_s_str, (True, False): _murmur._x64_128_u_str,
         (False, True): _murmur._x86_128_s_str, (False, False): _murmur._x86_128_u_str}


def _key_error(key: object) -> TypeError:
    return TypeError(f"argument 1 must be read-only bytes-like object, not "
                     f"'{type(key).__name__}'")


def _int_error(seed: object) -> TypeError:
    return TypeError(f"'{type(seed).__name__}' object cannot be interpreted as an integer")


def _seed(seed: Any) -> int:
    """mmh3's check of a seed: an int (not merely an index) from 0 to 2**32 - 1."""
    if not isinstance(seed, int):
        raise _int_error(seed)
    if not 0 <= seed <= _SEED_MAX:
        raise ValueError(_OUT_OF_RANGE)
    return seed


def _indexed_seed(seed: Any) -> int:
    """The seed check of hash_from_buffer and the hashers (any integer-like object)."""
    value: int = index(seed)
    if not 0 <= value <= _SEED_MAX:
        raise ValueError(_OUT_OF_RANGE)
    return value


def _nbytes(key: Any) -> int:
    """The size of a key in bytes (0 for what is no buffer: its binding raises TypeError)."""
    if key.__class__ is bytes:
        return len(key)
    if isinstance(key, str):
        return len(key) * 4           # at most; only compared with _CHUNK
    try:
        return memoryview(key).nbytes
    except TypeError:
        return 0


def _streamed(arch: str, key: Any, seed: int) -> tuple[int, int]:
    """The digest (low, high, unsigned) of a key too large to copy into the guest at once."""
    data = memoryview(key.encode() if isinstance(key, str) else key).cast("B")
    handle = _murmur._hasher_new(_KINDS[arch], seed)
    try:
        for start in range(0, len(data), _CHUNK):
            _murmur._hasher_update(handle, data[start:start + _CHUNK])
        return _murmur._hasher_digest(handle)  # type: ignore[no-any-return]
    finally:
        _murmur._hasher_free(handle)


def _int32(value: int, signed: Any) -> int:
    return value - (1 << 32) if signed and value >> 31 else value


def _int128(digest: tuple[int, int], signed: Any) -> int:
    low, high = digest
    value = low | high << 64
    return value - (1 << 128) if signed and high >> 63 else value


def hash(key: bytes | str, seed: int = 0, signed: Any = True) -> int:  # noqa: A001
    """hash(key, seed=0, signed=True) -> int

    Return the MurmurHash3_x86_32 hash of key (bytes, or str hashed as UTF-8) as a signed
    32-bit integer, or an unsigned one if signed is false.  The seed must be an int in
    [0, 0xFFFFFFFF].
    """
    # the common case in as few bytecodes as possible: mmh3's own call costs ~16 ns
    if key.__class__ is bytes and seed.__class__ is int and 0 <= seed <= _SEED_MAX \
            and len(key) <= _CHUNK:
        return (_s32 if signed else _u32)(key, seed)  # type: ignore[no-any-return]
    if not isinstance(key, (bytes, str)):
        raise _key_error(key)
    return _hash32(key, _seed(seed), signed)


def _hash32(key: Any, seed: int, signed: Any) -> int:
    """x86_32 of any key, checked (streamed when it is large)."""
    if _nbytes(key) > _CHUNK:
        return _int32(_streamed("x86_32", key, seed)[0], signed)
    return (_S32 if isinstance(key, str) else _B32)[bool(signed)](  # type: ignore[no-any-return]
        key, seed)


def hash_from_buffer(key: Any, seed: int = 0, signed: Any = True) -> int:
    """hash_from_buffer(key, seed=0, signed=True) -> int

    Return the MurmurHash3_x86_32 hash of a buffer (any C-contiguous one, such as a NumPy
    array; a str is hashed as UTF-8), signed or unsigned as for hash().

    .. deprecated:: 5.0.0
        Use ``mmh3_32_sintdigest()`` or ``mmh3_32_uintdigest()`` instead.
    """
    return _hash32(key, _indexed_seed(seed), signed)


def _hash128(key: Any, seed: Any, x64arch: Any, signed: bool = False) -> tuple[int, int]:
    """The 128-bit hash of a bytes or str key as (low, high), checked, signed or not."""
    if isinstance(key, bytes):
        fn = _B128[bool(x64arch), signed]
    elif isinstance(key, str):
        fn = _S128[bool(x64arch), signed]
    else:
        raise _key_error(key)
    seed = _seed(seed)
    if _nbytes(key) > _CHUNK:
        return _tuple128(_streamed("x64_128" if x64arch else "x86_128", key, seed), signed)
    return fn(key, seed)  # type: ignore[no-any-return]


def _tuple128(digest: tuple[int, int], signed: bool) -> tuple[int, int]:
    if not signed:
        return digest
    return tuple(v - (1 << 64) if v >> 63 else v for v in digest)  # type: ignore[return-value]


def hash64(key: bytes | str, seed: int = 0, x64arch: Any = True,
           signed: Any = True) -> tuple[int, int]:
    """hash64(key, seed=0, x64arch=True, signed=True) -> tuple[int, int]

    Return the 128-bit MurmurHash3 of key as two 64-bit integers (low, high): x64_128, or
    x86_128 if x64arch is false; signed unless signed is false.
    """
    return _hash128(key, seed, x64arch, bool(signed))


def hash128(key: bytes | str, seed: int = 0, x64arch: Any = True,
            signed: Any = False) -> int:
    """hash128(key, seed=0, x64arch=True, signed=False) -> int

    Return the 128-bit MurmurHash3 of key (x64_128, or x86_128 if x64arch is false) as an
    unsigned 128-bit integer, or a signed one if signed is true.
    """
    if key.__class__ is bytes and seed.__class__ is int and 0 <= seed <= _SEED_MAX \
            and len(key) <= _CHUNK:
        low, high = (_x64_128_u if x64arch else _x86_128_u)(key, seed)
    else:
        low, high = _hash128(key, seed, x64arch)
    value = low | high << 64
    return value - _2_128 if signed and high >> 63 else value


def hash_bytes(key: bytes | str, seed: int = 0, x64arch: Any = True) -> bytes:
    """hash_bytes(key, seed=0, x64arch=True) -> bytes

    Return the 128-bit MurmurHash3 of key (x64_128, or x86_128 if x64arch is false) as 16
    bytes, little endian.
    """
    return _PACK128(*_hash128(key, seed, x64arch))


# ---- the digest functions: a buffer key (not str), positional arguments -----------------

def _buffer(arch: str, binding: Any, key: Any, seed: Any) -> Any:
    """A digest function's binding called on a buffer key (streamed when it is large)."""
    seed = _seed(seed)
    if not isinstance(key, str) and _nbytes(key) > _CHUNK:
        return _streamed(arch, key, seed)
    return binding(key, seed)


def mmh3_32_digest(key: Any, seed: int = 0, /) -> bytes:
    """mmh3_32_digest(key, seed=0, /) -> bytes

    Return the MurmurHash3_x86_32 digest of a buffer: 4 bytes, little endian.
    """
    return mmh3_32_uintdigest(key, seed).to_bytes(4, "little")


def mmh3_32_sintdigest(key: Any, seed: int = 0, /) -> int:
    """mmh3_32_sintdigest(key, seed=0, /) -> int

    Return the MurmurHash3_x86_32 digest of a buffer as a signed 32-bit integer.
    """
    return _int32(mmh3_32_uintdigest(key, seed), True)


def mmh3_32_uintdigest(key: Any, seed: int = 0, /) -> int:
    """mmh3_32_uintdigest(key, seed=0, /) -> int

    Return the MurmurHash3_x86_32 digest of a buffer as an unsigned 32-bit integer.
    """
    value = _buffer("x86_32", _murmur._u32, key, seed)
    return value[0] if isinstance(value, tuple) else value  # type: ignore[no-any-return]


def _digests128(arch: str) -> tuple[Any, ...]:
    """The five digest functions of one 128-bit variant, over its two bindings."""
    unsigned = getattr(_murmur, f"_{arch}_u")
    name = f"MurmurHash3_{arch}"

    def digest(key: Any, seed: int = 0, /) -> bytes:
        return _PACK128(*_buffer(arch, unsigned, key, seed))

    def sintdigest(key: Any, seed: int = 0, /) -> int:
        return _int128(_buffer(arch, unsigned, key, seed), True)

    def uintdigest(key: Any, seed: int = 0, /) -> int:
        return _int128(_buffer(arch, unsigned, key, seed), False)

    def stupledigest(key: Any, seed: int = 0, /) -> tuple[int, int]:
        return _tuple128(_buffer(arch, unsigned, key, seed), True)

    def utupledigest(key: Any, seed: int = 0, /) -> tuple[int, int]:
        return _buffer(arch, unsigned, key, seed)  # type: ignore[no-any-return]

    docs = {digest: "bytes", sintdigest: "int", uintdigest: "int",
            stupledigest: "tuple[int, int]", utupledigest: "tuple[int, int]"}
    what = {digest: "16 bytes, little endian", sintdigest: "a signed 128-bit integer",
            uintdigest: "an unsigned 128-bit integer",
            stupledigest: "two signed 64-bit integers (low, high)",
            utupledigest: "two unsigned 64-bit integers (low, high)"}
    for fn, result in docs.items():
        fn.__name__ = fn.__qualname__ = f"mmh3_{arch}_{fn.__name__}"
        fn.__doc__ = (f"{fn.__name__}(key, seed=0, /) -> {result}\n\n"
                      f"Return the {name} digest of a buffer as {what[fn]}.")
    return digest, sintdigest, uintdigest, stupledigest, utupledigest


(mmh3_x64_128_digest, mmh3_x64_128_sintdigest, mmh3_x64_128_uintdigest,
 mmh3_x64_128_stupledigest, mmh3_x64_128_utupledigest) = _digests128("x64_128")
(mmh3_x86_128_digest, mmh3_x86_128_sintdigest, mmh3_x86_128_uintdigest,
 mmh3_x86_128_stupledigest, mmh3_x86_128_utupledigest) = _digests128("x86_128")


# ---- streaming hashers: a handle to a state in the guest ---------------------------------

class _Hasher:
    """What the three hashers share: a guest-side state, fed by update()."""

    __slots__ = ("_handle", "__weakref__")
    _kind: int
    name: str
    digest_size: int
    block_size: int

    def __init__(self, data: Any = None, seed: int = 0) -> None:
        seed = _indexed_seed(seed)
        if data is not None and isinstance(data, str):
            raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")
        self._handle = _murmur._hasher_new(self._kind, seed)
        if data is not None:
            self.update(data)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        for base in cls.__bases__:              # mmh3's hasher types are final
            if base.__dict__.get("_final"):
                raise TypeError(f"type 'mmh3.{base.__name__}' is not an acceptable base type")
        super().__init_subclass__(**kwargs)

    def update(self, data: Any) -> None:
        """Hash more bytes (any buffer)."""
        _murmur._hasher_update(self._handle, data)

    def _digest(self) -> tuple[int, int]:
        return _murmur._hasher_digest(self._handle)  # type: ignore[no-any-return]

    def copy(self) -> Any:
        """An independent hasher with the same state."""
        clone = object.__new__(type(self))
        clone._handle = _murmur._hasher_copy(self._handle)
        return clone

    # (bound as a default: interpreter shutdown may clear this module's globals first)
    def __del__(self, _free: Any = _murmur._hasher_free) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            _free(handle)


@final
class mmh3_32(_Hasher):  # noqa: N801 - mmh3's names
    """An incremental MurmurHash3_x86_32 hasher: mmh3_32(data=None, seed=0)."""

    __slots__ = ()
    _final = True
    name = "mmh3_32"
    _kind = _KINDS["x86_32"]
    digest_size = 4
    block_size = 12

    def digest(self) -> bytes:
        """The digest so far: 4 bytes, little endian."""
        return self._digest()[0].to_bytes(4, "little")

    def sintdigest(self) -> int:
        """The digest so far as a signed 32-bit integer."""
        low = self._digest()[0]
        return low - (1 << 32) if low >> 31 else low

    def uintdigest(self) -> int:
        """The digest so far as an unsigned 32-bit integer."""
        return self._digest()[0]


class _Hasher128(_Hasher):
    """The 128-bit hashers' digests."""

    __slots__ = ()
    digest_size = 16
    block_size = 32

    def digest(self) -> bytes:
        """The digest so far: 16 bytes, little endian."""
        return _PACK128(*self._digest())

    def sintdigest(self) -> int:
        """The digest so far as a signed 128-bit integer."""
        return _int128(self._digest(), True)

    def uintdigest(self) -> int:
        """The digest so far as an unsigned 128-bit integer."""
        return _int128(self._digest(), False)

    def stupledigest(self) -> tuple[int, int]:
        """The digest so far as two signed 64-bit integers (low, high)."""
        return _murmur._hasher_sdigest(self._handle)  # type: ignore[no-any-return]

    def utupledigest(self) -> tuple[int, int]:
        """The digest so far as two unsigned 64-bit integers (low, high)."""
        return self._digest()


@final
class mmh3_x64_128(_Hasher128):  # noqa: N801
    """An incremental MurmurHash3_x64_128 hasher: mmh3_x64_128(data=None, seed=0)."""

    __slots__ = ()
    _final = True
    name = "mmh3_x64_128"
    _kind = _KINDS["x64_128"]


@final
class mmh3_x86_128(_Hasher128):  # noqa: N801
    """An incremental MurmurHash3_x86_128 hasher: mmh3_x86_128(data=None, seed=0)."""

    __slots__ = ()
    _final = True
    name = "mmh3_x86_128"
    _kind = _KINDS["x86_128"]
