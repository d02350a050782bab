"""The compile cache: compiled code on disk, so an import compiles a module once per machine.

Compiling costs about a second per MB of wasm; mapping a compiled artifact back in costs
milliseconds.  An entry is the backend's serialized artifact followed by a fixed trailer::

    artifact | key (32 bytes) | crc32 of artifact (4) | artifact length (8) | magic (8)

The key is sha256(code + backend name, version, engine settings, platform), where ``code``
names what is compiled (the digest of the module as given and how wasmimport prepares it),
so any change to those makes a new entry rather than a wrong hit.  Before an entry is used,
the file must be a regular file owned by this user and writable by nobody else, in a
directory that is the same, and its trailer, length and checksum must match: a truncated,
corrupt, foreign or incompatible entry is recompiled and replaced, never loaded.  Writes go
to a temporary file in the same directory, then ``os.replace``: concurrent importers see the
old entry, the new one, or none, never a torn file.  Like ``__pycache__`` is to ``.pyc``, the
cache is an optimisation only: every failure falls back to compiling in memory.

``remembered`` keeps plain data (``marshal``) in entries of the same form: validated
manifests, and what an import worked out from a module and its manifest (``_facts``).
"""

from __future__ import annotations

import marshal
import os
import stat
import struct
import sys
import zlib

from ._digest import sha256
from ._errors import BackendError
from ._heap import give_back

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap
    from collections.abc import Callable, Iterator
    from typing import Any

    from .backends import Backend, CompiledModule

CACHE_ENV = "WASMIMPORT_CACHE"
CACHE_DIR_ENV = "WASMIMPORT_CACHE_DIR"
SUFFIX = ".cwasm"
MANIFEST_SUFFIX = ".manifest"
PLAN_SUFFIX = ".plan"
_MAGIC = b"wasmimp1"
_TRAILER = struct.Struct("<32sIQ8s")
_MAP_FROM = 1 << 20    # entries this large are mapped to be checked, smaller ones read
_DISABLED = {"0", "false", "no", "off"}


class CacheWarning(UserWarning):
    """The compile cache cannot be used; modules are compiled in memory instead."""


CacheWarning.__module__ = "wasmimport"
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        import warnings
        _warned.add(message)
        warnings.warn(message, CacheWarning, stacklevel=2)


def enabled() -> bool:
    """False when ``WASMIMPORT_CACHE`` is 0/false/no/off (read at each import)."""
    return os.environ.get(CACHE_ENV, "1").strip().lower() not in _DISABLED


def cache_dir() -> str:
    """The cache directory: ``$WASMIMPORT_CACHE_DIR``, else the platform's user cache dir."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return os.path.abspath(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
        return os.path.join(base, "wasmimport", "Cache")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/wasmimport")
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.expanduser("~/.cache")
    return os.path.join(base, "wasmimport")


def _trusted(st: os.stat_result) -> str | None:
    """Why a file or directory with this stat must not be trusted, or None."""
    if not hasattr(os, "getuid"):
        return None          # Windows: the per-user profile directory is the protection
    if st.st_uid != os.getuid():
        return f"it is owned by uid {st.st_uid}, not {os.getuid()}"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"other users can write it (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def usable_dir(create: bool = True) -> str | None:
    """The cache directory if it is safe to use (creating it 0700), else None with a warning."""
    path = cache_dir()
    if create:
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError:
            pass         # diagnosed just below
    try:
        st = os.stat(path)
    except OSError as exc:
        if create:
            _warn_once(f"wasmimport cache directory {path} is unusable ({exc}); "
                       "compiling in memory")
        return None
    problem = _trusted(st) if stat.S_ISDIR(st.st_mode) else "it is not a directory"
    if problem:
        _warn_once(f"wasmimport refuses the cache directory {path}: {problem}; compiling in "
                   "memory (fix its ownership/permissions or set WASMIMPORT_CACHE_DIR)")
        return None
    return path


def entry_key(backend: Backend, code: bytes) -> bytes:
    """The 32-byte cache key of compiled ``code`` (see the module docstring) for one backend
    configuration."""
    return sha256(code + b"\0" + backend.cache_tag.encode())


def entry_path(directory: str, key: bytes, backend: Backend) -> str:
    return os.path.join(directory, f"{key.hex()}-{backend.name}{SUFFIX}")


def _open_trusted(path: str) -> tuple[int, int] | None:
    """(an open descriptor, the size) of a trusted regular file large enough to be an entry."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or _trusted(st) or st.st_size < _TRAILER.size:
        os.close(fd)
        return None
    return fd, st.st_size


def _intact(data: bytes | mmap.mmap, key: bytes) -> bool:
    """True when ``data`` (a whole entry) carries ``key`` and its payload's checksum."""
    size = len(data)
    stored_key, crc, length, magic = _TRAILER.unpack_from(data, size - _TRAILER.size)
    if magic != _MAGIC or stored_key != key or length != size - _TRAILER.size:
        return False
    with memoryview(data) as view, view[:length] as payload:
        return bool(zlib.crc32(payload) == crc)


def _verified(path: str, key: bytes) -> bool:
    """True when the file at ``path`` is an intact, trusted entry for ``key``."""
    opened = _open_trusted(path)
    if opened is None:
        return False
    fd, size = opened
    try:
        if size < _MAP_FROM:
            return _intact_read(fd, size, key) is not None
        import mmap
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as data:
            return _intact(data, key)
    finally:
        os.close(fd)


def _intact_read(fd: int, size: int, key: bytes) -> bytes | None:
    """The payload of the entry open as ``fd``, read, if it is intact; else None."""
    try:
        data = os.read(fd, size + 1)      # one read; a file that changed meanwhile fails below
    except OSError:
        return None
    return data[:-_TRAILER.size] if len(data) == size and _intact(data, key) else None


def _read_verified(path: str, key: bytes) -> bytes | None:
    """The payload of the intact, trusted entry for ``key`` at ``path``, or None."""
    opened = _open_trusted(path)
    if opened is None:
        return None
    fd, size = opened
    try:
        return _intact_read(fd, size, key)
    finally:
        os.close(fd)


def _write(directory: str, path: str, key: bytes, payload: bytes) -> None:
    """Write ``payload`` and its trailer to ``path`` atomically; failures only warn."""
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o600)
        with open(fd, "wb") as f:
            f.write(payload)
            f.write(_TRAILER.pack(key, zlib.crc32(payload), len(payload), _MAGIC))
        os.replace(tmp, path)
    except OSError as exc:
        _warn_once(f"wasmimport could not write to its cache {directory}: {exc}")
        try:
            os.unlink(tmp)
        except OSError:
            pass


def load(backend: Backend, key: bytes) -> CompiledModule | None:
    """The cached compiled module for ``key``, or None (missing, damaged, incompatible)."""
    directory = usable_dir(create=False)
    if directory is None:
        return None
    path = entry_path(directory, key, backend)
    if not _verified(path, key):
        return None
    try:
        return backend.deserialize_file(path)
    except BackendError:
        return None      # e.g. made by another engine build: recompiled and replaced


def store(backend: Backend, key: bytes, compiled: CompiledModule) -> None:
    """Write ``compiled`` to the cache (if it is usable)."""
    directory = usable_dir()
    if directory is not None:
        try:
            artifact = backend.serialize(compiled)
        except BackendError as exc:
            _warn_once(f"wasmimport could not serialize compiled code for its cache: {exc}")
            return
        _write(directory, entry_path(directory, key, backend), key, artifact)


def load_or_compile(backend: Backend, code: bytes,
                    wasm: Callable[[], bytes]) -> CompiledModule:
    """Compiled code for ``code`` (see ``entry_key``): cached, or ``wasm()`` -- the binary to
    compile, asked for only on a miss -- compiled and cached.

    Raises BackendError when the module does not compile.
    """
    if not backend.file_cache:          # the engine keeps compiled code in the process only
        key = entry_key(backend, code)
        compiled = _IN_PROCESS.get(key)
        if compiled is None:
            compiled = _IN_PROCESS[key] = _compile(backend, wasm)
        return compiled
    if not enabled():
        return _compile(backend, wasm)
    key = entry_key(backend, code)
    compiled = load(backend, key)
    if compiled is None:
        compiled = _compile(backend, wasm)
        store(backend, key, compiled)
    return compiled


def _compile(backend: Backend, wasm: Callable[[], bytes]) -> CompiledModule:
    """Compile, then give the compiler's freed memory back (see ``_heap``)."""
    try:
        return backend.compile(wasm())
    finally:
        give_back()


_IN_PROCESS: dict[bytes, CompiledModule] = {}


def remembered(kind: str, source: bytes, build: Callable[[], tuple[Any, ...]],
               suffix: str) -> tuple[Any, ...]:
    """``build()`` for ``source``, remembered on disk as ``marshal`` data across processes.

    For work whose result is a function of ``source`` alone and costs more than reading it
    back: parsing a manifest (tomllib and ast cost ~30 ms of imports), planning a module
    (``_facts``).  The result is a tuple of builtins keyed by ``source``, the Python version
    and ``kind`` (which names the data's format), in a file ending in ``suffix``; it sits
    behind the same checks as compiled code.  Anything that goes wrong (including data
    marshal cannot hold) just means calling ``build()``; what ``build()`` raises propagates
    and nothing is remembered.
    """
    if not enabled():
        return build()
    tag = f"{kind}-{sys.implementation.cache_tag}-{marshal.version}\0"
    key = sha256(tag.encode() + source)
    name = f"{key.hex()}{suffix}"
    directory = usable_dir(create=False)
    if directory is not None:
        payload = _read_verified(os.path.join(directory, name), key)
        if payload is not None:
            try:
                data = marshal.loads(payload)
            except (EOFError, ValueError, TypeError):
                data = None
            if isinstance(data, tuple):
                return data
    data = build()
    directory = usable_dir()
    if directory is not None:
        try:
            payload = marshal.dumps(data)
        except ValueError:
            return data
        _write(directory, os.path.join(directory, name), key, payload)
    return data


def entries(directory: str) -> Iterator[os.DirEntry[str]]:
    """Cache entries (and leftover temporary files) in ``directory``."""
    try:
        with os.scandir(directory) as it:
            yield from (e for e in it
                        if e.name.endswith((SUFFIX, MANIFEST_SUFFIX, PLAN_SUFFIX, ".tmp"))
                        and e.is_file())
    except FileNotFoundError:
        return
