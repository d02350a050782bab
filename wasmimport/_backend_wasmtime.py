"""The wasmtime backend, over the wasmtime package's bundled libwasmtime.

Compiling and instantiating go through wasmtime-py's objects (not hot).  Calls do not: its
``Func.__call__`` re-reads the function type and boxes every value on each call (~35 us).
Here each export is bound once to a generated function that writes core values into a
preallocated ``wasmtime_val_raw_t`` array and calls ``wasmtime_func_call_unchecked`` through
a ``ctypes.PyDLL`` handle (which keeps the GIL: wasm runs like C extension code).

Memories never move (``memory_may_move = False`` with the default 4 GiB reservation), so a
memory's base address is read once and buffer views of it stay valid while the instance lives.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import threading
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from ._backend import Backend, BackendError, CompiledModule, Instance, Memory, RawFunction
from ._errors import Trap, TrapFrame
from ._wasmbin import FuncType


def _dist_version() -> str:
    """wasmtime's version from its dist-info folder name (importlib.metadata costs ~15 ms)."""
    site = os.path.dirname(os.path.dirname(os.path.abspath(wasmtime.__file__)))
    with os.scandir(site) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith("wasmtime-") and name.endswith(".dist-info"):
                return name[len("wasmtime-"):-len(".dist-info")]
    return "unknown"   # pragma: no cover - a vendored copy without metadata

_lib = ctypes.PyDLL(str(ffi.filename))
_call_unchecked = _lib.wasmtime_func_call_unchecked
_call_unchecked.restype = ctypes.c_void_p
_call_unchecked.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_size_t, ctypes.c_void_p]

# name of the memoryview over the val_raw array used for each core type, and its stride in
# items per 16-byte slot
_SLOTS = {"i32": ("I32", 4), "i64": ("I64", 2), "f32": ("F32", 4), "f64": ("F64", 2)}


def _error_text(err: int) -> str:
    error = wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, ctypes.POINTER(ffi.wasmtime_error_t)))
    return str(error)


def _trap_from(raw: int, label: str) -> Trap:
    trap = wasmtime.Trap._from_ptr(ctypes.cast(raw, ctypes.POINTER(ffi.wasm_trap_t)))
    lines = [line.strip() for line in trap.message.splitlines() if line.strip()]
    reason = lines[-1] if lines else "wasm trap"
    if not reason.startswith("wasm trap"):
        reason = f"wasm trap: {reason}"
    code = trap.trap_code
    frames = tuple(TrapFrame(f.module_name, f.func_name, f.func_index, f.module_offset)
                   for f in trap.frames)
    return Trap(f"{label}: {reason}", kind=code.name.lower() if code else None, frames=frames)


class WasmtimeMemory(Memory):
    """A wasmtime linear memory seen through one fixed base address."""

    def __init__(self, owner: WasmtimeInstance, memory: wasmtime.Memory):
        self._owner = owner            # keeps the store (and so the memory) alive
        self._context = owner.store._context()
        self._memory = memory
        self._ref = ctypes.byref(memory._memory)
        self._base = ctypes.addressof(memory.data_ptr(owner.store).contents)
        self._known = 0                # a size seen before: memories only grow
        self._view = memoryview(b"")

    def size(self) -> int:
        size: int = ffi.wasmtime_memory_data_size(self._context, self._ref)
        if size != self._known:
            # the view first: a thread that sees the new size must also see the new view
            self._view = memoryview((ctypes.c_ubyte * size).from_address(self._base)).cast("B")
            self._known = size
        return size

    def _check(self, ptr: int, size: int) -> None:
        if ptr < 0 or (ptr + size > self._known and ptr + size > self.size()):
            raise Trap(f"guest memory access out of bounds: {size} bytes at {ptr:#x} "
                       f"(memory is {self._known} bytes)", kind="memory_out_of_bounds")

    def read(self, ptr: int, size: int) -> bytes:
        self._check(ptr, size)
        return self._view[ptr:ptr + size].tobytes()

    def write(self, ptr: int, data: bytes | memoryview) -> None:
        self._check(ptr, len(data))
        self._view[ptr:ptr + len(data)] = data

    def view(self) -> memoryview:
        array = (ctypes.c_ubyte * self.size()).from_address(self._base)
        array._wasmimport_owner = self._owner   # type: ignore[attr-defined]
        return memoryview(array).cast("B")      # the view holds the array, which holds us


class WasmtimeInstance(Instance):
    """One store holding one instance of a module."""

    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module):
        self.lock = threading.RLock()
        self.store = wasmtime.Store(engine)
        try:
            self.instance = wasmtime.Instance(self.store, module, [])
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise BackendError(f"instantiation failed: {exc}") from None
        self.exports = self.instance.exports(self.store)

    def _extern(self, export: str, kind: type) -> Any:
        item = self.exports.get(export)
        if not isinstance(item, kind):
            raise BackendError(f"export {export!r} is not a {kind.__name__.lower()}")
        return item

    def memory(self, export: str) -> Memory:
        return WasmtimeMemory(self, self._extern(export, wasmtime.Memory))

    def get_global(self, export: str) -> Any:
        return self._extern(export, wasmtime.Global).value(self.store)

    def set_global(self, export: str, value: Any) -> None:
        self._extern(export, wasmtime.Global).set_value(self.store, value)

    def function(self, export: str, functype: FuncType, label: str) -> RawFunction:
        func = self._extern(export, wasmtime.Func)
        slots = max(len(functype.params), len(functype.results), 1)
        buf = (ffi.wasmtime_val_raw * slots)()
        raw = memoryview(buf).cast("B")
        trap = ctypes.c_void_p()

        def fail(err: int | None) -> None:
            trapped, trap.value = trap.value, None
            if trapped:
                error = _trap_from(trapped, label)
                if self.on_trap is not None:
                    self.on_trap()
                raise error
            assert err is not None
            raise Trap(f"{label}: {_error_text(err)}")

        namespace: dict[str, Any] = {
            "lock": self.lock, "call": _call_unchecked, "fail": fail, "trap": trap,
            "ctx": ctypes.cast(self.store._context(), ctypes.c_void_p).value,
            "fn": ctypes.addressof(func._func), "buf": ctypes.addressof(buf),
            "trapp": ctypes.addressof(trap), "n": slots,
            "I32": raw.cast("i"), "I64": raw.cast("q"), "F32": raw.cast("f"), "F64": raw.cast("d"),
            "_keep": (func, buf, self),
        }
        exec(_raw_source(functype), namespace)
        result: RawFunction = namespace["raw"]
        return result


def _raw_source(functype: FuncType) -> str:
    """Python source of a raw caller specialised to one core signature."""
    args = [f"a{i}" for i in range(len(functype.params))]
    lines = [f"def raw({', '.join(args)}):", "    with lock:"]
    for i, core in enumerate(functype.params):
        view, stride = _SLOTS[core]
        lines.append(f"        {view}[{i * stride}] = a{i}")
    lines.append("        err = call(ctx, fn, buf, n, trapp)")
    lines.append("        if err or trap.value:")
    lines.append("            fail(err)")
    results = [f"{_SLOTS[core][0]}[{i * _SLOTS[core][1]}]"
               for i, core in enumerate(functype.results)]
    if len(results) == 1:
        lines.append(f"        return {results[0]}")
    elif results:
        lines.append(f"        return ({', '.join(results)})")
    return "\n".join(lines) + "\n"


class WasmtimeCompiled(CompiledModule):
    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module):
        self.engine = engine
        self.module = module

    def instantiate(self) -> Instance:
        return WasmtimeInstance(self.engine, self.module)


class WasmtimeBackend(Backend):
    """wasmtime, the default backend."""

    name = "wasmtime"
    # every Config setting below, spelled out: a change must change the cache key
    SETTINGS = "memory_may_move=0"

    def __init__(self) -> None:
        config = wasmtime.Config()
        config.memory_may_move = False
        self.engine = wasmtime.Engine(config)
        self.version = _dist_version()
        library = os.stat(ffi.filename)
        self.cache_tag = (f"{self.name}-{self.version}-{library.st_size}-{self.SETTINGS}-"
                          f"{sys.platform}-{platform.machine()}")

    def compile(self, wasm: bytes) -> CompiledModule:
        try:
            module = wasmtime.Module(self.engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise BackendError(" ".join(str(exc).split())) from None
        return WasmtimeCompiled(self.engine, module)

    def serialize(self, compiled: CompiledModule) -> bytes:
        assert isinstance(compiled, WasmtimeCompiled)
        try:
            return bytes(compiled.module.serialize())
        except wasmtime.WasmtimeError as exc:
            raise BackendError(str(exc)) from None

    def deserialize_file(self, path: str) -> CompiledModule:
        try:
            return WasmtimeCompiled(self.engine,
                                    wasmtime.Module.deserialize_file(self.engine, path))
        except wasmtime.WasmtimeError as exc:
            raise BackendError(str(exc)) from None

    def wat2wasm(self, text: str) -> bytes:
        try:
            return bytes(wasmtime.wat2wasm(text))
        except wasmtime.WasmtimeError as exc:
            raise BackendError(str(exc).strip()) from None
