"""The wasmtime backend, straight over libwasmtime's C API (see ``_wasmtime_capi``).

Each export is bound once to a generated function that writes core values into a
preallocated ``wasmtime_val_raw_t`` array and calls ``wasmtime_func_call_unchecked`` through a
GIL-holding handle, so wasm runs like C extension code.  wasmtime-py's ``Func.__call__``, by
contrast, re-reads the function type and boxes every value on each call (~35 us).

Memories never move (``memory_may_move = false`` with the default 4 GiB reservation), so a
memory's base address is read once and buffer views of it stay valid while the instance lives.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import sys
from ctypes import byref, c_void_p

from .._errors import LimitExceeded, Trap, WasiExit
from .._extension import core_codes, extension, needs_extension, speedups
from .._wasmbin import FuncType
from . import _wasmtime_capi as capi
from ._base import Backend, BackendError, CompiledModule, Instance, Memory, size_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .._manifest import Limits, Wasi
    from ._base import RawFunction

# the memoryview over the val_raw array used for each core type, and its stride in items
# per 16-byte slot
_SLOTS = {"i32": ("I32", 4), "i64": ("I64", 2), "f32": ("F32", 4), "f64": ("F64", 2)}
_VAL_RAW_SIZE = 16
_raw_code_cache: dict[FuncType, Any] = {}
_WATCHING: list[bool] = []      # non-empty once the fork hook of the watchdog is registered


def _dist_version(library: str) -> str:
    """wasmtime's version, from the dist-info folder beside the package (no metadata import)."""
    site = os.path.dirname(os.path.dirname(os.path.dirname(library)))
    with os.scandir(site) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith("wasmtime-") and name.endswith(".dist-info"):
                return name[len("wasmtime-"):-len(".dist-info")]
    return "unknown"   # pragma: no cover - a vendored copy without metadata


def last_line(message: str, default: str) -> str:
    """The reason in wasmtime's error ``message``: its last line (those before it are the
    context wasmtime adds, such as the backtrace)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1] if lines else default


def _trap(raw: int, label: str, instance: Instance) -> Trap:
    message, kind, frames = capi.trap_details(raw)
    reason = last_line(message, "wasm trap")
    if not reason.startswith("wasm trap"):
        reason = f"wasm trap: {reason}"
    return Trap(f"{label}: {reason}", kind=kind, frames=instance.frames(frames))


def out_of_memory(label: str, asked: int, cap: int, trap: Trap) -> LimitExceeded:
    """The LimitExceeded for a call that trapped after the memory cap refused to grow."""
    exc = LimitExceeded(f"{label}: the guest ran out of memory: it asked to grow its memory "
                        f"to {size_text(asked)}, past [limits] memory = {size_text(cap)}", "memory",
                        trap.frames)
    exc.__cause__ = trap
    return exc


def _check(error: int | None, what: str = "") -> None:
    if error:
        message = " ".join(capi.error_message(error).split())
        raise BackendError(f"{what}: {message}" if what else message)


class WasmtimeMemory(Memory):
    """A wasmtime linear memory seen through one fixed base address.

    On the compiled path its views come from the extension's Store, so a view keeps the
    memory alive for as long as it is not released; the pure path's are ctypes arrays.
    """

    def __init__(self, owner: WasmtimeInstance, extern: int):
        self._owner = owner            # keeps the store (and so the memory) alive
        self._ctx = owner.ctx
        self._extern = extern
        self._base: int = capi.nogil.wasmtime_memory_data(owner.ctx, extern) or 0
        native = owner.native_store
        self._handle = ctypes.string_at(extern, capi.EXTERN_SIZE - capi.EXTERN_UNION_OFFSET)
        self._native_view = native.view if native is not None else None

    def size(self) -> int:
        size: int = capi.nogil.wasmtime_memory_data_size(self._ctx, self._extern)
        if size != self._known:
            # the view first: a thread that sees the new size must also see the new view
            self._view = self._new_view(size)
            self._known = size
        return size

    def _new_view(self, size: int) -> memoryview:
        if self._native_view is not None:
            view: memoryview = self._native_view(self._handle)
            return view
        array = (ctypes.c_ubyte * size).from_address(self._base)
        array._wasmimport_owner = self._owner   # type: ignore[attr-defined]
        return memoryview(array).cast("B")      # the view holds the array, which holds us

    def view(self) -> memoryview:
        return self._new_view(self.size())


def watched_store(backend: WasmtimeBackend, store: int, ctx: int, limits: Limits,
                  fail: Callable[..., BaseException]) -> Any:
    """The extension's Store for an engine store of ``backend`` (then its owner): the lock,
    the watchdog's state (Ctrl-C, timeout) and the fuel of every call; or None on the pure
    path, where no watchdog runs and epochs never end a call (the limits that would need one
    are refused).  ``[limits] memory`` is held here either way."""
    native = speedups()
    guard = None
    if native is not None:
        ticks = -(-int(limits.timeout * 1000) // native.TICK_MS) if limits.timeout else 0
        guard = native.Store(
            store=store, delete=capi.address(capi.nogil.wasmtime_store_delete),
            engine=backend.native_engine, ctx=ctx,
            call=capi.address(capi.gil.wasmtime_func_call_unchecked),
            memory_data=capi.address(capi.nogil.wasmtime_memory_data),
            memory_size=capi.address(capi.nogil.wasmtime_memory_data_size),
            fail=fail, set_fuel=capi.address(capi.nogil.wasmtime_context_set_fuel),
            error_new=capi.address(capi.nogil.wasmtime_error_new),
            trap_new=capi.address(capi.nogil.wasmtime_trap_new),
            timeout_ticks=ticks, fuel=limits.fuel or 0,
            memory_cap=limits.memory if backend.capped else 0)
        capi.nogil.wasmtime_store_epoch_deadline_callback(store, native.DEADLINE_CALLBACK,
                                                          id(guard), None)
        capi.nogil.wasmtime_context_set_epoch_deadline(ctx, 1)
    else:
        capi.nogil.wasmtime_context_set_epoch_deadline(ctx, 1 << 62)
    if limits.memory is not None and not backend.capped:
        capi.nogil.wasmtime_store_limiter(store, limits.memory, -1, -1, -1, -1)
    return guard


def capture_file(stream: str) -> str:
    """A new empty file to receive ``stream`` (``[wasi] stream = "capture"``): a file, not a
    Python callback, since wasmtime may write from its own threads, which must not need the
    GIL the calling thread holds.  Its owner deletes it."""
    import tempfile  # only here: importing it costs ~10 ms
    fd, path = tempfile.mkstemp(prefix=f"wasmimport-{stream}-")
    os.close(fd)
    return path


def read_captured(files: dict[str, str], stream: str) -> bytes:
    """What the guest wrote so far to ``stream``, captured into ``files[stream]``."""
    try:
        with open(files[stream], "rb") as file:
            return file.read()
    except KeyError:
        raise ValueError(f"[wasi] {stream} is not captured") from None


def stopped_call(label: str, limits: Limits, kind: str | None, reason: str | None,
                 frames: Any) -> Trap | None:
    """The error of a call that [limits] (fuel: the trap's ``kind``) or the watchdog
    (``reason``: "timeout", "interrupt") stopped, else None."""
    if kind == "out_of_fuel":
        return LimitExceeded(f"{label}: the call used up its fuel ([limits] fuel = "
                             f"{limits.fuel})", "out_of_fuel", frames)
    if reason == "timeout":
        return LimitExceeded(f"{label}: the call ran past its time limit ([limits] "
                             f"timeout = {limits.timeout:g} s)", "timeout", frames)
    if reason == "interrupt":
        return Trap(f"{label}: wasm call interrupted by SIGINT", "interrupt", frames)
    return None


class WasmtimeInstance(Instance):
    """One store holding one instance of a module.

    On the compiled path the extension's Store owns the engine store (and deletes it once
    nothing can reach it any more); on the pure path this object does, in ``__del__``,
    after which its functions raise ReferenceError instead of reaching a deleted store.
    """

    def __init__(self, backend: WasmtimeBackend, compiled: WasmtimeCompiled, limits: Limits,
                 host: list[tuple[str, str, FuncType, RawFunction]],
                 wasi: tuple[Wasi, str] | None):
        self.compiled = compiled       # the code must outlive the instance
        self.limits = limits
        self.wasi = wasi
        self._captured: dict[str, str] = {}    # stream -> file receiving it ("capture")
        self._keep: list[Any] = []     # strings the store refers to
        self._raw: list[dict[str, Any]] = []   # the pure path's raw callers' namespaces
        self.store: int | None = None  # the engine store, when this object owns it (pure)
        store: int = capi.nogil.wasmtime_store_new(backend.engine, None, None)
        self.ctx: int = capi.nogil.wasmtime_store_context(store)
        self.native_store = watched_store(backend, store, self.ctx, limits,
                                          WasmtimeInstance.failure)
        if self.native_store is not None:
            self.lock = self.native_store
        else:
            self.store = store
            self.lock = _thread.RLock()
        self._instance = (ctypes.c_ubyte * 16)()
        trap = c_void_p()
        if wasi is not None:
            self.set_wasi_args(None)
        if host and self.native_store is None:
            raise BackendError(needs_extension("[imports] (host functions)"))
        if self.native_store is not None:
            self.native_store.making_memories(True)   # the memories belong to this store
        try:
            if host or wasi is not None:
                error = self._instantiate_with(backend.engine, compiled, host, trap)
            else:
                error = capi.gil.wasmtime_instance_new(self.ctx, compiled.module, None, 0,
                                                       self._instance, byref(trap))
        finally:
            if self.native_store is not None:
                self.native_store.making_memories(False)
        if trap.value:
            message, kind, _ = capi.trap_details(trap.value)
            raise BackendError(f"instantiation failed: the start function trapped ({kind}): "
                               f"{message.strip()}")
        _check(error, "instantiation failed")
        self._externs: dict[str, tuple[str, Any]] = {}

    def __del__(self, _delete: Any = capi.nogil.wasmtime_store_delete,
                _unlink: Any = os.unlink, _finalizing: Any = sys.is_finalizing) -> None:
        store = getattr(self, "store", None)
        if store and not _finalizing():   # at exit the process frees it: calls keep working
            for namespace in self._raw:     # what might still call: raise, not crash
                namespace["call"] = _finalized(namespace["label"])
            self.store = None
            _delete(store)
        for path in getattr(self, "_captured", {}).values():
            try:
                _unlink(path)
            except OSError:
                pass

    def captured(self, stream: str) -> bytes:
        return read_captured(self._captured, stream)

    def _instantiate_with(self, engine: int, compiled: WasmtimeCompiled,
                          host: list[tuple[str, str, FuncType, RawFunction]],
                          trap: c_void_p) -> int | None:
        """Instantiate through a linker that defines the host functions."""
        linker = capi.nogil.wasmtime_linker_new(engine)
        try:
            if self.wasi is not None:
                _check(capi.nogil.wasmtime_linker_define_wasi(linker), "cannot provide WASI")
            native = extension()      # present: the Store above comes from it
            for module, name, functype, raw in host:
                env = native.Host(store=self.native_store, raw=raw,   # the Store keeps it
                                  params=core_codes(functype.params),
                                  results=core_codes(functype.results))
                ctype = capi.functype(functype.params, functype.results)
                mod, item = module.encode("utf-8"), name.encode("utf-8")
                error = capi.nogil.wasmtime_linker_define_func_unchecked(
                    linker, mod, len(mod), item, len(item), ctype, native.HOST_TRAMPOLINE,
                    env.address, None)
                capi.nogil.wasm_functype_delete(ctype)
                _check(error, f"cannot provide {module}.{name}")
            result: int | None = capi.gil.wasmtime_linker_instantiate(
                linker, self.ctx, compiled.module, self._instance, byref(trap))
            return result
        finally:
            capi.nogil.wasmtime_linker_delete(linker)

    def set_wasi_args(self, argv: list[str] | None) -> None:
        """Give the store a fresh WASI context from ``[wasi]`` (with ``argv``, if given)."""
        assert self.wasi is not None
        wasi, base = self.wasi
        config = capi.nogil.wasi_config_new()
        args = list(wasi.args if argv is None else argv)
        names, values = [k for k, _ in wasi.env], [v for _, v in wasi.env]
        keep = [capi.strings(args), capi.strings(names), capi.strings(values)]
        capi.nogil.wasi_config_set_argv(config, len(args), keep[0])
        capi.nogil.wasi_config_set_env(config, len(names), keep[1], keep[2])
        if wasi.stdin == "inherit":
            capi.nogil.wasi_config_inherit_stdin(config)
        for stream, mode, inherit, to_file in (
                ("stdout", wasi.stdout, capi.nogil.wasi_config_inherit_stdout,
                 capi.nogil.wasi_config_set_stdout_file),
                ("stderr", wasi.stderr, capi.nogil.wasi_config_inherit_stderr,
                 capi.nogil.wasi_config_set_stderr_file)):
            if mode == "inherit":
                inherit(config)
            elif mode == "capture":
                # a file, not a Python callback: wasmtime may write from its own threads,
                # which must not need the GIL that the calling thread holds
                if stream not in self._captured:
                    self._captured[stream] = capture_file(stream)
                to_file(config, os.fsencode(self._captured[stream]))
        for guest_path, host_path, writable in wasi.preopens:
            folder = os.path.join(base, host_path)
            if not os.path.isdir(folder):
                raise BackendError(f"[wasi] preopens {guest_path!r}: {folder} is not a folder")
            if not capi.nogil.wasi_config_preopen_dir(config, os.fsencode(folder),
                                                      guest_path.encode("utf-8"), writable):
                raise BackendError(f"[wasi] preopens {guest_path!r}: cannot open {folder}")
        _check(capi.nogil.wasmtime_context_set_wasi(self.ctx, config), "cannot set up WASI")
        self._keep.extend(keep)

    def failure(self, error: int, trapped: int, label: str) -> BaseException:
        """What a failed call raises (``label`` starts the message), the guest's frames in
        its traceback; frees both.  It is returned, not raised, so that the traceback goes
        from the caller straight to the guest's frames (the C path raises it)."""
        guard = self.native_store
        pending = guard.take_pending() if guard is not None else None
        stopped = guard.take_reason() if guard is not None else None
        refused = guard.refused_growth() if guard is not None else None
        if trapped:
            exc = _trap(trapped, label, self)
            if error:
                capi.error_message(error)
        else:
            status = capi.exit_status(error)
            message, frames = capi.error_details(error)
            if status is not None:
                raise WasiExit(f"{label}: the guest exited with status {status}", status)
            exc = Trap(f"{label}: {message}", frames=self.frames(frames))
        limited = stopped_call(label, self.limits, exc.kind, stopped, exc.frames)
        if limited is not None:
            exc = limited
        elif refused is not None and pending is None:
            # the guest trapped after [limits] memory refused it memory during this call
            exc = out_of_memory(label, refused, self.limits.memory or 0, exc)
        # a nested call (wasm -> host -> wasm) leaves the outer frames' C stack alone
        if self.on_trap is not None and not (guard is not None and guard.host_depth):
            self.on_trap()
        if pending is not None:     # a host function raised: that exception, as itself
            if hasattr(pending, "add_note"):
                pending.add_note(f"raised in a host function called by wasm, in {label}"
                                 + (f"; wasm backtrace:\n{exc.backtrace}" if exc.frames
                                    else ""))
            return self.guest_frames(pending, exc.frames)
        if stopped == "interrupt":
            extension().raise_interrupt()    # KeyboardInterrupt, or what the handler raises
        return self.guest_frames(exc, exc.frames)

    def native_handle(self, export: str, kind: str) -> bytes:
        return ctypes.string_at(self._extern(export, kind), capi.EXTERN_SIZE -
                                capi.EXTERN_UNION_OFFSET)

    def _extern(self, export: str, kind: str) -> int:
        """The address of the export's ``wasmtime_extern_t`` union (kept alive here)."""
        found = self._externs.get(export)
        if found is None:
            item = (ctypes.c_ubyte * capi.EXTERN_SIZE)()
            name = export.encode("utf-8")
            if not capi.nogil.wasmtime_instance_export_get(self.ctx, self._instance, name,
                                                           len(name), item):
                raise BackendError(f"the instance has no export {export!r}")
            found = self._externs[export] = (capi.EXTERN_KINDS.get(item[0], "?"), item)
        if found[0] != kind:
            raise BackendError(f"export {export!r} is a {found[0]}, not a {kind}")
        return ctypes.addressof(found[1]) + capi.EXTERN_UNION_OFFSET

    def memory(self, export: str) -> Memory:
        return WasmtimeMemory(self, self._extern(export, "memory"))

    def get_global(self, export: str) -> Any:
        value = (ctypes.c_ubyte * capi.VAL_SIZE)()
        capi.nogil.wasmtime_global_get(self.ctx, self._extern(export, "global"), value)
        if value[0] != capi.VAL_I32:
            raise BackendError(f"global {export!r} is not an i32")
        offset = capi.VAL_UNION_OFFSET
        return int.from_bytes(bytes(value[offset:offset + 4]), "little", signed=True)

    def set_global(self, export: str, value: Any) -> None:
        raw = (ctypes.c_ubyte * capi.VAL_SIZE)()
        raw[0] = capi.VAL_I32
        offset = capi.VAL_UNION_OFFSET
        raw[offset:offset + 4] = list(int(value).to_bytes(4, "little", signed=True))
        _check(capi.nogil.wasmtime_global_set(self.ctx, self._extern(export, "global"), raw),
               f"setting global {export!r}")

    def function(self, export: str, functype: FuncType, label: str,
                 release_gil: bool = False) -> RawFunction:
        func = self._extern(export, "func")
        slots = max(len(functype.params), len(functype.results), 1)
        buf = (ctypes.c_ubyte * (slots * _VAL_RAW_SIZE))()
        raw = memoryview(buf).cast("B")
        trap = c_void_p()

        def fail(error: int | None) -> BaseException:
            trapped, trap.value = trap.value, None
            return self.failure(error or 0, trapped or 0, label)

        namespace: dict[str, Any] = {
            "acquire": self.lock.acquire, "release": self.lock.release,
            "call": capi.call_nogil if release_gil else capi.call_gil, "fail": fail,
            "trap": trap, "label": label,
            # the arguments as ready-made ctypes objects: ctypes converts nothing per call
            "args": (c_void_p(self.ctx), c_void_p(func), c_void_p(ctypes.addressof(buf)),
                     ctypes.c_size_t(slots), ctypes.byref(trap)),
            "I32": raw.cast("i"), "I64": raw.cast("q"), "F32": raw.cast("f"), "F64": raw.cast("d"),
            "_keep": (buf, self),
        }
        code = _raw_code_cache.get(functype)
        if code is None:
            code = _raw_code_cache[functype] = compile(_raw_source(functype),
                                                       f"<wasmimport raw {functype}>", "exec")
        exec(code, namespace)
        if self.native_store is None:
            self._raw.append(namespace)
        result: RawFunction = namespace["raw"]
        return result


def _finalized(label: str) -> Callable[..., Any]:
    """What a pure-path raw caller calls once its instance's store is deleted."""
    def call(*args: Any) -> None:
        raise ReferenceError(f"{label}: called after its module's wasm instance was "
                             "finalized (garbage collection or interpreter shutdown)")
    return call


def _raw_source(functype: FuncType) -> str:
    """Python source of a raw caller specialised to one core signature."""
    args = [f"a{i}" for i in range(len(functype.params))]
    # acquire/try/finally: half the cost of `with lock:`
    lines = [f"def raw({', '.join(args)}):", "    acquire()", "    try:"]
    for i, core in enumerate(functype.params):
        view, stride = _SLOTS[core]
        lines.append(f"        {view}[{i * stride}] = a{i}")
    lines.append("        err = call(*args)")
    lines.append("        if err or trap.value:")
    lines.append("            raise fail(err)")
    results = [f"{_SLOTS[core][0]}[{i * _SLOTS[core][1]}]"
               for i, core in enumerate(functype.results)]
    if len(results) == 1:
        lines.append(f"        return {results[0]}")
    elif results:
        lines.append(f"        return ({', '.join(results)})")
    lines.append("    finally:")
    lines.append("        release()")
    return "\n".join(lines) + "\n"


class WasmtimeCompiled(CompiledModule):
    """A ``wasmtime_module_t``, shareable between instances."""

    def __init__(self, backend: WasmtimeBackend, module: int):
        self.backend = backend
        self.module = module

    def __del__(self, _delete: Any = capi.nogil.wasmtime_module_delete) -> None:
        _delete(self.module)

    def instantiate(self, limits: Limits, host: list[tuple[str, str, FuncType, RawFunction]],
                    wasi: tuple[Wasi, str] | None = None) -> Instance:
        return WasmtimeInstance(self.backend, self, limits, host, wasi)


class WasmtimeBackend(Backend):
    """wasmtime, the default backend.

    Limits that change the engine's configuration get sibling engines, made on demand and
    shared: fuel metering changes the compiled code, so does ``interruptible = false``
    (no epoch checks), and ``[limits] memory`` on the compiled path has the extension make
    the engine's memories, so that a refused growth can be reported as the limit it is (see
    "Memories" in ``_speedups.c``).
    """

    name = "wasmtime"

    def __init__(self, fuel: bool = False, capped: bool = False, interruptible: bool = True,
                 siblings: dict[tuple[bool, bool, bool], WasmtimeBackend] | None = None
                 ) -> None:
        native = extension()      # (an engine serves modules with and without it)
        config = capi.nogil.wasm_config_new()
        capi.nogil.wasmtime_config_memory_may_move_set(config, False)
        # epochs stop a running call (Ctrl-C, [limits] timeout): a check at every function
        # entry and loop iteration of the compiled code, ~20% of Brotli's instructions
        capi.nogil.wasmtime_config_epoch_interruption_set(config, interruptible)
        capi.nogil.wasmtime_config_consume_fuel_set(config, fuel)
        # traps are explicit checks in the compiled code, not signals: a trap stays a Trap
        # whatever faulthandler (or any library) later does with SIGSEGV, SIGILL or SIGFPE
        capi.nogil.wasmtime_config_signals_based_traps_set(config, False)
        if capped:
            # (copy-on-write memory images need wasmtime's own memories)
            capi.nogil.wasmtime_config_memory_init_cow_set(config, False)
            native.memory_creator(config,
                                  capi.address(capi.nogil.wasmtime_config_host_memory_creator_set),
                                  capi.address(capi.nogil.wasmtime_error_new))
        self.engine: int = capi.nogil.wasm_engine_new_with_config(config)   # owns the config
        self.fuel = fuel
        self.capped = capped
        # every engine setting above, spelled out: a change must change the cache key
        settings = (f"memory_may_move=0,epoch={int(interruptible)},fuel={int(fuel)},"
                    "signals_based_traps=0,"
                    f"memory_creator={int(capped)},memory_init_cow={int(not capped)}")
        library = capi.library_path()
        self.version = _dist_version(library)
        self.cache_tag = (f"{self.name}-{self.version}-{os.stat(library).st_size}-"
                          f"{settings}-{sys.platform}-{capi.machine()}")
        # the extension's Engine owns the engine: watched while it lives, deleted with the
        # last store made from it; without the extension nothing watches and __del__ deletes
        self.native_engine: Any = None
        if native is not None:
            if not _WATCHING and hasattr(os, "register_at_fork"):
                # fork() copies only the forking thread: the child needs its own watchdog
                os.register_at_fork(after_in_child=native.restart_watchdog)
                _WATCHING.append(True)
            self.native_engine = native.Engine(
                engine=self.engine,
                increment_epoch=capi.address(capi.nogil.wasmtime_engine_increment_epoch),
                delete=capi.address(capi.nogil.wasm_engine_delete))
        self._siblings = {} if siblings is None else siblings
        self._siblings[fuel, capped, interruptible] = self

    def __del__(self, _delete: Any = capi.nogil.wasm_engine_delete) -> None:
        if getattr(self, "native_engine", True) is None:
            _delete(self.engine)

    def for_limits(self, limits: Limits) -> Backend:
        native = speedups()
        if (limits.timeout is not None or limits.fuel is not None) and native is None:
            setting = "timeout" if limits.timeout is not None else "fuel"
            raise BackendError(needs_extension(f"[limits] {setting}"))
        # without the extension, wasmtime's store limiter holds the memory cap (silently)
        key = (limits.fuel is not None, limits.memory is not None and native is not None,
               limits.interruptible)
        sibling = self._siblings.get(key)
        if sibling is None:
            sibling = WasmtimeBackend(*key, siblings=self._siblings)
        return sibling

    def compile(self, wasm: bytes) -> CompiledModule:
        module = c_void_p()
        _check(capi.nogil.wasmtime_module_new(self.engine, wasm, len(wasm), byref(module)))
        return WasmtimeCompiled(self, module.value or 0)

    def validate(self, wasm: bytes) -> None:
        _check(capi.nogil.wasmtime_module_validate(self.engine, wasm, len(wasm)))

    def serialize(self, compiled: CompiledModule) -> bytes:
        assert isinstance(compiled, WasmtimeCompiled)
        vec = capi.Vec()
        _check(capi.nogil.wasmtime_module_serialize(compiled.module, byref(vec)),
               "serialization failed")
        return capi.take(vec)

    def deserialize_file(self, path: str) -> CompiledModule:
        module = c_void_p()
        _check(capi.nogil.wasmtime_module_deserialize_file(self.engine, os.fsencode(path),
                                                            byref(module)),
               "cached code is unusable")
        return WasmtimeCompiled(self, module.value or 0)

    def wat2wasm(self, text: str) -> bytes:
        source = text.encode("utf-8")
        vec = capi.Vec()
        error = capi.nogil.wasmtime_wat2wasm(source, len(source), byref(vec))
        if error:
            raise BackendError(capi.error_message(error).strip())
        return capi.take(vec)
