"""SHA-256 for cache keys, without paying for OpenSSL's import when there is little to hash.

hashlib's sha256 is OpenSSL's: fast (~0.6 ms per MB on the project's machine), but importing
it initialises OpenSSL, ~3 ms, as much as the rest of a small module's warm import.  The
interpreter's own ``_sha2`` (``_sha256`` before Python 3.12) imports in 0.3 ms and takes
~4.4 ms per MB.  So the builtin hashes until this process has given it 3/4 MiB, where the two
have cost the same, and OpenSSL from then on (at once when hashlib is imported already): never
more than about twice the better choice made in hindsight.  Both give the same digest.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

OPENSSL_AFTER = 3 << 18     # bytes the builtin hashes before OpenSSL takes over


def _builtin() -> Any:
    try:     # looking for a module that is not there costs as much as importing one
        return __import__("_sha2" if sys.version_info >= (3, 12) else "_sha256").sha256
    except ImportError:
        return None      # a build without the builtin hashes: OpenSSL from the start


_BUILTIN = _builtin()
_openssl: Callable[[bytes], Any] | None = None
_hashed = 0


def sha256(data: bytes) -> bytes:
    """The SHA-256 digest of ``data``."""
    global _openssl, _hashed
    if _openssl is None:
        if _BUILTIN is not None and _hashed + len(data) <= OPENSSL_AFTER \
                and "_hashlib" not in sys.modules:
            _hashed += len(data)
            digest: bytes = _BUILTIN(data).digest()
            return digest
        import hashlib
        _openssl = hashlib.sha256
    return _openssl(data).digest()
