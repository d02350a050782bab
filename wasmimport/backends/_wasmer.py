"""The wasmer backend: wasmer 1.1 (``wasmer`` + ``wasmer-compiler-cranelift``), CPython 3.10.

wasmer's Python package publishes wheels only up to CPython 3.10, offers no way to stop or
meter a running call and holds the GIL throughout one; ``WasmerBackend.limitations`` lists
what it therefore cannot do, and the manifest settings needing those are refused by name.
Its objects are bound to the thread that made them (pyo3 "unsendable": touched from another
thread, wasmer panics), so each thread compiles with its own store, and a module's
functions, memories and globals work only in the thread that imported it; elsewhere they
raise RuntimeError instead of reaching wasmer.  WASI comes from ``wasmer.wasi`` with the
streams, arguments and stdin routed through Python (see ``_WasiRouter``), because wasmer
itself would hand the guest the process's own stdio; preopened folders are refused, because
wasmer 1.1 lets a guest follow a symlink out of one.
"""

from __future__ import annotations

import _thread
import ctypes
import faulthandler
import os
import re
import signal
import struct
import sys
import threading

import wasmer
import wasmer_compiler_cranelift
from wasmer import wasi as wasmer_wasi

from .._errors import Trap, WasiExit
from .._wasmbin import FuncType
from ._base import Backend, BackendError, CompiledModule, Instance, Memory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .._manifest import Limits, Wasi
    from ._base import RawFunction


def _in_subinterpreter() -> bool:
    try:
        import _xxsubinterpreters as interpreters  # type: ignore[import-not-found]
    except ImportError:        # pragma: no cover - every CPython wasmer runs on has it
        return False
    return bool(interpreters.get_current() != interpreters.get_main())


if _in_subinterpreter():
    # (wasmer 1.1's pyo3 binding hangs compiling a module there)
    raise ImportError("wasmer 1.1 cannot run in a subinterpreter")


_TYPES = {"i32": wasmer.Type.I32, "i64": wasmer.Type.I64, "f32": wasmer.Type.F32,
          "f64": wasmer.Type.F64}
# wasmer's trap messages -> (kind, the wording the wasmtime backend uses), so a trap reads
# the same whichever engine ran the code
_TRAPS = {
    "unreachable": ("unreachable", "wasm `unreachable` instruction executed"),
    "integer divide by zero": ("integer_division_by_zero", "integer divide by zero"),
    "integer overflow": ("integer_overflow", "integer overflow"),
    "out of bounds memory access": ("memory_out_of_bounds", "out of bounds memory access"),
    "call stack exhausted": ("stack_overflow", "call stack exhausted"),
    "invalid conversion to integer": ("bad_conversion_to_integer",
                                      "invalid conversion to integer"),
    "indirect call type mismatch": ("bad_signature", "indirect call type mismatch"),
    "uninitialized element": ("indirect_call_to_null", "uninitialized element"),
    "undefined element: out of bounds table access": (
        "table_out_of_bounds", "undefined element: out of bounds table access"),
    "misaligned heap": ("heap_misaligned", "misaligned heap"),
    "unaligned atomic access": ("heap_misaligned", "unaligned atomic access"),
}
_FRAME = re.compile(r"^\s*at (.*) \((.*)\[(\d+)\]:0x([0-9a-fA-F]+)\)$")
_MESSAGE_LIMIT = 1 << 16    # a stack overflow's message lists every frame: megabytes
_EXIT = re.compile(r"WASI exited with code: (\d+)")


def _reason(lines: list[str], default: str) -> str:
    """The first line of one of wasmer's RuntimeErrors ("RuntimeError: reason\\n    at ...")."""
    return lines[0].removeprefix("RuntimeError: ").strip() if lines else default


def _trap(exc: BaseException, label: str, instance: Instance) -> Trap:
    """The Trap for one of wasmer's RuntimeErrors, with its frames."""
    text = str(exc)
    lines = text[:_MESSAGE_LIMIT].splitlines()
    reason = _reason(lines, "wasm trap")
    kind, wording = _TRAPS.get(reason, (None, reason))
    if len(text) > _MESSAGE_LIMIT:
        lines.pop()                    # cut short
    raw = []
    for line in lines[1:]:
        match = _FRAME.match(line)
        if match:
            function, module, index, offset = match.groups()
            raw.append((None if module == "<module>" else module,
                        None if function == "<unnamed>" else function,
                        int(index), int(offset, 16)))
    return Trap(f"{label}: wasm trap: {wording}", kind=kind, frames=instance.frames(raw))


class _FaultHandlers:
    """wasmer's handlers of the signals its traps arrive by, kept above faulthandler's.

    wasmer 1.1 turns a trap into an exception in SIGSEGV/SIGILL/SIGFPE handlers it installs
    with its first store, and cannot trap without them.  A handler installed over them
    afterwards takes the next trap for a crash: ``faulthandler.enable()`` (pytest's, say)
    prints "Fatal Python error" and the process dies.  So every call compares
    ``faulthandler.is_enabled()`` with what it was at the last look, and when it changed
    puts wasmer's handlers back on top (their ``struct sigaction`` copied as opaque bytes).
    A handler some other library installs with sigaction or ``signal.signal`` is not seen
    (docs/backends.md); the wasmtime backend needs no signal handler at all.
    """

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGSEGV", "SIGILL", "SIGFPE", "SIGBUS")
                    if hasattr(signal, name))
    _SIZE = 512          # more than any platform's struct sigaction

    def __init__(self) -> None:
        self._sigaction: Any = ctypes.CDLL(None, use_errno=True).sigaction \
            if hasattr(os, "fork") else None     # (POSIX; wasmer uses no signals elsewhere)
        self._wasmer = [self._current(sig) for sig in self.SIGNALS] if self._sigaction else []
        self.enabled = faulthandler.is_enabled()

    def _current(self, sig: int) -> Any:
        action = ctypes.create_string_buffer(self._SIZE)
        self._sigaction(sig, None, action)
        return action

    def restack(self) -> None:
        """faulthandler was enabled or disabled since the last call: wasmer's handlers go
        back on top."""
        self.enabled = faulthandler.is_enabled()
        for sig, action in zip(self.SIGNALS, self._wasmer):
            self._sigaction(sig, action, None)


_FAULTS: list[_FaultHandlers] = []    # made with the process's first wasmer store


class WasmerMemory(Memory):
    """A wasmer memory, seen through a memoryview renewed when the memory grows (its base
    never moves: wasmer reserves the whole address range up front)."""

    def __init__(self, memory: Any, owner: WasmerInstance):
        self._memory = memory
        self._owner = owner

    def size(self) -> int:
        self._owner.check_thread("its memory")
        size: int = self._memory.data_size
        if size != self._known:
            self._view = memoryview(self._memory.buffer).cast("B")
            self._known = size
        return size

    def view(self) -> memoryview:
        self._owner.check_thread("its memory")
        return memoryview(self._memory.buffer).cast("B")   # the buffer holds the memory


class WasmerInstance(Instance):
    """One ``wasmer.Instance``, its host functions wrapped to note what they raise."""

    def __init__(self, backend: WasmerBackend, compiled: WasmerCompiled,
                 host: list[tuple[str, str, FuncType, RawFunction]],
                 wasi: tuple[Wasi, str] | None):
        self.lock = _thread.RLock()
        self.thread = threading.get_ident()
        self._thread_name = threading.current_thread().name
        self._store = backend.store
        self._pending: BaseException | None = None   # what a host function raised
        self._host_depth = 0           # host calls running now (wasm -> host -> wasm)
        imports: dict[str, dict[str, Any]] = {}
        self._wasi = None
        if wasi is not None:
            self._wasi = _WasiRouter(backend, compiled, wasi[0], self)
            imports = self._wasi.imports
        for module, name, functype, raw in host:
            imports.setdefault(module, {})[name] = self.host(raw, functype)
        import_object = wasmer.ImportObject()
        for module, functions in imports.items():
            import_object.register(module, functions)
        try:
            self._instance = wasmer.Instance(compiled.module, import_object)
        except RuntimeError as exc:
            reason = _reason(str(exc)[:_MESSAGE_LIMIT].splitlines(), "unknown error")
            if reason in _TRAPS:
                raise BackendError(f"instantiation failed: the start function trapped "
                                   f"({_TRAPS[reason][0]}): {_TRAPS[reason][1]}") from None
            raise BackendError(f"instantiation failed: {reason}") from None
        self._exports = self._instance.exports
        if self._wasi is not None:
            self._wasi.attach(self)

    def host(self, raw: RawFunction, functype: FuncType) -> Any:
        """A ``wasmer.Function`` calling ``raw``, noting (and re-raising) what it raises."""
        def call(*core: Any) -> Any:
            self._host_depth += 1
            try:
                return raw(*core)
            except BaseException as exc:
                self._pending = exc
                raise
            finally:
                self._host_depth -= 1
        return wasmer.Function(self._store, call, _functype(functype))

    def check_thread(self, what: str) -> None:
        """Refuse to reach wasmer from a thread other than the one that made the instance."""
        if threading.get_ident() != self.thread:
            raise RuntimeError(self.wrong_thread(what))

    def wrong_thread(self, what: str) -> str:
        return (f"{what}: the wasmer backend runs a module only in the thread that imported "
                f"it ({self._thread_name!r}), because wasmer 1.1's objects are bound to their "
                f"thread; call it from there, or use the wasmtime backend")

    def export(self, export: str, kind: type, what: str) -> Any:
        """The export called ``export``, checked to be a ``kind`` (callers check the
        thread first)."""
        try:
            item = getattr(self._exports, export)
        except (AttributeError, LookupError, RuntimeError):
            raise BackendError(f"the instance has no export {export!r}") from None
        if not isinstance(item, kind):
            raise BackendError(f"export {export!r} is not a {what}")
        return item

    def memory(self, export: str) -> Memory:
        self.check_thread(f"export {export!r}")
        return WasmerMemory(self.export(export, wasmer.Memory, "memory"), self)

    def get_global(self, export: str) -> Any:
        self.check_thread(f"global {export!r}")
        return self.export(export, wasmer.Global, "global").value

    def set_global(self, export: str, value: Any) -> None:
        self.check_thread(f"global {export!r}")
        self.export(export, wasmer.Global, "global").value = value

    def captured(self, stream: str) -> bytes:
        if self._wasi is None or stream not in self._wasi.captured:
            raise ValueError(f"[wasi] {stream} is not captured")
        return bytes(self._wasi.captured[stream])

    def set_wasi_args(self, argv: list[str] | None) -> None:
        assert self._wasi is not None
        self._wasi.set_args(argv)

    def fail(self, exc: BaseException, label: str) -> None:
        """Raise what a failed call means: a host function's exception as itself, a WASI
        exit as WasiExit, a trap as Trap."""
        pending, self._pending = self._pending, None
        if self.on_trap is not None and not self._host_depth:
            self.on_trap()           # a nested call leaves the outer frames' C stack alone
        if pending is not None and exc is pending:
            if hasattr(pending, "add_note"):
                pending.add_note(f"raised in a host function called by wasm, in {label}")
            raise self.guest_frames(pending, ())   # wasmer gives no frames: the host's only
        if not isinstance(exc, RuntimeError):
            raise exc
        exit_status = _EXIT.search(str(exc)[:_MESSAGE_LIMIT])
        if exit_status is not None:
            status = int(exit_status.group(1))
            raise WasiExit(f"{label}: the guest exited with status {status}", status) from None
        trap = _trap(exc, label, self)
        raise self.guest_frames(trap, trap.frames) from None

    def function(self, export: str, functype: FuncType, label: str,
                 release_gil: bool = False) -> RawFunction:
        # configured() refused release_gil = true: wasmer holds the GIL for every call
        self.check_thread(label)
        call = self.export(export, wasmer.Function, "function")
        acquire, release, fail = self.lock.acquire, self.lock.release, self.fail
        owner, ident = self.thread, threading.get_ident
        faults, enabled = _FAULTS[0], faulthandler.is_enabled

        def raw(*args: Any) -> Any:
            if ident() != owner:
                raise RuntimeError(self.wrong_thread(label))
            if enabled() is not faults.enabled:
                faults.restack()
            acquire()
            try:
                return call(*args)
            except BaseException as exc:  # noqa: BLE001 - fail() raises it, or what it means
                fail(exc, label)
            finally:
                release()
        return raw


def _functype(functype: FuncType) -> Any:
    return wasmer.FunctionType([_TYPES[t] for t in functype.params],
                               [_TYPES[t] for t in functype.results])


_WASI = "wasi_snapshot_preview1"
_ERRNO_SUCCESS, _ERRNO_BADF, _ERRNO_IO = 0, 8, 29
_U32 = struct.Struct("<I")
_IOVEC = struct.Struct("<II")


class _WasiRouter:
    """WASI preview 1 from wasmer, with what wasmimport's ``[wasi]`` promises put in front.

    wasmer gives a guest the process's stdin, stdout and stderr, and fixes its arguments
    when it starts.  So ``fd_write``, ``fd_read``, ``args_sizes_get`` and ``args_get`` are
    answered here, from the manifest: "null" discards output and reads end of file,
    "capture" keeps output for ``captured()``, "inherit" uses the process's fd.  With no
    preopens (``configured()`` refuses them) fds 0-2 are the only ones a guest can have.
    Environment, clocks and randomness are wasmer's.
    """

    def __init__(self, backend: WasmerBackend, compiled: WasmerCompiled, wasi: Wasi,
                 owner: WasmerInstance):
        assert not wasi.preopens, "configured() refuses preopens"
        self.wasi = wasi
        self.captured: dict[str, bytearray] = {
            s: bytearray() for s in ("stdout", "stderr") if getattr(wasi, s) == "capture"}
        self._modes = {1: wasi.stdout, 2: wasi.stderr}
        builder = wasmer_wasi.StateBuilder("wasm")
        for name, value in wasi.env:
            builder = builder.environment(name, value)
        version = wasmer_wasi.get_version(compiled.module, strict=False) \
            or wasmer_wasi.Version.SNAPSHOT1
        self.imports: dict[str, dict[str, Any]] = builder.finalize().generate_imports(
            backend.store, version)
        functions = self.imports.setdefault(_WASI, {})
        for name, fn, params in (("fd_write", self.fd_write, 4), ("fd_read", self.fd_read, 4),
                                 ("args_sizes_get", self.args_sizes_get, 2),
                                 ("args_get", self.args_get, 2)):
            functions[name] = owner.host(fn, FuncType(("i32",) * params, ("i32",)))
        self._memory: Memory | None = None
        self.set_args(None)

    def attach(self, instance: WasmerInstance) -> None:
        """Read and write the guest's memory from now on (it exists once instantiated)."""
        try:
            self._memory = instance.memory("memory")
        except BackendError:
            self._memory = None

    def set_args(self, argv: list[str] | None) -> None:
        args = list(self.wasi.args if argv is None else argv)
        self._args = [arg.encode("utf-8") + b"\0" for arg in args]

    def _guest(self) -> Memory:
        if self._memory is None:
            raise Trap("WASI needs the guest to export its memory as \"memory\"")
        return self._memory

    def args_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        memory = self._guest()
        memory.write(count_ptr & 0xFFFFFFFF, _U32.pack(len(self._args)))
        memory.write(size_ptr & 0xFFFFFFFF, _U32.pack(sum(map(len, self._args))))
        return _ERRNO_SUCCESS

    def args_get(self, argv_ptr: int, buf_ptr: int) -> int:
        memory = self._guest()
        argv_ptr &= 0xFFFFFFFF
        buf_ptr &= 0xFFFFFFFF
        for i, arg in enumerate(self._args):
            memory.write(argv_ptr + 4 * i, _U32.pack(buf_ptr))
            memory.write(buf_ptr, arg)
            buf_ptr += len(arg)
        return _ERRNO_SUCCESS

    def _iovecs(self, memory: Memory, iovs: int, count: int) -> list[tuple[int, int]]:
        count &= 0xFFFFFFFF
        table = memory.read(iovs & 0xFFFFFFFF, _IOVEC.size * count)
        return [_IOVEC.unpack_from(table, i * _IOVEC.size) for i in range(count)]

    def fd_write(self, fd: int, iovs: int, count: int, written_ptr: int) -> int:
        mode = self._modes.get(fd)
        if mode is None:
            return _ERRNO_BADF
        memory = self._guest()
        data = b"".join(memory.read(ptr, length)
                        for ptr, length in self._iovecs(memory, iovs, count))
        errno, written = _ERRNO_SUCCESS, len(data)
        if mode == "capture":
            self.captured["stdout" if fd == 1 else "stderr"] += data
        elif mode == "inherit":
            try:
                written = os.write(fd, data) if data else 0
            except OSError:
                errno, written = _ERRNO_IO, 0
        memory.write(written_ptr & 0xFFFFFFFF, _U32.pack(written))
        return errno

    def fd_read(self, fd: int, iovs: int, count: int, read_ptr: int) -> int:
        if fd != 0:
            return _ERRNO_BADF
        memory = self._guest()
        vectors = self._iovecs(memory, iovs, count)
        data = b""
        if self.wasi.stdin == "inherit":
            try:
                data = os.read(0, sum(length for _, length in vectors))
            except OSError:
                return _ERRNO_IO
        memory.write(read_ptr & 0xFFFFFFFF, _U32.pack(len(data)))   # 0: end of file
        for ptr, length in vectors:
            memory.write(ptr, data[:length])
            data = data[length:]
        return _ERRNO_SUCCESS


class WasmerCompiled(CompiledModule):
    """A ``wasmer.Module``, shareable between instances of one thread; another thread gets
    its own copy from ``load``, which makes one in the current thread's store."""

    def __init__(self, backend: WasmerBackend, load: Callable[[], Any]):
        self.backend = backend
        self._load = load
        self._modules: dict[int, Any] = {threading.get_ident(): load()}

    @property
    def module(self) -> Any:
        """The ``wasmer.Module`` of the current thread."""
        thread = threading.get_ident()
        module = self._modules.get(thread)
        if module is None:
            module = self._modules[thread] = self._load()
        return module

    def instantiate(self, limits: Limits, host: list[tuple[str, str, FuncType, RawFunction]],
                    wasi: tuple[Wasi, str] | None = None) -> Instance:
        return WasmerInstance(self.backend, self, host, wasi)


class WasmerBackend(Backend):
    """wasmer 1.1 with its Cranelift compiler (CPython 3.10 only)."""

    name = "wasmer"
    limitations = {
        "compiled-calls": "wasmimport's C call path is written against wasmtime's C API",
        "release-gil": "wasmer 1.1 holds the GIL for the whole of every call",
        "wasi-preopens": "wasmer 1.1 follows a symlink out of a preopened folder",
        "wasi-readonly": "wasmer 1.1 opens every preopened folder read-write",
        "limits-memory": "wasmer 1.1 cannot cap a memory from Python",
        "limits-timeout": "wasmer 1.1 cannot stop a running call",
        "limits-fuel": "wasmer 1.1 cannot meter a call",
        "interrupt": "wasmer 1.1 cannot stop a running call: Ctrl-C arrives as it returns",
        "any-thread": "wasmer 1.1's objects are bound to the thread that made them",
        "host-calls-at-exit": "wasmer 1.1 aborts the process when the interpreter finalizes "
                              "while a thread is in a host function",
        "signal-free-traps": "wasmer 1.1 traps through its signal handlers, which wasmimport "
                             "keeps above faulthandler's but not above another library's",
        "multi-memory": "wasmer 1.1 does not implement the multi-memory proposal",
        "subinterpreters": "wasmer 1.1 cannot run in a subinterpreter",
        "exceptions": "wasmer 1.1 does not implement wasm exception handling",
    }

    def __init__(self) -> None:
        self._local = threading.local()     # each thread's store
        self.version = wasmer.__version__
        compiler = getattr(wasmer_compiler_cranelift, "__version__", self.version)
        library = os.path.getsize(wasmer.wasmer.__file__)
        self.cache_tag = (f"{self.name}-{self.version}-{library}-cranelift-{compiler}-"
                          f"universal-{sys.platform}-{os.uname().machine}")

    @property
    def store(self) -> Any:
        """This thread's ``wasmer.Store`` (see the module docstring)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = wasmer.Store(
                wasmer.engine.Universal(wasmer_compiler_cranelift.Compiler))
            if not _FAULTS:
                _FAULTS.append(_FaultHandlers())    # wasmer's handlers are installed now
        return store

    def for_limits(self, limits: Limits) -> Backend:
        return self           # configured() refused every limit: there is nothing to set

    def compile(self, wasm: bytes) -> CompiledModule:
        try:
            return WasmerCompiled(self, lambda: wasmer.Module(self.store, wasm))
        except (RuntimeError, ValueError, TypeError) as exc:
            raise BackendError(_one_line(exc)) from None

    def validate(self, wasm: bytes) -> None:
        if not wasmer.Module.validate(self.store, wasm):
            self.compile(wasm)    # for wasmer's diagnosis, which validate() does not give

    def serialize(self, compiled: CompiledModule) -> bytes:
        assert isinstance(compiled, WasmerCompiled)
        try:
            return bytes(compiled.module.serialize())
        except RuntimeError as exc:
            raise BackendError(f"serialization failed: {_one_line(exc)}") from None

    def deserialize_file(self, path: str) -> CompiledModule:
        # wasmer reads its artifact from bytes and ignores the cache's trailer after it
        try:
            with open(path, "rb") as file:
                data = file.read()
            return WasmerCompiled(self, lambda: wasmer.Module.deserialize(self.store, data))
        except (OSError, RuntimeError, ValueError) as exc:
            raise BackendError(f"cached code is unusable: {_one_line(exc)}") from None

    def wat2wasm(self, text: str) -> bytes:
        try:
            return bytes(wasmer.wat2wasm(text))
        except (RuntimeError, ValueError) as exc:
            raise BackendError(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc)[:_MESSAGE_LIMIT].split())
