"""WASI preview 1 written in Python, for the js backend.

A JavaScript engine has no WASI of its own, so the ``wasi_snapshot_preview1`` functions are
Python functions here, over the guest's memory and the host's ``os`` module (on Pyodide,
Emscripten's file system).  The grants are the manifest's ``[wasi]`` table, exactly as on
wasmtime: arguments and environment as listed, stdin/stdout/stderr "null", "inherit" (to
``sys.stdin``/``sys.stdout``/``sys.stderr`` as they are at each call) or "capture", clocks and
random numbers, and the preopened folders as fds 3, 4, ... in the table's order.

Paths are resolved here, one component at a time, from the directory fd they are relative
to: ``..`` above it, absolute paths and symlinks whose target is absolute or leads above it
are refused with ``EPERM``, as wasmtime refuses them, and every symlink on the way is read
and followed here, so the host call that finally opens the file meets none.  (Pyodide runs
one thread and nothing else changes its file system under a call, so the check holds until
the open.)  Folders preopened ``mode = "ro"``, and everything reached through them, refuse
every change with ``EPERM``, as on wasmtime.

Errors inside a call come back to the guest as WASI errno values; a pointer out of the
guest's memory is ``EFAULT``.  ``proc_exit`` raises ``wasmimport.WasiExit``.
"""

from __future__ import annotations

import codecs
import errno as host_errno
import os
import stat
import struct
import sys
import time

from .._errors import Trap, WasiExit
from ._base import BackendError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .._manifest import Wasi
    from ._base import Memory

MODULE = "wasi_snapshot_preview1"

# errno, in the order WASI preview 1 numbers them (0 is success)
_ERRNO_NAMES = (
    "SUCCESS 2BIG ACCES ADDRINUSE ADDRNOTAVAIL AFNOSUPPORT AGAIN ALREADY BADF BADMSG BUSY "
    "CANCELED CHILD CONNABORTED CONNREFUSED CONNRESET DEADLK DESTADDRREQ DOM DQUOT EXIST "
    "FAULT FBIG HOSTUNREACH IDRM ILSEQ INPROGRESS INTR INVAL IO ISCONN ISDIR LOOP MFILE "
    "MLINK MSGSIZE MULTIHOP NAMETOOLONG NETDOWN NETRESET NETUNREACH NFILE NOBUFS NODEV "
    "NOENT NOEXEC NOLCK NOLINK NOMEM NOMSG NOPROTOOPT NOSPC NOSYS NOTCONN NOTDIR NOTEMPTY "
    "NOTRECOVERABLE NOTSOCK NOTSUP NOTTY NXIO OVERFLOW OWNERDEAD PERM PIPE PROTO "
    "PROTONOSUPPORT PROTOTYPE RANGE ROFS SPIPE SRCH STALE TIMEDOUT TXTBSY XDEV "
    "NOTCAPABLE").split()
_ERRNO = {name: code for code, name in enumerate(_ERRNO_NAMES)}
SUCCESS, BADF, EXIST, FAULT, INVAL, IO = 0, 8, 20, 21, 28, 29
ILSEQ, ISDIR, LOOP, MFILE, NOENT, NOSYS = 25, 31, 32, 33, 44, 52
NOTDIR, NOTEMPTY, NOTSOCK, NOTSUP, PERM, SPIPE = 54, 55, 57, 58, 63, 70
assert [_ERRNO_NAMES[c] for c in (BADF, FAULT, NOTDIR, PERM, SPIPE)] == \
    ["BADF", "FAULT", "NOTDIR", "PERM", "SPIPE"]
# the host's errno values (Emscripten numbers them its own way) -> WASI's
_FROM_HOST = {getattr(host_errno, "E" + name): code for name, code in _ERRNO.items()
              if hasattr(host_errno, "E" + name)}

# rights (bit numbers of preview 1's `rights`)
FD_DATASYNC, FD_READ, FD_SEEK, FD_FDSTAT_SET_FLAGS = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FD_SYNC, FD_TELL, FD_WRITE, FD_ADVISE, FD_ALLOCATE = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
FD_READDIR, FD_FILESTAT_GET, FD_FILESTAT_SET_SIZE = 1 << 14, 1 << 21, 1 << 22
POLL_FD_READWRITE = 1 << 27
ALL_RIGHTS = (1 << 30) - 1
_WRITE_RIGHTS = FD_DATASYNC | FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE
_FILE_RIGHTS = (FD_DATASYNC | FD_READ | FD_SEEK | FD_FDSTAT_SET_FLAGS | FD_SYNC | FD_TELL
                | FD_WRITE | FD_ADVISE | FD_ALLOCATE | FD_FILESTAT_GET | FD_FILESTAT_SET_SIZE
                | (1 << 23) | POLL_FD_READWRITE)

# filetype
UNKNOWN, CHARACTER_DEVICE, DIRECTORY, REGULAR_FILE, SYMBOLIC_LINK = 0, 2, 3, 4, 7
FDFLAG_APPEND, FDFLAG_NONBLOCK = 1, 4
OFLAG_CREAT, OFLAG_DIRECTORY, OFLAG_EXCL, OFLAG_TRUNC = 1, 2, 4, 8
LOOKUP_SYMLINK_FOLLOW = 1
FST_ATIM, FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW = 1, 2, 4, 8
EVENT_CLOCK, EVENT_FD_READ, EVENT_FD_WRITE = 0, 1, 2
SUBSCRIPTION_CLOCK_ABSTIME = 1

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_IOVEC = struct.Struct("<II")
_FDSTAT = struct.Struct("<BxHxxxxQQ")              # filetype, flags, rights base, inheriting
_FILESTAT = struct.Struct("<QQB7xQQQQQ")           # dev, ino, filetype, nlink, size, a/m/ctim
_PRESTAT = struct.Struct("<BxxxI")                 # tag (0: directory), name length
_DIRENT = struct.Struct("<QQIB3x")                 # next cookie, ino, name length, type
_SUBSCRIPTION = struct.Struct("<QB7xI4xQQH6x")     # userdata, tag, clock id / fd, timeout, ..
_EVENT = struct.Struct("<QHB5xQH6x")               # userdata, errno, type, nbytes, flags
assert (_FDSTAT.size, _FILESTAT.size, _DIRENT.size, _SUBSCRIPTION.size, _EVENT.size) == \
    (24, 64, 24, 48, 32)
_MASK32, _MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
_SYMLINKS = 32        # followed in one path before ELOOP (Linux allows 40)
_MAX_FDS = 1024


class _Errno(Exception):
    """Ends a WASI call with ``code``."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class _Fd:
    """An open WASI fd: a standard stream, a directory (a capability) or a file."""

    __slots__ = ("kind", "host", "osfd", "readable", "writable", "append", "ro", "name",
                 "rights", "listing", "decoder")

    def __init__(self, kind: str, host: str = "", osfd: int = -1, readable: bool = False,
                 writable: bool = False, ro: bool = False, name: bytes | None = None,
                 rights: tuple[int, int] = (ALL_RIGHTS, ALL_RIGHTS)):
        self.kind = kind              # "stdin", "stdout", "stderr", "dir" or "file"
        self.host = host              # the host path (a directory's, or the file's)
        self.osfd = osfd              # a file's host fd
        self.readable = readable
        self.writable = writable
        self.append = False
        self.ro = ro                  # reached through a read-only preopen
        self.name = name              # a preopen's guest path
        self.rights = rights
        self.listing: list[tuple[bytes, int, int]] | None = None   # fd_readdir's entries
        self.decoder: Any = None      # "inherit" output to a text-only stream


def _filetype(mode: int) -> int:
    if stat.S_ISDIR(mode):
        return DIRECTORY
    if stat.S_ISREG(mode):
        return REGULAR_FILE
    if stat.S_ISLNK(mode):
        return SYMBOLIC_LINK
    if stat.S_ISCHR(mode):
        return CHARACTER_DEVICE
    if stat.S_ISBLK(mode):
        return 1
    if stat.S_ISSOCK(mode):
        return 6
    return UNKNOWN


def _filestat(st: os.stat_result) -> bytes:
    return _FILESTAT.pack(st.st_dev & _MASK64, st.st_ino & _MASK64, _filetype(st.st_mode),
                          st.st_nlink, max(st.st_size, 0), max(st.st_atime_ns, 0),
                          max(st.st_mtime_ns, 0), max(st.st_ctime_ns, 0))


# each function's parameters: u = u32 (pointers, lengths, fds, flags), s = i32 as signed,
# U = u64, S = s64; every function returns an errno (i32) but proc_exit
_SIGNATURES = {
    "args_get": "uu", "args_sizes_get": "uu", "environ_get": "uu", "environ_sizes_get": "uu",
    "clock_res_get": "uu", "clock_time_get": "uUu",
    "fd_advise": "uUUu", "fd_allocate": "uUU", "fd_close": "u", "fd_datasync": "u",
    "fd_fdstat_get": "uu", "fd_fdstat_set_flags": "uu", "fd_fdstat_set_rights": "uUU",
    "fd_filestat_get": "uu", "fd_filestat_set_size": "uU", "fd_filestat_set_times": "uUUu",
    "fd_pread": "uuuUu", "fd_prestat_get": "uu", "fd_prestat_dir_name": "uuu",
    "fd_pwrite": "uuuUu", "fd_read": "uuuu", "fd_readdir": "uuuUu", "fd_renumber": "uu",
    "fd_seek": "uSuu", "fd_sync": "u", "fd_tell": "uu", "fd_write": "uuuu",
    "path_create_directory": "uuu", "path_filestat_get": "uuuuu",
    "path_filestat_set_times": "uuuuUUu", "path_link": "uuuuuuu",
    "path_open": "uuuuuUUuu", "path_readlink": "uuuuuu", "path_remove_directory": "uuu",
    "path_rename": "uuuuuu", "path_symlink": "uuuuu", "path_unlink_file": "uuu",
    "poll_oneoff": "uuuu", "proc_exit": "s", "proc_raise": "u", "random_get": "uu",
    "sched_yield": "", "sock_accept": "uuu", "sock_recv": "uuuuuu", "sock_send": "uuuuu",
    "sock_shutdown": "uu",
}
_CORE = {"u": "i32", "s": "i32", "U": "i64", "S": "i64"}


def _convert(kind: str, raw: Any) -> int:
    value = int(raw)
    if kind == "u":
        return value & _MASK32
    if kind == "U":
        return value & _MASK64
    if kind == "S":
        value &= _MASK64
        return value - (1 << 64) if value >> 63 else value
    value &= _MASK32
    return value - (1 << 32) if value >> 31 else value


class WasiPreview1:
    """One instance's WASI context: its fds, arguments, environment and captured output.

    ``functions()`` gives the raw host functions; ``bind(memory)`` gives them the guest's
    memory once the instance exists; ``restart(argv)`` starts a fresh context (``main(argv)``).
    """

    def __init__(self, wasi: Wasi, base: str):
        self.wasi = wasi
        self._memory: Memory | None = None
        self._fds: dict[int, _Fd] = {}
        self._captured: dict[str, bytearray] = {}
        self._preopens = []
        for guest_path, host_path, writable in wasi.preopens:
            folder = os.path.join(base, host_path)
            if not os.path.isdir(folder):
                raise BackendError(f"[wasi] preopens {guest_path!r}: {folder} is not a folder")
            self._preopens.append((guest_path, folder, writable))
        self.restart(None)

    # -- the context ------------------------------------------------------------------------

    def restart(self, argv: list[str] | None) -> None:
        """A fresh context: fds 0-2 and the preopens only, ``argv`` (or ``[wasi] args``) as
        the arguments, captured output started again."""
        self.close()
        args = self.wasi.args if argv is None else argv
        self._args = [arg.encode("utf-8") + b"\0" for arg in args]
        self._env = [f"{name}={value}".encode() + b"\0" for name, value in self.wasi.env]
        self._captured = {stream: bytearray() for stream in ("stdout", "stderr")
                          if getattr(self.wasi, stream) == "capture"}
        stdio = (FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE, 0)
        self._fds = {0: _Fd("stdin", readable=True, rights=(stdio[0] | FD_READ, 0)),
                     1: _Fd("stdout", writable=True, rights=(stdio[0] | FD_WRITE, 0)),
                     2: _Fd("stderr", writable=True, rights=(stdio[0] | FD_WRITE, 0))}
        for fd, (guest_path, folder, writable) in enumerate(self._preopens, 3):
            self._fds[fd] = _Fd("dir", host=folder, ro=not writable,
                                name=guest_path.encode("utf-8"))

    def close(self) -> None:
        """Close the host files the guest has open."""
        fds, self._fds = self._fds, {}
        for entry in fds.values():
            if entry.osfd >= 0:
                try:
                    os.close(entry.osfd)
                except OSError:
                    pass
                entry.osfd = -1

    def __del__(self) -> None:
        self.close()

    def bind(self, memory: Memory | None) -> None:
        """Read and write ``memory``, the guest's ``memory`` export (None: it has none)."""
        self._memory = memory

    def captured(self, stream: str) -> bytes:
        try:
            return bytes(self._captured[stream])
        except KeyError:
            raise ValueError(f"[wasi] {stream} is not captured") from None

    def functions(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[..., Any]]]:
        """name -> (core parameter types, core result types, raw host function)."""
        return {name: (tuple(_CORE[k] for k in kinds), () if name == "proc_exit" else ("i32",),
                       self._raw(getattr(self, name), kinds))
                for name, kinds in _SIGNATURES.items()}

    def _raw(self, method: Callable[..., Any], kinds: str) -> Callable[..., Any]:
        def raw(*args: Any) -> Any:
            if len(args) != len(kinds):
                # (a JS engine calls an import with the guest's arguments, whatever its type)
                raise Trap(f"{MODULE}.{method.__name__} takes {len(kinds)} arguments, but the "
                           f"guest passed {len(args)}: it imports it with another type")
            try:
                return method(*[_convert(k, a) for k, a in zip(kinds, args)])
            except _Errno as exc:
                return exc.code
            except OSError as exc:
                return _FROM_HOST.get(exc.errno, IO)
            except UnicodeError:
                return ILSEQ
            except Trap as exc:
                if exc.kind == "memory_out_of_bounds":
                    return FAULT
                raise
        raw.__name__ = raw.__qualname__ = method.__name__
        return raw

    # -- helpers ----------------------------------------------------------------------------

    @property
    def memory(self) -> Memory:
        if self._memory is None:
            raise Trap("WASI needs the guest to export its memory as \"memory\"")
        return self._memory

    def _put32(self, ptr: int, value: int) -> None:
        self.memory.write(ptr, _U32.pack(value & _MASK32))

    def _put64(self, ptr: int, value: int) -> None:
        self.memory.write(ptr, _U64.pack(value & _MASK64))

    def _fd(self, fd: int) -> _Fd:
        entry = self._fds.get(fd)
        if entry is None:
            raise _Errno(BADF)
        return entry

    def _dir(self, fd: int) -> _Fd:
        entry = self._fd(fd)
        if entry.kind != "dir":
            raise _Errno(NOTDIR if entry.kind == "file" else BADF)
        return entry

    def _file(self, fd: int) -> _Fd:
        entry = self._fd(fd)
        if entry.kind == "dir":
            raise _Errno(ISDIR)
        if entry.kind != "file":
            raise _Errno(SPIPE)
        return entry

    def _install(self, entry: _Fd) -> int:
        if len(self._fds) >= _MAX_FDS:
            if entry.osfd >= 0:
                os.close(entry.osfd)
            raise _Errno(MFILE)
        fd = 0
        while fd in self._fds:
            fd += 1
        self._fds[fd] = entry
        return fd

    def _iovecs(self, iovs: int, count: int) -> list[tuple[int, int]]:
        table = self.memory.read(iovs, _IOVEC.size * count)
        return [_IOVEC.unpack_from(table, i * _IOVEC.size) for i in range(count)]

    def _strings(self, items: list[bytes], array: int, buffer: int) -> int:
        for i, item in enumerate(items):
            self._put32(array + 4 * i, buffer)
            self.memory.write(buffer, item)
            buffer += len(item)
        return SUCCESS

    def _path(self, ptr: int, length: int) -> str:
        path = self.memory.read(ptr, length).decode("utf-8")
        if "\0" in path:
            raise _Errno(INVAL)
        return path

    def _resolve(self, fd: int, ptr: int, length: int, follow: bool) -> tuple[_Fd, str, bool]:
        """(the directory, the host path, whether that is the directory itself) of the path
        at ``ptr`` relative to directory fd ``fd``; symlinks are followed here (the last one
        only when ``follow``), and nothing may lead out of the directory."""
        parent = self._dir(fd)
        path = self._path(ptr, length)
        if not path:
            raise _Errno(NOENT)
        if path.startswith("/"):
            raise _Errno(PERM)
        trailing = path.endswith(("/", "/."))
        pending = path.split("/")[::-1]
        done: list[str] = []
        links = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not done:
                    raise _Errno(PERM)
                done.pop()
                continue
            last = all(p in ("", ".") for p in pending)
            host = os.path.join(parent.host, *done, part)
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                if not last:
                    raise _Errno(NOENT) from None
                done.append(part)
                break
            if stat.S_ISLNK(st.st_mode) and (not last or follow or trailing):
                links += 1
                if links > _SYMLINKS:
                    raise _Errno(LOOP)
                target = os.readlink(host)
                if not target or target.startswith("/"):
                    raise _Errno(PERM if target else NOENT)
                pending.extend(target.split("/")[::-1])
                continue
            if (not last or trailing) and not stat.S_ISDIR(st.st_mode):
                raise _Errno(NOTDIR)
            done.append(part)
        return parent, os.path.join(parent.host, *done), not done

    def _changing(self, fd: int, ptr: int, length: int) -> str:
        """The host path of an entry to create, remove or rename (not followed)."""
        parent, host, itself = self._resolve(fd, ptr, length, False)
        if parent.ro:
            raise _Errno(PERM)
        if itself:
            raise _Errno(PERM if parent.name is not None else INVAL)   # a preopen itself
        return host

    # -- arguments, environment, clocks, random -------------------------------------------

    def args_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        self._put32(count_ptr, len(self._args))
        self._put32(size_ptr, sum(map(len, self._args)))
        return SUCCESS

    def args_get(self, argv_ptr: int, buf_ptr: int) -> int:
        return self._strings(self._args, argv_ptr, buf_ptr)

    def environ_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        self._put32(count_ptr, len(self._env))
        self._put32(size_ptr, sum(map(len, self._env)))
        return SUCCESS

    def environ_get(self, environ_ptr: int, buf_ptr: int) -> int:
        return self._strings(self._env, environ_ptr, buf_ptr)

    @staticmethod
    def _clock(clock: int) -> tuple[Callable[[], int], Any]:
        if clock == 0:
            return time.time_ns, "time"
        if clock == 1:
            return time.monotonic_ns, "monotonic"
        if clock in (2, 3):
            return time.process_time_ns, "process_time"
        raise _Errno(INVAL)

    def clock_res_get(self, clock: int, res_ptr: int) -> int:
        name = self._clock(clock)[1]
        resolution = time.get_clock_info(name).resolution
        self._put64(res_ptr, max(1, round(resolution * 1e9)))
        return SUCCESS

    def clock_time_get(self, clock: int, precision: int, time_ptr: int) -> int:
        self._put64(time_ptr, self._clock(clock)[0]())
        return SUCCESS

    def random_get(self, buf: int, length: int) -> int:
        if buf + length > self.memory.size():
            return FAULT
        for start in range(0, length, 65536):
            self.memory.write(buf + start, os.urandom(min(65536, length - start)))
        return SUCCESS

    def sched_yield(self) -> int:
        return SUCCESS

    def proc_exit(self, status: int) -> None:
        raise WasiExit(f"the guest exited with status {status}", status)

    def proc_raise(self, signal: int) -> int:
        return NOSYS

    def poll_oneoff(self, in_ptr: int, out_ptr: int, count: int, events_ptr: int) -> int:
        """Clock subscriptions sleep (the shortest one); fd subscriptions are ready at once:
        regular files, null streams and captures never block, and an inherited stdin is
        read when the guest reads it."""
        if count == 0:
            return INVAL
        table = self.memory.read(in_ptr, _SUBSCRIPTION.size * count)
        subscriptions = [_SUBSCRIPTION.unpack_from(table, i * _SUBSCRIPTION.size)
                         for i in range(count)]
        events: list[bytes] = []
        clocks: list[tuple[int, int]] = []     # (deadline on the monotonic clock, userdata)
        now = time.monotonic_ns()
        for userdata, tag, which, timeout, _, flags in subscriptions:
            if tag == EVENT_CLOCK:
                try:
                    read = self._clock(which)[0]
                except _Errno as exc:
                    events.append(_EVENT.pack(userdata, exc.code, tag, 0, 0))
                    continue
                wait = timeout - read() if flags & SUBSCRIPTION_CLOCK_ABSTIME else timeout
                clocks.append((now + max(wait, 0), userdata))
            elif tag in (EVENT_FD_READ, EVENT_FD_WRITE):
                entry = self._fds.get(which)
                code = BADF if entry is None else SUCCESS
                size = 0
                if entry is not None and entry.kind == "file" and tag == EVENT_FD_READ:
                    try:
                        st = os.fstat(entry.osfd)
                        size = max(0, st.st_size - os.lseek(entry.osfd, 0, os.SEEK_CUR))
                    except OSError as exc:
                        code = _FROM_HOST.get(exc.errno, IO)
                events.append(_EVENT.pack(userdata, code, tag, size, 0))
            else:
                events.append(_EVENT.pack(userdata, INVAL, tag, 0, 0))
        if not events and clocks:
            deadline = min(deadline for deadline, _ in clocks)
            delay = deadline - time.monotonic_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
            events = [_EVENT.pack(userdata, SUCCESS, EVENT_CLOCK, 0, 0)
                      for due, userdata in clocks if due <= deadline]
        self.memory.write(out_ptr, b"".join(events))
        self._put32(events_ptr, len(events))
        return SUCCESS

    # -- fds --------------------------------------------------------------------------------

    def fd_prestat_get(self, fd: int, buf: int) -> int:
        entry = self._fd(fd)
        if entry.name is None:
            return BADF
        self.memory.write(buf, _PRESTAT.pack(0, len(entry.name)))
        return SUCCESS

    def fd_prestat_dir_name(self, fd: int, path: int, length: int) -> int:
        entry = self._fd(fd)
        if entry.name is None:
            return BADF
        if length < len(entry.name):
            return _ERRNO["NAMETOOLONG"]
        self.memory.write(path, entry.name)
        return SUCCESS

    def fd_close(self, fd: int) -> int:
        entry = self._fd(fd)
        del self._fds[fd]
        if entry.osfd >= 0:
            os.close(entry.osfd)
        return SUCCESS

    def fd_renumber(self, fd: int, to: int) -> int:
        self._fd(fd)
        self._fd(to)
        if fd != to:
            self.fd_close(to)
            self._fds[to] = self._fds.pop(fd)
        return SUCCESS

    def fd_fdstat_get(self, fd: int, buf: int) -> int:
        entry = self._fd(fd)
        if entry.kind == "dir":
            filetype = DIRECTORY
        elif entry.kind == "file":
            filetype = _filetype(os.fstat(entry.osfd).st_mode)
        else:
            filetype = CHARACTER_DEVICE
        flags = FDFLAG_APPEND if entry.append else 0
        self.memory.write(buf, _FDSTAT.pack(filetype, flags, *entry.rights))
        return SUCCESS

    def fd_fdstat_set_flags(self, fd: int, flags: int) -> int:
        entry = self._fd(fd)
        if flags & ~(FDFLAG_APPEND | FDFLAG_NONBLOCK):
            return NOTSUP
        if entry.kind == "file":
            entry.append = bool(flags & FDFLAG_APPEND)
        elif flags & FDFLAG_APPEND and entry.kind == "dir":
            return ISDIR
        return SUCCESS

    def fd_fdstat_set_rights(self, fd: int, base: int, inheriting: int) -> int:
        entry = self._fd(fd)
        old_base, old_inheriting = entry.rights
        if base & ~old_base or inheriting & ~old_inheriting:
            return _ERRNO["NOTCAPABLE"]
        entry.rights = (base, inheriting)
        if not base & FD_READ:
            entry.readable = False
        if not base & FD_WRITE:
            entry.writable = False
        return SUCCESS

    def fd_filestat_get(self, fd: int, buf: int) -> int:
        entry = self._fd(fd)
        if entry.kind == "file":
            data = _filestat(os.fstat(entry.osfd))
        elif entry.kind == "dir":
            data = _filestat(os.stat(entry.host))
        else:
            data = _FILESTAT.pack(0, 0, CHARACTER_DEVICE, 1, 0, 0, 0, 0)
        self.memory.write(buf, data)
        return SUCCESS

    def fd_filestat_set_size(self, fd: int, size: int) -> int:
        entry = self._file(fd)
        if not entry.writable:
            return BADF
        os.ftruncate(entry.osfd, size)
        return SUCCESS

    def fd_filestat_set_times(self, fd: int, atim: int, mtim: int, flags: int) -> int:
        entry = self._fd(fd)
        if entry.kind not in ("file", "dir"):
            return BADF
        if entry.ro:
            return PERM
        self._set_times(entry.host, atim, mtim, flags)
        return SUCCESS

    @staticmethod
    def _set_times(host: str, atim: int, mtim: int, flags: int) -> None:
        if (flags & FST_ATIM and flags & FST_ATIM_NOW) or (flags & FST_MTIM and
                                                            flags & FST_MTIM_NOW):
            raise _Errno(INVAL)
        st = os.stat(host)
        now = time.time_ns()
        atime = atim if flags & FST_ATIM else now if flags & FST_ATIM_NOW else st.st_atime_ns
        mtime = mtim if flags & FST_MTIM else now if flags & FST_MTIM_NOW else st.st_mtime_ns
        os.utime(host, ns=(atime, mtime))

    def fd_advise(self, fd: int, offset: int, length: int, advice: int) -> int:
        self._file(fd)
        return INVAL if advice > 5 else SUCCESS

    def fd_allocate(self, fd: int, offset: int, length: int) -> int:
        self._file(fd)
        return NOTSUP

    def fd_sync(self, fd: int) -> int:
        entry = self._fd(fd)
        if entry.kind == "file":
            os.fsync(entry.osfd)
            return SUCCESS
        return SUCCESS if entry.kind == "dir" else INVAL

    fd_datasync = fd_sync

    def fd_seek(self, fd: int, offset: int, whence: int, new_ptr: int) -> int:
        entry = self._file(fd)
        if whence > 2:
            return INVAL
        position = os.lseek(entry.osfd, offset, (os.SEEK_SET, os.SEEK_CUR, os.SEEK_END)[whence])
        self._put64(new_ptr, position)
        return SUCCESS

    def fd_tell(self, fd: int, ptr: int) -> int:
        entry = self._file(fd)
        self._put64(ptr, os.lseek(entry.osfd, 0, os.SEEK_CUR))
        return SUCCESS

    def fd_write(self, fd: int, iovs: int, count: int, written_ptr: int) -> int:
        entry = self._fd(fd)
        if not entry.writable:
            return BADF
        data = b"".join(self.memory.read(ptr, length) for ptr, length in
                        self._iovecs(iovs, count))
        self._put32(written_ptr, self._write(entry, data, None))
        return SUCCESS

    def fd_pwrite(self, fd: int, iovs: int, count: int, offset: int, written_ptr: int) -> int:
        entry = self._file(fd)
        if not entry.writable:
            return BADF
        data = b"".join(self.memory.read(ptr, length) for ptr, length in
                        self._iovecs(iovs, count))
        self._put32(written_ptr, self._write(entry, data, offset))
        return SUCCESS

    def _write(self, entry: _Fd, data: bytes, offset: int | None) -> int:
        if entry.kind == "file":
            if offset is not None:
                saved = os.lseek(entry.osfd, 0, os.SEEK_CUR)
                os.lseek(entry.osfd, offset, os.SEEK_SET)
            elif entry.append:
                os.lseek(entry.osfd, 0, os.SEEK_END)
            try:
                view, written = memoryview(data), 0
                while written < len(data):
                    written += os.write(entry.osfd, view[written:])
            finally:
                if offset is not None:
                    os.lseek(entry.osfd, saved, os.SEEK_SET)
            return written
        mode = self.wasi.stdout if entry.kind == "stdout" else self.wasi.stderr
        if mode == "capture":
            self._captured[entry.kind] += data
        elif mode == "inherit" and data:
            stream = sys.stdout if entry.kind == "stdout" else sys.stderr
            if stream is None:
                return len(data)
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                stream.flush()
                buffer.write(data)
                buffer.flush()
            else:
                if entry.decoder is None:
                    entry.decoder = codecs.getincrementaldecoder("utf-8")("replace")
                stream.write(entry.decoder.decode(data))
                stream.flush()
        return len(data)

    def fd_read(self, fd: int, iovs: int, count: int, read_ptr: int) -> int:
        return self._read(fd, iovs, count, None, read_ptr)

    def fd_pread(self, fd: int, iovs: int, count: int, offset: int, read_ptr: int) -> int:
        self._file(fd)
        return self._read(fd, iovs, count, offset, read_ptr)

    def _read(self, fd: int, iovs: int, count: int, offset: int | None, read_ptr: int) -> int:
        entry = self._fd(fd)
        if entry.kind == "dir":
            return ISDIR
        if not entry.readable:
            return BADF
        vectors = self._iovecs(iovs, count)
        wanted = min(sum(length for _, length in vectors), self.memory.size())
        if entry.kind == "file":
            if offset is not None:
                saved = os.lseek(entry.osfd, 0, os.SEEK_CUR)
                os.lseek(entry.osfd, offset, os.SEEK_SET)
            try:
                data = os.read(entry.osfd, wanted) if wanted else b""
            finally:
                if offset is not None:
                    os.lseek(entry.osfd, saved, os.SEEK_SET)
        else:
            data = self._stdin(wanted)
        self._put32(read_ptr, len(data))
        for ptr, length in vectors:
            if not data:
                break
            self.memory.write(ptr, data[:length])
            data = data[length:]
        return SUCCESS

    def _stdin(self, wanted: int) -> bytes:
        if self.wasi.stdin != "inherit" or not wanted or sys.stdin is None:
            return b""        # "null": end of file
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is not None:
            read = getattr(buffer, "read1", buffer.read)
            return bytes(read(wanted))
        return str(sys.stdin.readline(wanted)).encode("utf-8")

    def fd_readdir(self, fd: int, buf: int, length: int, cookie: int, used_ptr: int) -> int:
        entry = self._dir(fd)
        if cookie == 0 or entry.listing is None:
            entry.listing = self._listing(entry.host)
        out = bytearray()
        for index in range(cookie, len(entry.listing)):
            if len(out) >= length:
                break
            name, ino, filetype = entry.listing[index]
            out += _DIRENT.pack(index + 1, ino, len(name), filetype) + name
        data = bytes(out[:length])
        self.memory.write(buf, data)
        self._put32(used_ptr, len(data))
        return SUCCESS

    @staticmethod
    def _listing(host: str) -> list[tuple[bytes, int, int]]:
        here = os.stat(host)
        listing = [(b".", here.st_ino & _MASK64, DIRECTORY), (b"..", 0, DIRECTORY)]
        with os.scandir(host) as entries:
            for item in sorted(entries, key=lambda e: e.name):
                try:
                    filetype = _filetype(item.stat(follow_symlinks=False).st_mode)
                    ino = item.inode() & _MASK64
                except OSError:
                    filetype, ino = UNKNOWN, 0
                listing.append((os.fsencode(item.name), ino, filetype))
        return listing

    # -- paths ------------------------------------------------------------------------------

    def path_open(self, fd: int, lookup: int, ptr: int, length: int, oflags: int,
                  base: int, inheriting: int, fdflags: int, fd_ptr: int) -> int:
        parent, host, _ = self._resolve(fd, ptr, length, bool(lookup & LOOKUP_SYMLINK_FOLLOW))
        write = bool(base & _WRITE_RIGHTS or fdflags & FDFLAG_APPEND)
        read = bool(base & (FD_READ | FD_READDIR))
        creat, excl, trunc = oflags & OFLAG_CREAT, oflags & OFLAG_EXCL, oflags & OFLAG_TRUNC
        directory = oflags & OFLAG_DIRECTORY
        if parent.ro and (write or creat or trunc):
            return PERM
        try:
            st: os.stat_result | None = os.lstat(host)
        except FileNotFoundError:
            st = None
        rights = (base & parent.rights[1], inheriting & parent.rights[1])
        if st is None:
            if not creat:
                return NOENT
            if directory:
                return INVAL
        elif creat and excl:
            return EXIST
        elif stat.S_ISLNK(st.st_mode):
            return NOTDIR if directory else LOOP      # the last one, not to be followed
        elif stat.S_ISDIR(st.st_mode):
            if write or trunc:
                return ISDIR
            entry = _Fd("dir", host=host, ro=parent.ro, rights=rights)
            self._put32(fd_ptr, self._install(entry))
            return SUCCESS
        elif directory:
            return NOTDIR
        flags = os.O_RDWR if read and write else os.O_WRONLY if write else os.O_RDONLY
        flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        flags |= (os.O_CREAT if creat else 0) | (os.O_EXCL if excl else 0) | \
            (os.O_TRUNC if trunc else 0)
        entry = _Fd("file", host=host, osfd=os.open(host, flags, 0o666), readable=read,
                    writable=write, ro=parent.ro, rights=(rights[0] & _FILE_RIGHTS, 0))
        entry.append = bool(fdflags & FDFLAG_APPEND)
        self._put32(fd_ptr, self._install(entry))
        return SUCCESS

    def path_filestat_get(self, fd: int, lookup: int, ptr: int, length: int, buf: int) -> int:
        _, host, _ = self._resolve(fd, ptr, length, bool(lookup & LOOKUP_SYMLINK_FOLLOW))
        self.memory.write(buf, _filestat(os.lstat(host)))
        return SUCCESS

    def path_filestat_set_times(self, fd: int, lookup: int, ptr: int, length: int,
                                atim: int, mtim: int, flags: int) -> int:
        parent, host, _ = self._resolve(fd, ptr, length, bool(lookup & LOOKUP_SYMLINK_FOLLOW))
        if parent.ro:
            return PERM
        if stat.S_ISLNK(os.lstat(host).st_mode):
            return NOTSUP          # the times of a symlink itself
        self._set_times(host, atim, mtim, flags)
        return SUCCESS

    def path_create_directory(self, fd: int, ptr: int, length: int) -> int:
        os.mkdir(self._changing(fd, ptr, length), 0o777)
        return SUCCESS

    def path_remove_directory(self, fd: int, ptr: int, length: int) -> int:
        os.rmdir(self._changing(fd, ptr, length))
        return SUCCESS

    def path_unlink_file(self, fd: int, ptr: int, length: int) -> int:
        host = self._changing(fd, ptr, length)
        if stat.S_ISDIR(os.lstat(host).st_mode):
            return ISDIR
        os.unlink(host)
        return SUCCESS

    def path_rename(self, fd: int, old_ptr: int, old_length: int, new_fd: int, new_ptr: int,
                    new_length: int) -> int:
        old = self._changing(fd, old_ptr, old_length)
        os.rename(old, self._changing(new_fd, new_ptr, new_length))
        return SUCCESS

    def path_link(self, old_fd: int, lookup: int, old_ptr: int, old_length: int, new_fd: int,
                  new_ptr: int, new_length: int) -> int:
        _, old, _ = self._resolve(old_fd, old_ptr, old_length,
                                  bool(lookup & LOOKUP_SYMLINK_FOLLOW))
        os.link(old, self._changing(new_fd, new_ptr, new_length), follow_symlinks=False)
        return SUCCESS

    def path_symlink(self, old_ptr: int, old_length: int, fd: int, new_ptr: int,
                     new_length: int) -> int:
        target = self._path(old_ptr, old_length)
        if target.startswith("/"):
            return PERM            # it could never be followed
        os.symlink(target, self._changing(fd, new_ptr, new_length))
        return SUCCESS

    def path_readlink(self, fd: int, ptr: int, length: int, buf: int, buf_length: int,
                      used_ptr: int) -> int:
        _, host, _ = self._resolve(fd, ptr, length, False)
        target = os.fsencode(os.readlink(host))[:buf_length]
        self.memory.write(buf, target)
        self._put32(used_ptr, len(target))
        return SUCCESS

    # -- sockets: none can be granted ----------------------------------------------------

    def _socket(self, fd: int) -> int:
        self._fd(fd)
        return NOTSOCK

    def sock_accept(self, fd: int, flags: int, fd_ptr: int) -> int:
        return self._socket(fd)

    def sock_recv(self, fd: int, iovs: int, count: int, flags: int, size_ptr: int,
                  flags_ptr: int) -> int:
        return self._socket(fd)

    def sock_send(self, fd: int, iovs: int, count: int, flags: int, size_ptr: int) -> int:
        return self._socket(fd)

    def sock_shutdown(self, fd: int, how: int) -> int:
        return self._socket(fd)
