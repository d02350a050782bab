"""From wasm bytes and a manifest to a populated Python module.

Data flows one way: bytes -> (ModuleInfo, Manifest) -> plan (``_plan``: every check that can
fail because of the files, before any guest code runs) -> compiled module (``_cache``) ->
instance -> functions.  Functions are created the first time they are looked up, so an import
costs the same for a module with ten exports as for one with ten thousand.
"""

from __future__ import annotations

import _weakref
import hashlib
import os

from . import _cache
from ._backend import BackendError
from ._binding import compiled_guest, make_function
from ._errors import ManifestError, Trap, WasiExit, WasmImportError
from ._guest import GuestABI
from ._host import raw_host_function
from ._manifest import EMBEDDED_SECTION, Limits, parse_manifest
from ._plan import ALLOC_TYPE, FREE_TYPE, INIT_TYPE, REALLOC_TYPE, plan_module
from ._wasmbin import WasmFormatError, is_wasm_binary, read_module, with_export

TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from typing import Any

    from ._backend import Backend, CompiledModule, Instance, Memory
    from ._manifest import Manifest
    from ._plan import FunctionPlan, ModulePlan
    from ._wasmbin import ModuleInfo

# C guests keep their stack in linear memory below the mutable global ``__stack_pointer``.
# A trap skips the epilogues that would restore it, so each trap would leak the trapped
# frames until the stack is gone.  wasmimport exports that global under this name and puts
# back, after every trap, the value it had between calls.
STACK_POINTER_EXPORT = "__wasmimport_stack_pointer"


class ModuleState:
    """Kept on the module as ``__wasmimport__``: what it was built from, for introspection."""

    __slots__ = ("origin", "backend", "manifest", "info", "compiled", "instance", "memories")

    @property
    def stdout(self) -> bytes:
        """What the guest wrote to stdout, with ``[wasi] stdout = "capture"``."""
        return self.instance.captured("stdout")

    @property
    def stderr(self) -> bytes:
        """What the guest wrote to stderr, with ``[wasi] stderr = "capture"``."""
        return self.instance.captured("stderr")

    def __init__(self, origin: str, backend: str, manifest: Manifest | None, info: ModuleInfo,
                 compiled: CompiledModule, instance: Instance):
        self.origin = origin
        self.backend = backend
        self.manifest = manifest
        self.info = info
        self.compiled = compiled
        self.instance = instance
        self.memories: dict[str, Memory] = {}


# compiled code alive in this process, by (backend cache tag, wasm digest); weak references,
# so code no module uses any more is freed (``_weakref``: the weakref module costs an import)
_COMPILED: dict[tuple[str, bytes], _weakref.ReferenceType[CompiledModule]] = {}


def _compile(backend: Backend, wasm: bytes, origin: str) -> CompiledModule:
    """Compiled code for ``wasm``: from this process, from the disk cache, or compiled."""
    digest = hashlib.sha256(wasm).digest()
    ref = _COMPILED.get((backend.cache_tag, digest))
    compiled = ref() if ref is not None else None
    if compiled is None:
        try:
            compiled = _cache.load_or_compile(backend, wasm, digest)
        except BackendError as exc:
            raise WasmImportError(f"{origin}: not a valid wasm module: {exc}", path=origin) \
                from None
        _COMPILED[backend.cache_tag, digest] = _weakref.ref(compiled)
    return compiled


def read_manifest(info: ModuleInfo, origin: str) -> Manifest | None:
    """The manifest embedded in the module's ``wasmimport`` custom section, if any."""
    embedded = info.custom(EMBEDDED_SECTION)
    if len(embedded) > 1:
        raise ManifestError(f"{origin}: has {len(embedded)} {EMBEDDED_SECTION!r} custom "
                            "sections; expected at most one")
    if embedded:
        return parse_manifest(embedded[0], f"{origin} (embedded manifest)")
    return None


def prepare(data: bytes, origin: str, backend: Backend
            ) -> tuple[bytes, ModuleInfo, tuple[int, int]]:
    """The binary to compile for ``data`` (wasm or wat), what it exports, and how its code
    moved: (offset, bytes) -- what lies at or after ``offset`` in the binary lay ``bytes``
    earlier in the module as given.

    The binary is the module plus an export of its C stack pointer, when it has one; the
    import hook and ``python -m wasmimport compile`` both compile exactly these bytes.
    """
    if is_wasm_binary(data):
        wasm = data
    else:
        try:
            wasm = backend.wat2wasm(data.decode("utf-8"))
        except (UnicodeDecodeError, BackendError) as exc:
            raise WasmImportError(f"{origin}: neither a wasm binary nor valid wasm text: "
                                  f"{exc}", path=origin) from None
    try:
        info = read_module(wasm)
    except WasmFormatError as exc:
        try:
            backend.validate(wasm)   # the engine's diagnosis is the more precise one
        except BackendError as invalid:
            raise WasmImportError(f"{origin}: not a valid wasm module: {invalid}",
                                  path=origin) from None
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None
    moved = (0, 0)
    if info.stack_pointer is not None:
        exported, boundary = with_export(wasm, STACK_POINTER_EXPORT, "global",
                                         info.stack_pointer)
        wasm, moved = exported, (boundary, len(exported) - len(wasm))
    return wasm, info, moved


def compile_only(data: bytes, origin: str, backend: Backend) -> None:
    """Compile ``data`` into the cache without instantiating it."""
    wasm, _, _ = prepare(data, origin, backend)
    _compile(backend, wasm, origin)


def build_module(module: types.ModuleType, data: bytes, origin: str,
                 manifest: Manifest | None, backend: Backend) -> None:
    """Compile, validate, instantiate and bind ``data`` into ``module``."""
    wasm, info, moved = prepare(data, origin, backend)
    if manifest is None:
        manifest = read_manifest(info, origin)
    plan = plan_module(info, manifest, origin)
    limits = manifest.limits if manifest is not None else Limits()
    try:
        backend = backend.configured(manifest)
    except BackendError as exc:
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None
    compiled = _compile(backend, wasm, origin)
    if plan.missing:
        missing = "\n".join(f"  {item}" for item in plan.missing)
        raise WasmImportError(f"{origin}: the module imports what its manifest does not "
                              f"provide:\n{missing}", path=origin)
    # host functions need the instance's memory, which exists only after instantiation
    abi: list[GuestABI | None] = [None]
    host = [(i.module, i.name, i.functype, raw_host_function(i, origin, lambda: abi[0]))
            for i in plan.imports]
    wasi = None
    if manifest is not None and manifest.wasi is not None:
        folder = os.path.dirname(origin)
        wasi = (manifest.wasi, folder if os.path.isdir(folder) else os.getcwd())
    try:
        instance = compiled.instantiate(limits, host, wasi)
    except BackendError as exc:
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None
    instance.moved = moved
    abi[0] = guest = _guest(module.__name__, plan, instance)
    state = ModuleState(origin, backend.name, manifest, info, compiled, instance)
    _initialize(module.__name__, plan, state)
    _populate(module, plan, state, guest)
    if wasi is not None and plan.command:
        module.main = _main(module.__name__, instance)  # type: ignore[attr-defined]


def _main(name: str, instance: Instance) -> Any:
    """``main(argv=None) -> int`` of a WASI command: runs ``_start``, returns the exit code."""
    start = instance.function("_start", INIT_TYPE, f"{name}.main()")

    def main(argv: list[str] | None = None) -> int:
        """Run the WASI command (its ``_start``); return its exit status."""
        with instance.lock:
            if argv is not None:
                instance.set_wasi_args([str(arg) for arg in argv])
            try:
                start()
            except WasiExit as exc:
                return exc.status
            return 0
    main.__module__ = name
    return main


def _initialize(name: str, plan: ModulePlan, state: ModuleState) -> None:
    """Run the reactor's ``_initialize``, then note the C stack pointer's resting value."""
    instance = state.instance
    if plan.initialize:
        try:
            instance.function("_initialize", INIT_TYPE, f"{name}._initialize()")()
        except Trap as exc:
            raise WasmImportError(f"{state.origin}: _initialize trapped: {exc}",
                                  name=name, path=state.origin) from None
    if state.info.stack_pointer is not None:
        top = instance.get_global(STACK_POINTER_EXPORT)
        instance.on_trap = lambda: instance.set_global(STACK_POINTER_EXPORT, top)


def _guest(name: str, plan: ModulePlan, instance: Instance) -> GuestABI | None:
    """The ABI context (memory, allocator) if any function needs one."""
    if not plan.needs_guest:
        return None
    abi = plan.abi
    allocating = plan.needs_allocator
    exports = {"realloc": abi.realloc if allocating and not abi.alloc else None,
               "alloc": abi.alloc if allocating else None, "free": abi.free}
    raw = {key: instance.function(export, _ABI_TYPES[key], f"{name}.{export}()")
           for key, export in exports.items() if export}
    native = None
    if instance.native_store is not None:
        native = compiled_guest(instance, abi.memory, exports)
    allocator = exports["alloc"] or exports["realloc"]
    return GuestABI(instance.memory(abi.memory), **raw, native=native,
                    alloc_label=f"{name}.{allocator}()", free_label=f"{name}.{abi.free}()")


_ABI_TYPES = {"realloc": REALLOC_TYPE, "alloc": ALLOC_TYPE, "free": FREE_TYPE}


def _populate(module: types.ModuleType, plan: ModulePlan, state: ModuleState,
              guest: GuestABI | None) -> None:
    """Set the module's attributes; functions and memories resolve on first lookup.

    Through PEP 562 ``__getattr__``: a function is created once, on its first lookup, and
    stored in the module's namespace; a memory returns a fresh view over its current size
    at each lookup, so a view taken after the guest grew its memory sees the new pages.
    """
    name = module.__name__
    instance = state.instance
    namespace = module.__dict__
    for stale in plan.names():        # importlib.reload(): forget the old instance's functions
        namespace.pop(stale, None)
    state.memories = memories = {m: instance.memory(m) for m in plan.memories}
    for type_name, cls in plan.types.classes().items():   # records, enums, flags
        cls.__module__ = name
        namespace[type_name] = cls

    def bind(f: FunctionPlan) -> Any:
        return make_function(name, f, instance, guest)

    def __getattr__(attr: str) -> Any:
        f = plan.lookup(attr)
        if f is not None:
            with instance.lock:          # one function object, whichever thread asks first
                fn = namespace.get(attr)
                if fn is None:
                    fn = namespace[attr] = bind(f)
            return fn
        memory = memories.get(attr)
        if memory is not None:
            return memory.view()
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *plan.names(), *memories})

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
    module.__doc__ = plan.doc
    module.__all__ = list(plan.public)  # type: ignore[attr-defined]
    module.__wasmimport__ = state  # type: ignore[attr-defined]
