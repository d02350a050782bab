"""The interface every wasm engine implements.

The rest of wasmimport talks only to these classes; nothing outside a backend module asks
which engine is in use.  A backend compiles bytes to a ``CompiledModule``, instantiates it,
and hands out *raw* functions (core wasm values in and out, traps raised as
``wasmimport.Trap``) and memories.  Everything typed happens above this line.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from .._errors import BackendError as BackendError  # re-exported: the backends raise it
from .._errors import Trap, TrapFrame
from .._wasmbin import FuncType

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _thread
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any, Protocol

    from .._manifest import Limits, Manifest, Wasi

    class AllocationError(Protocol):
        """The error for an allocation that was refused (``ptr``, what the allocator
        returned, is unusable) or whose allocator call raised ``trap``."""

        def __call__(self, align: int, size: int, ptr: int,
                     trap: BaseException | None = None) -> BaseException: ...

    RawFunction = Callable[..., Any]

# What a backend may offer (``Backend.features``), for docs and tests; the backends check
# their own settings.
FEATURES = {
    "compiled-calls": "the C call path of wasmimport._speedups",
    "release-gil": "release_gil = true: other Python threads run during the call",
    "host-functions": "[imports] Python functions the guest calls",
    "wasi": "[wasi] WASI preview 1",
    "wasi-preopens": "[wasi] preopens: host folders the guest may open",
    "wasi-readonly": "read-only preopens (mode = \"ro\")",
    "limits-memory": "[limits] memory",
    "limits-timeout": "[limits] timeout",
    "limits-fuel": "[limits] fuel",
    "interrupt": "Ctrl-C stops a running call",
    "any-thread": "a module's functions can be called from any thread",
    "host-calls-at-exit": "a daemon thread may be inside a host function at interpreter exit",
    "signal-free-traps": "traps raise no signal: any library may install signal handlers",
    "subinterpreters": "modules import and run in subinterpreters (legacy and own-GIL)",
    "multi-memory": "modules with more than one memory (the multi-memory proposal)",
    "exceptions": "modules using wasm exception handling (exnref)",
    "memory-view": "a module's memory attribute is a zero-copy memoryview",
    "wat": "text modules (.wat files, wat source given to load())",
}


def size_text(size: int) -> str:
    """Bytes as a user reads them, in every backend's messages: 16 MiB (16777216 bytes)."""
    return f"{size / (1 << 20):g} MiB ({size} bytes)"


class Memory(ABC):
    """A guest linear memory: bounds-checked reads and writes, and a buffer view.

    A subclass keeps ``_view``, a byte view of the memory as ``size()`` last saw it, and
    ``_known``, that size; ``size()`` renews both when the memory has grown (memories only
    grow, and wasmimport's engines never move them).
    """

    _known = 0
    _view = memoryview(b"")

    @abstractmethod
    def size(self) -> int:
        """Current size in bytes (renewing ``_view`` and ``_known`` when it changed)."""

    def _check(self, ptr: int, size: int) -> None:
        if ptr < 0 or (ptr + size > self._known and ptr + size > self.size()):
            raise Trap(f"guest memory access out of bounds: {size} bytes at {ptr:#x} "
                       f"(memory is {self._known} bytes)", kind="memory_out_of_bounds")

    def read(self, ptr: int, size: int) -> bytes:
        """Copy ``size`` bytes at ``ptr`` out of the guest (Trap when out of bounds)."""
        self._check(ptr, size)
        return self._view[ptr:ptr + size].tobytes()

    def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None:
        """Copy ``data`` into the guest at ``ptr`` (Trap when out of bounds)."""
        self._check(ptr, len(data))
        self._view[ptr:ptr + len(data)] = data

    def read_cstr(self, ptr: int) -> bytes:
        """The bytes at ``ptr`` up to (not including) a NUL; Trap if memory ends first."""
        self._check(ptr, 1)
        end, start, chunk = self._known, ptr, 64
        while start < end:
            stop = min(end, start + chunk)
            found = self._view[start:stop].tobytes().find(0)
            if found >= 0:
                return self._view[ptr:start + found].tobytes()
            start, chunk = stop, chunk * 4
        raise Trap(f"guest returned a cstr at {ptr:#x} with no NUL before the end of memory "
                   f"({end} bytes)", kind="memory_out_of_bounds")

    @abstractmethod
    def view(self) -> memoryview | Any:
        """A writable byte view of the whole current memory that keeps the instance alive
        (the module's attribute of the memory's name): a memoryview, except where the
        memory is not Python's to view (the js backend: its ``Uint8Array``)."""


class Direct:
    """What ``Instance.fused`` offers: ``call`` takes the arguments; an ``error`` it raises
    (a trap, or a host function's exception) is raised as ``translate`` returns it (a Trap,
    or the host's exception itself); ``lift`` (or None) turns its result into the core
    value Python expects."""

    __slots__ = ("call", "error", "translate", "lift")

    def __init__(self, call: Callable[..., Any], error: type[BaseException],
                 translate: Callable[[BaseException], BaseException],
                 lift: Callable[[Any], Any] | None) -> None:
        self.call, self.error, self.translate, self.lift = call, error, translate, lift


class GuestCode:
    """What tracebacks through a module's code need (see ``wasmimport._tracebacks``): its
    origin, its bytes (checked against ``digest``: the file may have changed since) and a
    reader of files beside it (sources in a zip), all read only when a traceback is first
    made; ``source`` is then the parsed state."""

    __slots__ = ("origin", "wasm", "read", "digest", "source")

    def __init__(self, origin: str, wasm: Callable[[], bytes],
                 read: Callable[[str], bytes] | None, digest: bytes):
        self.origin = origin
        self.wasm = wasm
        self.read = read
        self.digest = digest
        self.source: Any = None


class Instance(ABC):
    """One instantiation: its own store, memory and globals.

    ``lock`` is re-entrant and serialises every call into the instance.  ``on_trap``, when
    set, runs after any call of this instance traps and before the Trap is raised, to repair
    what the trap left half-done (the C shadow stack pointer).

    ``native_store`` is the ``wasmimport._speedups.Store`` through which the compiled call
    path calls this instance directly (it is then also the instance's ``lock``), or None
    when the backend offers no C entry point or the module runs without the extension.
    """

    lock: _thread.RLock | Any
    on_trap: Callable[[], None] | None = None
    native_store: Any = None
    moved: tuple[int, int] = (0, 0)   # the code's move in the compiled binary (see frames)
    guest_code: GuestCode | None = None   # for tracebacks: see guest_frames

    def guest_frames(self, exc: BaseException, frames: Iterable[TrapFrame]) -> BaseException:
        """``exc`` with the guest's ``frames`` (innermost first) in its traceback."""
        if self.guest_code is None:
            return exc
        from .._tracebacks import with_guest_frames
        return with_guest_frames(exc, frames, self.guest_code)

    def frames(self, raw: Iterable[tuple[str | None, str | None, int, int]]
               ) -> tuple[TrapFrame, ...]:
        """Trap frames from the engine's (module, function, index, offset), with offsets
        into the module as given: wasmimport may have compiled it with code moved by
        ``moved = (offset, bytes)``."""
        boundary, shift = self.moved
        return tuple(TrapFrame(module, function, index,
                               offset - shift if shift and offset >= boundary else offset)
                     for module, function, index, offset in raw)

    @abstractmethod
    def function(self, export: str, functype: FuncType, label: str,
                 release_gil: bool = False) -> RawFunction:
        """A callable for ``export`` taking and returning core values.

        It returns None, one value, or a tuple for multi-value results; ``label`` (such as
        ``"fastmath.add()"``) starts the message of any trap it raises.  With
        ``release_gil`` other Python threads run while the wasm code does.
        """

    def fused(self, export: str, params: list[str], result: str | None, memory: str | None,
              realloc: str | None, post: str | None, label: str,
              alloc_error: AllocationError | None) -> Direct | None:
        """The whole of a call, lowering, post-return and lifting included, in the engine's
        own glue, called by the generated function with nothing in between: for ``params``
        that are core types or "str" (given as an ASCII str or its UTF-8 bytes) and a
        ``result`` that is one, or None; a "str" result the glue could not lift comes back
        as a one-item sequence holding the return area pointer.  Strings are allocated with
        ``realloc`` in ``memory``, and ``alloc_error(align, size, ptr)`` is the error to raise
        for a refused allocation (all three None when no str is involved).  None (the
        default): no such glue, ``function()`` is the way to call."""
        return None

    def captured(self, stream: str) -> bytes:
        """All the guest wrote to ``stream`` ("stdout"/"stderr") with ``[wasi] ... = "capture"``."""
        raise NotImplementedError

    def set_wasi_args(self, argv: list[str] | None) -> None:
        """Replace the WASI context, with ``argv`` as the arguments (``main(argv)``)."""
        raise NotImplementedError

    def native_handle(self, export: str, kind: str) -> bytes:
        """The engine's handle of an export, for ``native_store`` (only when that is set)."""
        raise NotImplementedError

    @abstractmethod
    def memory(self, export: str) -> Memory:
        """The exported memory called ``export``."""

    @abstractmethod
    def get_global(self, export: str) -> Any:
        """The current value of the exported global called ``export``."""

    @abstractmethod
    def set_global(self, export: str, value: Any) -> None:
        """Set the exported mutable global called ``export``."""


class CompiledModule(ABC):
    """Compiled code, shareable between instances."""

    @abstractmethod
    def instantiate(self, limits: Limits, host: list[tuple[str, str, FuncType, RawFunction]],
                    wasi: tuple[Wasi, str] | None = None) -> Instance:
        """A fresh instance held to ``limits``; raises BackendError when it cannot start.

        ``host`` provides the module's imports: (module, name, core type, raw function).
        An exception a raw host function raises ends the wasm call that called it and is
        raised to that call's caller, as itself.  ``wasi`` grants WASI preview 1 as the
        manifest's ``[wasi]`` says, relative paths resolved from the given folder.
        """


class Backend(ABC):
    """A wasm engine.

    ``cache_tag`` names everything besides the wasm bytes that the compiled code depends on
    (engine name and version, engine settings, platform); it is part of the cache key.

    ``limitations`` maps each of ``FEATURES`` that the engine lacks to why; ``configured``
    refuses a manifest setting that needs one, naming the setting.
    """

    name: str
    version: str
    cache_tag: str
    file_cache = True      # False: compiled code cannot be serialized, it is kept per process
    limitations: dict[str, str] = {}

    @property
    def features(self) -> frozenset[str]:
        """What this engine can do, from ``FEATURES``."""
        return frozenset(FEATURES) - set(self.limitations)

    def configured(self, manifest: Manifest | None) -> Backend:
        """The engine configuration for a module with this manifest; raises BackendError
        naming the first setting it cannot honour (never ignores one)."""
        if manifest is None:
            from .._manifest import Limits
            return self.for_limits(Limits())
        for feature, setting in _settings(manifest):
            why = self.limitations.get(feature)
            if why is not None:
                raise BackendError(f"{setting} is not supported by the {self.name} backend "
                                   f"({why}); remove it, or use the wasmtime backend")
        return self.for_limits(manifest.limits)

    @abstractmethod
    def compile(self, wasm: bytes) -> CompiledModule:
        """Compile (and validate) a wasm binary; raises BackendError."""

    @abstractmethod
    def validate(self, wasm: bytes) -> None:
        """Check a wasm binary without compiling it; raises BackendError."""

    @abstractmethod
    def serialize(self, compiled: CompiledModule) -> bytes:
        """The compiled code as bytes for the cache; raises BackendError."""

    @abstractmethod
    def deserialize_file(self, path: str) -> CompiledModule:
        """Map a serialized artifact back in; raises BackendError when it is unusable."""

    @abstractmethod
    def wat2wasm(self, text: str) -> bytes:
        """Translate wasm text format to a binary; raises BackendError."""

    @abstractmethod
    def for_limits(self, limits: Limits) -> Backend:
        """The engine configuration that can enforce ``limits`` (fuel metering changes the
        compiled code, so it is a sibling backend with its own ``cache_tag``); raises
        BackendError naming a setting this backend cannot enforce."""


def _settings(manifest: Manifest) -> Iterator[tuple[str, str]]:
    """(feature, setting) for each manifest setting that needs a feature."""
    limits = manifest.limits
    for setting in ("memory", "timeout", "fuel"):
        if getattr(limits, setting) is not None:
            yield f"limits-{setting}", f"[limits] {setting}"
    for function in manifest.functions:
        if function.release_gil:
            yield "release-gil", f"[functions.{function.name}] release_gil = true"
    if manifest.imports:
        yield "host-functions", "[imports]"
    if manifest.wasi is not None:
        yield "wasi", "[wasi]"
        for guest, _, writable in manifest.wasi.preopens:
            yield "wasi-preopens", f"[wasi] preopens {guest!r}"
            if not writable:
                yield "wasi-readonly", f'[wasi] preopens {guest!r}: mode = "ro"'
