"""From wasm bytes and a manifest to a populated Python module.

Data flows one way: bytes -> facts (``_facts``: the plan, every check that can fail because
of the files, before any guest code runs; remembered in the cache) -> compiled module
(``_cache``) -> instance -> functions.  Functions are created the first time they are looked
up, so an import costs the same for a module with ten exports as for one with ten thousand.
"""

from __future__ import annotations

import _weakref
import os
import types

from . import _cache
from ._binding import attach_methods, compiled_guest, core_caller, make_function
from ._digest import sha256
from ._errors import BackendError, CompileRefused, Trap, WasiExit, WasmImportError
from ._facts import PREPARED, STACK_POINTER_EXPORT, module_facts, prepare
from ._manifest import Limits
from ._state import ModuleState
from ._wasmbin import ALLOC_TYPE, FREE_TYPE, INIT_TYPE, REALLOC_TYPE
from .backends._base import GuestCode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._facts import Facts
    from ._guest import GuestABI
    from ._manifest import Manifest
    from ._plan import FunctionPlan, ModulePlan
    from .backends import Backend, CompiledModule, Instance
    from .component import ComponentManifest, RuntimeNeeded


# a component's version and layer fields (a core module has version 1, layer 0)
COMPONENT_HEADER = b"\x0d\x00\x01\x00"

# compiled code alive in this process, by (backend cache tag, module digest); weak
# references, so code no module uses any more is freed (``_weakref``: the weakref module
# costs an import)
_COMPILED: dict[tuple[str, bytes], _weakref.ReferenceType[CompiledModule]] = {}


def _compile(backend: Backend, digest: bytes, wasm: Callable[[], bytes],
             origin: str) -> CompiledModule:
    """Compiled code for the module whose digest is ``digest``: from this process, from the
    disk cache, or compiled from ``wasm()`` (its prepared binary, made only then)."""
    ref = _COMPILED.get((backend.cache_tag, digest))
    compiled = ref() if ref is not None else None
    if compiled is None:
        try:
            compiled = _cache.load_or_compile(backend, digest + PREPARED, wasm)
        except BackendError as exc:
            what = "" if isinstance(exc, CompileRefused) else "not a valid wasm module: "
            raise WasmImportError(f"{origin}: {what}{exc}", path=origin) from None
        _COMPILED[backend.cache_tag, digest] = _weakref.ref(compiled)
    return compiled


def _planned_and_compiled(data: bytes, origin: str, manifest: Manifest | None,
                          backend: Backend) -> tuple[Facts, Backend, CompiledModule, bytes]:
    """The facts of ``data``, the engine configuration its manifest needs, its code and its
    digest: everything an import does before it instantiates, checks included."""
    digest = sha256(data)
    facts, wasm = module_facts(data, digest, origin, manifest, backend)
    try:
        configured = backend.configured(facts.manifest)
    except BackendError as exc:
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None

    def binary() -> bytes:     # on a miss of the compile cache only
        return wasm if wasm is not None else prepare(data, origin, backend)[0]
    return facts, configured, _compile(configured, digest, binary, origin), digest


def compile_only(data: bytes, origin: str, manifest: Manifest | None,
                 backend: Backend) -> None:
    """Plan ``data`` with ``manifest`` (None: the embedded one) and compile it into the
    cache, as an import does, without instantiating it."""
    core = _core_of(data, origin, manifest)
    if not isinstance(core, tuple):      # a component for wasmtime's component runtime
        core.compile(data, origin, backend)
        return
    _planned_and_compiled(core[0], origin, core[1], backend)


def _core_of(data: bytes, origin: str, manifest: Manifest | ComponentManifest | None
             ) -> tuple[bytes, Manifest | None, Callable[[types.ModuleType], None] | None] \
        | RuntimeNeeded:
    """The core module and manifest to run for ``data``, and for a component the function
    that arranges the module as its WIT says (None for a core module); or, for a component
    that is not one core module, what runs it on wasmtime's component runtime."""
    if data[4:8] != COMPONENT_HEADER:
        return data, manifest, None  # type: ignore[return-value]
    from .component import RuntimeNeeded, as_core
    try:
        return as_core(data, origin, manifest)
    except RuntimeNeeded as needed:
        return needed


def build_module(module: types.ModuleType, data: bytes, origin: str,
                 manifest: Manifest | ComponentManifest | None, backend: Backend,
                 read: Callable[[str], bytes] | None = None) -> None:
    """Compile, validate, instantiate and bind ``data`` into ``module``.

    ``read`` reads a file by path (through a zip, say): given, tracebacks re-read the module
    from ``origin`` rather than keep its bytes, and find sources beside it."""
    whole = data
    core = _core_of(data, origin, manifest)
    if not isinstance(core, tuple):      # a component for wasmtime's component runtime
        core.build(module, whole, origin, backend)
        return
    data, manifest, arrange = core
    facts, backend, compiled, digest = _planned_and_compiled(data, origin, manifest, backend)
    plan, manifest = facts.plan, facts.manifest
    limits = manifest.limits if manifest is not None else Limits()
    if plan.missing:
        missing = "\n".join(f"  {item}" for item in plan.missing)
        raise WasmImportError(f"{origin}: the module imports what its manifest does not "
                              f"provide:\n{missing}", path=origin)
    # host functions need the instance's memory, which exists only after instantiation
    abi: list[GuestABI | None] = [None]
    host = []
    if plan.imports:       # (the modules that serve them are imported only for them)
        from ._host import raw_host_function
        host = [(i.module, i.name, i.functype, raw_host_function(i, origin, lambda: abi[0]))
                for i in plan.imports]
    # a component's handle tables serve its core module's [resource-*] imports
    host += [b for r in plan.types.tables() for b in r.builtin_functions()]
    wasi = None
    if manifest is not None and manifest.wasi is not None:
        folder = os.path.dirname(origin)
        wasi = (manifest.wasi, folder if os.path.isdir(folder) else os.getcwd())
    try:
        instance = compiled.instantiate(limits, host, wasi)
    except BackendError as exc:
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None
    instance.moved = facts.moved
    instance.guest_code = _guest_code(origin, data, digest, read if data is whole else None,
                                      read)
    abi[0] = guest = _guest(module.__name__, plan, instance)
    state = ModuleState(origin, backend.name, manifest, plan, compiled, instance)
    _initialize(module.__name__, facts, state)
    _populate(module, plan, state, guest)
    if wasi is not None and plan.command:
        module.main = _main(module.__name__, instance)  # type: ignore[attr-defined]
    if arrange is not None:
        arrange(module)


def _guest_code(origin: str, data: bytes, digest: bytes, reread: Callable[[str], bytes] | None,
                read: Callable[[str], bytes] | None) -> GuestCode:
    """What tracebacks need of the module: its bytes are read again from ``origin`` when
    ``reread`` can (a core module from a file), else kept (a component's core module)."""
    if reread is not None:
        return GuestCode(origin, lambda: reread(origin), read, digest)
    return GuestCode(origin, lambda: data, read, digest)


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


def _initialize(name: str, facts: Facts, state: ModuleState) -> None:
    """Run the reactor's ``_initialize``, then note the C stack pointer's resting value."""
    instance = state.instance
    if facts.plan.initialize:
        try:
            instance.function("_initialize", INIT_TYPE, f"{name}._initialize()")()
        except Trap as exc:
            raise WasmImportError(f"{state.origin}: _initialize trapped: {exc}",
                                  name=name, path=state.origin) from None
    if facts.stack_pointer:
        top = instance.get_global(STACK_POINTER_EXPORT)
        instance.on_trap = lambda: instance.set_global(STACK_POINTER_EXPORT, top)


def _guest(name: str, plan: ModulePlan, instance: Instance) -> GuestABI | None:
    """The ABI context (memory, allocator) if any function needs one."""
    if not plan.needs_guest:
        return None
    from ._guest import GuestABI
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
    plain = (abi.memory, abi.realloc) if exports["realloc"] and not abi.free else None
    return GuestABI(instance.memory(abi.memory), **raw, native=native,
                    alloc_label=f"{name}.{allocator}()", free_label=f"{name}.{abi.free}()",
                    exports=plain)


_ABI_TYPES = {"realloc": REALLOC_TYPE, "alloc": ALLOC_TYPE, "free": FREE_TYPE}


class Namespace(types.SimpleNamespace):
    """An attribute of a module that holds functions and types of their own, like a
    component's exported interface (``mod.shapes.norm``)."""

    def __init__(self, qualname: str) -> None:
        super().__init__()
        self.__qualname__ = qualname

    def __repr__(self) -> str:
        return f"<interface {self.__qualname__!r}>"


def _namespaces(module: str, plan: ModulePlan, bind: Callable[[FunctionPlan], Any],
                methods: set[str]) -> dict[str, Namespace]:
    """The namespaces of the manifest's dotted function names (``shapes.norm``), their
    functions bound: an interface's functions are made at import, not on first use.
    ``methods`` are the dotted names that are resources' methods instead."""
    spaces: dict[str, Namespace] = {}
    for f in plan.functions:
        prefix, dot, short = f.name.partition(".")
        if dot and f.name not in methods:
            space = spaces.get(prefix) or spaces.setdefault(
                prefix, Namespace(f"{module}.{prefix}"))
            fn = bind(f)
            fn.__name__ = short
            setattr(space, short, fn)
    return spaces


def _resources(module: str, plan: ModulePlan, instance: Instance,
               bind: Callable[[FunctionPlan], Any]) -> set[str]:
    """Bind each resource class to the instance (its drop export) and give it its methods;
    the names of the functions that became methods."""
    for r in plan.types.resources():
        drop = core_caller(f"{module}.{r.name}.close()", r.drop_export, FREE_TYPE,
                           instance) if r.drop_export else None
        r.bind(drop, instance.lock)
    return attach_methods(plan, bind)


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
    for stale in [key for key in namespace if plan.has(key)]:
        del namespace[stale]          # importlib.reload(): forget the old instance's functions
    state.memories = memories = {m: instance.memory(m) for m in plan.memories}
    for type_name, cls in plan.types.classes().items():   # records, enums, flags, variants
        cls.__module__ = name
        for case in cls.__subclasses__():                  # a variant's case classes
            case.__module__ = name
        namespace[type_name] = cls

    def bind(f: FunctionPlan) -> Any:
        return make_function(name, f, instance, guest)

    methods = _resources(name, plan, instance, bind)
    for space_name, space in _namespaces(name, plan, bind, methods).items():
        namespace[space_name] = space

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
    module.__all__ = [*plan.public, *(n for n, v in namespace.items()  # type: ignore[attr-defined]
                                      if isinstance(v, Namespace))]
    module.__wasmimport__ = state  # type: ignore[attr-defined]
