"""Components that are not one core module, run by wasmtime's component runtime.

``_lower`` runs a component that wit-component made from one core module on the core path.
Any other shape -- several core modules, as componentize-py makes (CPython, libc and the
app, wired by adapters) -- needs a component runtime: wasmtime's, through libwasmtime's
``wasmtime_component_*`` C API, as the wasmtime wheel's own ctypes declarations (wasmtime-py,
imported only on this path) give it.  Arguments and results cross as
``wasmtime_component_val_t`` trees, built and read here from the WIT types; the Python side
(names, classes, signatures, argument checks, docs) is the core path's, from the same
manifest table the WIT gives.  A call costs tens of microseconds, not the core path's tens
of nanoseconds (docs/performance.md).

The engine is one of the core backend's (the same settings, fuel metering and cache rules),
and with the compiled extension each store is owned by its Store: calls, post-returns and
the instantiation run under that store's lock, fuel budget and watchdog (Ctrl-C,
``[limits] timeout``), as core calls do.

Its imports other than WASI's are the Python the manifest's ``[imports]`` names, called
through C callbacks that lift and lower value trees.  The resources its interfaces export
are the core path's resource classes: an object's representation is an index into its
store's table of wasmtime's resource handles (``wasmtime_component_resource_any_t``), and
closing it runs wasmtime's drop (the guest's destructor) under the store's lock.  The
resources its imported interfaces define are the host's, the Python classes of
``[imports]``: wasmtime's handles of them carry an index into the type's table of Python
objects, and the destructor defined for the type lets go of the object.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import threading
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from .._binding import _labelled, attach_methods, generated, invoking
from .._cache import load_or_compile
from .._compound import (
    CasesType,
    EnumType,
    FlagsType,
    ListOfType,
    OptionType,
    RecordType,
    ResultType,
    TupleType,
)
from .._digest import sha256
from .._errors import GuestError, Trap, TrapFrame, WasiExit, WasmImportError
from .._extension import extension
from .._host import converted_call, resolve
from .._manifest import FunctionEntry, ImportEntry, Limits, Manifest, manifest_from_mapping
from .._plan import FunctionPlan, ModulePlan
from .._resource import (
    MOVED,
    BorrowType,
    HandleTable,
    HostBorrowType,
    HostResourceType,
    ResourceType,
    live_rep,
    loan_tables,
)
from .._state import ModuleState
from .._types import BytesType, CharType, FloatType, ListType, StrType, WasmType
from .._wasmbin import FuncType as CoreType
from ..backends import Backend, BackendError
from ..backends import _wasmtime_capi as capi
from ..backends._wasmtime import (
    WasmtimeBackend,
    capture_file,
    last_line,
    out_of_memory,
    read_captured,
    stopped_call,
    watched_store,
)
from ._decode import Component
from ._lower import (
    TypeNames,
    Unlowerable,
    docs_of,
    exported_functions,
    exported_resources,
    function_doc,
    function_key,
    imported_resources,
    learn_types,
    method_key,
    place_types,
    python_member,
    signature_text,
)
from ._manifest import is_wasi, not_provided, python_for, wasi_not_granted
from ._wit import (
    FuncType,
    Labels,
    Primitive,
    Record,
    Result,
    Tuple,
    Variant,
    WitType,
    Wrapper,
)
from ._witdocs import PackageDocs

# a value tree's kinds (wasmtime/component/val.h)
_KINDS = {"bool": 0, "s8": 1, "u8": 2, "s16": 3, "u16": 4, "s32": 5, "u32": 6, "s64": 7,
          "u64": 8, "f32": 9, "f64": 10, "char": 11, "string": 12}
_FIELDS = {"bool": "boolean", "char": "character", "string": "string"}
# wasmtime's MAX_STRING_BYTE_LENGTH, the Canonical ABI's: a longer string is its error (a
# Trap, which poisons the instance) only after seconds spent copying the value tree
_MAX_STRING = (1 << 31) - 1
# lists whose value tree is this large are allocated once first (_can_allocate)
_PROBED = 1 << 26
_raw_malloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t)(
    ("PyMem_RawMalloc", ctypes.pythonapi))
_raw_free = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(("PyMem_RawFree", ctypes.pythonapi))
_LIST, _RECORD, _TUPLE, _VARIANT, _ENUM, _OPTION, _RESULT, _FLAGS, _RESOURCE = range(13, 22)

Lower = Callable[[Any, Any], None]       # (converted value, wasmtime_component_val_t)
Lift = Callable[[Any], Any]              # wasmtime_component_val_t -> Python value


class _Runtime:
    """wasmtime's component runtime on one of the core backend's engines (its settings,
    watchdog and fuel metering), as the compile cache sees a backend."""

    name = "wasmtime-component"
    file_cache = True

    def __init__(self, backend: WasmtimeBackend) -> None:
        import wasmtime
        from wasmtime import _ffi, component

        class Borrowed(wasmtime.Engine):
            """wasmtime-py's view of the backend's engine, which the backend owns."""

            def _delete(self, ptr: Any) -> None:
                pass

        self.wasmtime, self.ffi, self.component = wasmtime, _ffi, component
        self.backend = backend
        self.engine = Borrowed.__new__(Borrowed)
        self.engine._set_ptr(ctypes.cast(backend.engine, ctypes.POINTER(_ffi.wasm_engine_t)))
        self.cache_tag = f"component-{backend.cache_tag}"

    def compile(self, wasm: bytes) -> Any:
        try:
            return self.component.Component(self.engine, wasm)
        except self.wasmtime.WasmtimeError as exc:
            raise BackendError(str(exc)) from None

    def serialize(self, compiled: Any) -> bytes:
        return bytes(compiled.serialize())

    def deserialize_file(self, path: str) -> Any:
        try:
            return self.component.Component.deserialize_file(self.engine, path)
        except self.wasmtime.WasmtimeError as exc:
            raise BackendError(str(exc)) from None


_RUNTIMES: dict[WasmtimeBackend, _Runtime] = {}
_RUNTIME_LOCK = threading.Lock()
# wasmtime-py's stores on the pure path (the extension's Store owns them otherwise), which
# may live until the interpreter exits: let go of at exit, so that no __del__ calls into a
# half torn-down wasmtime-py
_KEPT: list[weakref.ref[Any]] = []


def runtime(backend: Backend, limits: Limits, origin: str) -> _Runtime:
    """The component runtime on ``backend``'s engine for ``limits`` (made on first use)."""
    try:
        engine = backend.for_limits(limits)
    except BackendError as exc:
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None
    assert isinstance(engine, WasmtimeBackend)
    with _RUNTIME_LOCK:
        found = _RUNTIMES.get(engine)
        if found is None:
            if not _RUNTIMES:
                atexit.register(_let_go)
            found = _RUNTIMES[engine] = _Runtime(engine)
        return found


def _let_go() -> None:
    """At exit: leave the pure path's stores to the process's end, unfreed (the OS frees
    them), rather than to wasmtime-py's finalizers, which fail once its modules are gone."""
    for ref in _KEPT:
        obj = ref()
        if obj is not None:
            try:
                obj._consume()
            except ValueError:
                pass              # closed already


def _no_core_calls(*_: Any) -> BaseException:
    """The extension Store's ``fail``, for core calls, which a component's store never makes."""
    return SystemError("wasmimport: a core call in a component's store")


class _Store:
    """A component instance's store.  wasmtime-py's Store makes it and serves WASI and the
    export lookups; with the extension, the extension's Store owns it from the start and
    every call runs under its lock, fuel and watchdog; on the pure path, under a lock."""

    def __init__(self, engine: _Runtime, limits: Limits) -> None:
        self.engine, self.limits = engine, limits
        self.trapped: str | None = None       # the first trap, after which calls fail
        self.pending: BaseException | None = None   # what a host function raised
        self.keep: list[Any] = []             # the host functions' callbacks
        self.files: dict[str, str] = {}       # stream -> the file capturing it
        self.handles = HandleTable()          # resource objects' reps -> wasmtime's handles
        self.hosted: dict[tuple[str, str], int] = {}   # the host's resources -> type ids
        self.store = engine.wasmtime.Store(engine.engine)
        self.ctx = capi.address(self.store._context())
        self.context = ctypes.cast(self.ctx, ctypes.POINTER(engine.ffi.wasmtime_context_t))
        self.guard = watched_store(engine.backend, capi.address(self.store.ptr()), self.ctx,
                                   limits, _no_core_calls)
        if self.guard is not None:
            self.store._consume()          # the extension's Store owns it from here
        else:
            _KEPT.append(weakref.ref(self.store))
        self.lock: Any = self.guard if self.guard is not None else threading.RLock()

    def __del__(self, _unlink: Any = os.unlink) -> None:
        for path in getattr(self, "files", {}).values():
            try:
                _unlink(path)
            except OSError:
                pass

    def captured(self, stream: str) -> bytes:
        """What the guest wrote to ``stream`` (``__wasmimport__.stdout``)."""
        return read_captured(self.files, stream)

    def instantiate(self, linker: Any, compiled: Any, origin: str) -> Any:
        """The component's instance (its start functions run as a call would)."""
        ffi, component = self.engine.ffi, self.engine.component
        if self.guard is None:
            with self.lock:
                try:
                    return linker.instantiate(self.store, compiled)
                except self.engine.wasmtime.WasmtimeError as exc:
                    problem: object = exc
        else:
            raw = ffi.wasmtime_component_instance_t()
            self.guard.making_memories(True)     # the memories belong to this store
            try:
                error = self.guard.run(capi.address(ffi.dll.wasmtime_component_linker_instantiate),
                                       capi.address(linker.ptr()), self.ctx,
                                       capi.address(compiled.ptr()), ctypes.addressof(raw))
            finally:
                self.guard.making_memories(False)
            if not error:
                return component.Instance._from_raw(raw)
            problem = self.failure(error, f"{origin}: the component does not instantiate")
            raise WasmImportError(str(problem), path=origin) from None
        raise WasmImportError(f"{origin}: the component does not instantiate: {problem}",
                              path=origin) from None

    def caller(self, func: Any, params: int, results: int, label: str
               ) -> Callable[[Any, Any], None]:
        """How an export is called: its arguments' array and result slot in, post-return
        done; a failure raised (read while the store still knows why it failed)."""
        ffi, lock, failure = self.engine.ffi, self.lock, self.failure
        if self.guard is None:
            call, post = ffi.wasmtime_component_func_call, \
                ffi.wasmtime_component_func_post_return
            raw, context, byref = func._func, self.store._context, ctypes.byref

            def invoke_pure(args: Any, out: Any) -> None:
                with lock:
                    error = call(byref(raw), context(), args, params,
                                 byref(out) if results else None, results)
                    if not error:
                        error = post(byref(raw), context())
                    if error:
                        raise failure(capi.address(error), label)
            return invoke_pure
        run, ctx, raw = self.guard.run, self.ctx, func._func
        address = ctypes.addressof(raw)
        call_at = capi.address(ffi.dll.wasmtime_component_func_call)
        post_at = capi.address(ffi.dll.wasmtime_component_func_post_return)
        addressof = ctypes.addressof

        def invoke(args: Any, out: Any, _raw: Any = raw) -> None:   # (_raw: kept alive)
            with lock:     # the call and its post-return, with nothing between them
                error = run(call_at, address, ctx, addressof(args), params,
                            addressof(out) if results else 0, results) or \
                    run(post_at, address, ctx)
                if error:
                    raise failure(error, label)
        return invoke

    def dropper(self, label: str) -> Callable[[int], None]:
        """How a resource object's guest object is dropped: its handle leaves the table and
        wasmtime's drop runs the guest's destructor, as a call would run."""
        ffi, lock, take = self.engine.ffi, self.lock, self.handles.take
        drop_any, delete = ffi.wasmtime_component_resource_any_drop, \
            ffi.wasmtime_component_resource_any_delete
        guard, context = self.guard, self.store._context
        drop_at = capi.address(ffi.dll.wasmtime_component_resource_any_drop)

        def drop(rep: int) -> None:
            handle = take(rep)
            with lock:
                try:
                    error = capi.address(drop_any(context(), handle)) if guard is None else \
                        guard.run(drop_at, self.ctx, ctypes.addressof(handle.contents))
                finally:
                    delete(handle)
                if error:
                    raise self.failure(error, label)
        return drop

    def host_handle(self, t: HostResourceType, own: bool = True) -> Callable[[int], Any]:
        """How a new handle (a ``resource_any``: own, or a borrow for one call) of the
        host's resource ``t`` is made for a rep (an index into ``t``'s table of Python
        objects)."""
        ffi, lock, context, byref = self.engine.ffi, self.lock, self.context, ctypes.byref
        type_id, new, delete = self.hosted[t.builtins], ffi.wasmtime_component_resource_host_new, \
            ffi.wasmtime_component_resource_host_delete
        to_any, Handle = ffi.wasmtime_component_resource_host_to_any, \
            ctypes.POINTER(ffi.wasmtime_component_resource_any_t)

        def handle(rep: int) -> Any:
            host, out = new(own, rep, type_id), Handle()
            try:
                with lock:
                    error = to_any(context, host, byref(out))
            finally:
                delete(host)
            _unexpected(error)
            return out
        return handle

    def host_rep(self, handle: Any) -> int:
        """The rep behind ``handle``, a ``resource_any`` of one of the host's resources
        (freed here; an own one is the host's again, with no destructor run)."""
        ffi = self.engine.ffi
        host = ctypes.POINTER(ffi.wasmtime_component_resource_host_t)()
        try:
            with self.lock:
                error = ffi.wasmtime_component_resource_any_to_host(self.context, handle,
                                                                    ctypes.byref(host))
        finally:
            ffi.wasmtime_component_resource_any_delete(handle)
        _unexpected(error)
        try:
            return int(ffi.wasmtime_component_resource_host_rep(host))
        finally:
            ffi.wasmtime_component_resource_host_delete(host)

    def failure(self, error: int, label: str) -> BaseException:
        """What a call that failed with ``error`` (freed here) raises; a Ctrl-C the
        watchdog stopped it for is raised as Python's SIGINT handler says."""
        guard = self.guard
        pending, self.pending = self.pending, None
        if pending is not None:     # a host function raised: that exception, as itself
            capi.error_message(error)
            if hasattr(pending, "add_note"):
                pending.add_note(f"raised in a host function called by wasm, in {label}")
            self.trapped = self.trapped or \
                f"a host function raised {type(pending).__name__}: {pending}"
            return pending
        reason = guard.take_reason() if guard is not None else None
        refused = guard.refused_growth() if guard is not None else None
        status = capi.exit_status(error)
        text, raw = capi.error_details(error)
        if status is not None:
            return WasiExit(f"{label}: the guest exited with status {status}", status)
        last = last_line(text, "the call failed")
        if last.endswith("cannot enter component instance") and self.trapped:
            return Trap(f"{label}: this component trapped in an earlier call ({self.trapped}), "
                        "and an instance of a component cannot be entered again after a trap "
                        "(the Component Model's rule): import the module anew "
                        "(importlib.reload)", "poisoned", ())
        frames = tuple(TrapFrame(*frame) for frame in raw)
        kind = "out_of_fuel" if "all fuel consumed" in last else None
        exc = stopped_call(label, self.limits, kind, reason, frames) or \
            Trap(f"{label}: {last}", frames=frames)
        if refused is not None:
            exc = out_of_memory(label, refused, self.limits.memory or 0, exc)
        self.trapped = self.trapped or exc.message.removeprefix(f"{label}: ")
        if reason == "interrupt":
            extension().raise_interrupt()    # KeyboardInterrupt, or what the handler raises
        return exc


def _unexpected(error: Any) -> None:
    """Raise for an error from a handle conversion, which wasmtime's own type checks rule
    out: it would be wasmimport's fault."""
    if error:
        raise SystemError(f"wasmimport: {capi.error_message(capi.address(error))}")


def compile_component(engine: _Runtime, data: bytes, origin: str) -> Any:
    """The component's compiled code: from the compile cache, or compiled and cached."""
    try:
        return load_or_compile(engine, sha256(data), lambda: data)  # type: ignore[arg-type]
    except BackendError as exc:
        raise WasmImportError(f"{origin}: not a valid component: {exc}", path=origin) from None


def build(module: types.ModuleType, component: Component, data: bytes, origin: str,
          manifest: Any, why: str, backend: Backend) -> None:
    """Compile, instantiate and bind ``component`` (``data``) into ``module`` on ``backend``'s
    engine; ``why`` says why it is not run as a core module, for the errors of what this
    path refuses."""
    core = manifest.core if manifest is not None else None
    limits = core.limits if core is not None else Limits()
    wasi = [i.name for i in component.imports if is_wasi(i.name)]
    http = [name for name in wasi if name.startswith("wasi:http/")]
    if http:
        raise WasmImportError(f"{origin}: wasi:http is not granted (no [wasi] setting grants "
                              "it): " + ", ".join(http), path=origin)
    if wasi and (core is None or core.wasi is None):
        raise wasi_not_granted(origin, wasi)
    table, wit, names, interfaces, docs = _described(component, origin)
    hosted, imports = _host_imports(component, manifest, names, origin, why)
    typed = _parsed({**table, "imports": imports}, origin)
    served = {(entry.module, entry.name): entry for entry in typed.imports}
    resources = [t for t in typed.types.declared.values() if isinstance(t, HostResourceType)]
    engine = runtime(backend, limits, origin)
    compiled = compile_component(engine, data, origin)
    store = _Store(engine, limits)
    linker = engine.component.Linker(engine.engine)
    if wasi:
        assert core is not None
        linker.add_wasip2()
        store.store.set_wasi(_wasi_config(engine, core.wasi, origin, store.files))
    if hosted or resources:
        _link_host(linker, [(host, served[host.instance or host.member, host.member])
                            for host in hosted], resources, store, engine, module.__name__,
                   origin)
    instance = store.instantiate(linker, compiled, origin)
    namespace = module.__dict__
    for attribute in interfaces:
        namespace[attribute] = types.SimpleNamespace(__qualname__=attribute)
    classes = typed.types.classes()
    for cls in classes.values():
        for each in (cls, *cls.__subclasses__()):       # a variant's cases too
            each.__module__ = module.__name__
    public = place_types(module, classes, names.placed, interfaces, docs)
    plan = _plan(typed)
    entries = {entry.name: entry for entry in typed.functions}

    def bind(f: FunctionPlan) -> Any:
        wit_name, functype = wit[f.name]
        space = f.name.partition(".")[0] if "." in f.name else None
        func = _export(store.store, instance, interfaces.get(space) if space else None,
                       wit_name, origin)
        return _function(module.__name__, entries[f.name], functype, func, engine, store)
    for r in typed.types.resources():
        r.bind(store.dropper(f"{module.__name__}.{r.name}.close()"), store.lock)
    methods = attach_methods(plan, bind)
    for f in plan.functions:
        if f.name in methods:
            continue
        space, name = _place(f.name)
        fn = bind(f)
        if space:
            fn.__qualname__ = f"{space}.{name}"
            setattr(namespace[space], name, fn)
        else:
            namespace[name] = fn
            public.add(name)
    module.__doc__ = typed.doc
    module.__all__ = sorted({*public, *interfaces})  # type: ignore[attr-defined]
    module.__wasmimport__ = ModuleState(  # type: ignore[attr-defined]
        origin, backend.name, core, plan, compiled, store)  # type: ignore[arg-type]


def _described(component: Component, origin: str) -> tuple[
        dict[str, Any], dict[str, tuple[str, FuncType]], TypeNames, dict[str, str],
        PackageDocs]:
    """What the component's WIT says, as the core path's manifest table of its exports; each
    function's WIT name and type; its types' names and places (the resources its interfaces
    export and those the host implements); its interfaces; its docs."""
    docs = docs_of(component)
    try:
        lifts, interfaces = exported_functions(component)
        names = TypeNames({**{id(resource): (attribute, name, {}) for attribute, _, name, resource
                              in exported_resources(component, interfaces)},
                           **dict(imported_resources(component))})
        learn_types(names, lifts)
        table, wit = _table(lifts, interfaces, names, docs)
        for _, members in _imported(component):     # their types are the module's too
            for functype in (t for _, _, t in members if isinstance(t, FuncType)):
                signature_text(functype, names, None)
    except Unlowerable as exc:
        raise WasmImportError(f"{origin}: this component cannot be imported: {exc}",
                              path=origin) from None
    return table, wit, names, interfaces, docs


def _parsed(table: dict[str, Any], origin: str) -> Manifest:
    """The manifest the WIT's table says (one parse: one type object per WIT type)."""
    return manifest_from_mapping(table, f"{origin} (its WIT)")


class _Hosted:
    """One function the component imports and the manifest's Python provides."""

    __slots__ = ("instance", "member", "functype", "python")

    def __init__(self, instance: str | None, member: str, functype: FuncType, python: str):
        self.instance, self.member, self.functype = instance, member, functype
        self.python = python        # "package.module:attribute"


def _imported(component: Component
              ) -> Iterator[tuple[Any, list[tuple[str | None, str, Any]]]]:
    """The component's non-WASI imports, each with its members: (its instance, or None for a
    function imported alone; the member's WIT name; its type).  An interface of types only
    is left out: its types are named where the functions using them are."""
    for imported in component.imports:
        if is_wasi(imported.name):
            continue
        if imported.kind == "func" and isinstance(imported.type, FuncType):
            yield imported, [(None, imported.name, imported.type)]
        elif imported.kind == "instance" and isinstance(imported.type, dict):
            members: list[tuple[str | None, str, Any]] = [
                (imported.name, member, export.type)
                for member, export in imported.type.items() if export.kind != "type"]
            if members or not imported.type:
                yield imported, members
        else:
            yield imported, []


def _host_imports(component: Component, manifest: Any, names: TypeNames, origin: str,
                  why: str) -> tuple[list[_Hosted], dict[str, Any]]:
    """The component's non-WASI imports, each with the Python the manifest's ``[imports]``
    names for it, and their manifest ``imports`` table (typed signatures); an ImportError
    naming any it does not provide.  The types an imported interface defines are named
    where its functions use them (a resource is the host's, served by ``_link_host``)."""
    given = manifest.imports if manifest is not None else {}
    hosted, missing = [], []
    for imported, members in _imported(component):
        unserved = [m for _, m, t in members if not isinstance(t, FuncType)] if members \
            else [imported.name]
        if unserved:
            raise WasmImportError(f"{origin}: it imports {imported.name} "
                                  f"({', '.join(unserved)}), which is not a function: "
                                  "not supported yet for a component that does not run as one "
                                  f"core module ({why})",
                                  path=origin)
        spec = given.get(imported.name)
        for instance, member, functype in members:
            if spec is None:
                missing.append(f"  {imported.name}{f' {member}' if instance else ''}: "
                               f"{functype.wit()}")
            else:
                python = python_for(spec, python_member(member) if instance else None)
                hosted.append(_Hosted(instance, member, functype, python))
    if missing:
        raise not_provided(origin, missing)
    table: dict[str, Any] = {}
    try:
        for host in hosted:
            table.setdefault(host.instance or host.member, {})[host.member] = {
                "signature": signature_text(host.functype, names, None),
                "python": host.python}
    except Unlowerable as exc:
        raise WasmImportError(f"{origin}: this component cannot be imported: {exc}",
                              path=origin) from None
    return hosted, table


def _link_host(linker: Any, hosted: list[tuple[_Hosted, ImportEntry]],
               resources: list[HostResourceType], store: _Store, engine: _Runtime,
               module: str, origin: str) -> None:
    """Define the host's side in ``linker``: each resource type the host implements (its
    destructor lets go of the guest's object) and each hosted import (a callback that lifts
    the guest's arguments, calls the Python function and lowers its result); the store
    keeps the callbacks."""
    ffi = engine.ffi
    root = linker.root()
    by_instance: dict[str | None, tuple[list[HostResourceType], list[Any]]] = {}
    for t in resources:
        store.hosted[t.builtins] = len(store.hosted)
        by_instance.setdefault(t.builtins[0], ([], []))[0].append(t)
    for host, entry in hosted:
        by_instance.setdefault(host.instance, ([], []))[1].append((host, entry))
    no_finalizer = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
    for instance, (types_here, members) in by_instance.items():
        target = root.add_instance(instance) if instance is not None else root
        for t in types_here:
            destructor = ffi.wasmtime_component_resource_destructor_t(_destructor(t, store))
            store.keep.append(destructor)
            kind = ffi.wasmtime_component_resource_type_new_host(store.hosted[t.builtins])
            name = t.builtins[1].encode("utf-8")
            try:
                error = ffi.wasmtime_component_linker_instance_add_resource(
                    target.ptr(), ctypes.create_string_buffer(name), len(name), kind,
                    destructor, None, no_finalizer)
            finally:
                ffi.wasmtime_component_resource_type_delete(kind)
            if error:
                raise WasmImportError(f"{origin}: [imports] {instance}: cannot define resource "
                                      f"{t.builtins[1]}: "
                                      f"{capi.error_message(capi.address(error))}", path=origin)
        for host, entry in members:
            where = f"[imports] {host.instance or host.member}"
            fn = resolve(host.python, where, origin)
            try:
                callback = ffi.wasmtime_component_func_callback_t(
                    _host_callback(host, entry, fn, store, ffi, f"{module}: {where} "
                                   f"({host.python})"))
            except Unlowerable as exc:
                raise WasmImportError(f"{origin}: {where}: {host.member} cannot be served "
                                      f"yet: {exc}", path=origin) from None
            store.keep.append(callback)
            name = host.member.encode("utf-8")
            error = ffi.wasmtime_component_linker_instance_add_func(
                target.ptr(), ctypes.create_string_buffer(name), len(name), callback, None,
                no_finalizer)
            if error:
                raise WasmImportError(f"{origin}: {where}: cannot define {host.member}: "
                                      f"{capi.error_message(capi.address(error))}", path=origin)
        if target is not root:
            target.close()
    root.close()


def _destructor(t: HostResourceType, store: _Store) -> Callable[[Any, Any, int], int]:
    """The destructor wasmtime runs when the guest drops its own handle of one of ``t``'s
    objects: the table lets go of the object (Python frees it when nothing else holds it)."""
    take, error_new = t.table.take, capi.nogil.wasmtime_error_new

    def destroy(env: Any, ctx: Any, rep: int) -> int:
        try:
            take(rep)
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised by the failed call
            store.pending = exc
            return int(error_new(b"wasmimport: a resource's destructor failed"))
    return destroy


def _host_callback(host: _Hosted, entry: ImportEntry, fn: Callable[..., Any], store: _Store,
                   ffi: Any, label: str) -> Callable[..., int]:
    """The C callback of one hosted import: what it raises fails the guest's call, and the
    call then raises it (``_Store.failure``)."""
    signature = entry.signature
    assert signature is not None
    lifts = [_lifter(wit_t, p.type, ffi, store) for (_, wit_t), p in
             zip(host.functype.params, signature.params)]
    result = signature.result
    call = converted_call(fn, result, label)
    lower = _lowerer(host.functype.result, result, ffi, store) \
        if host.functype.result is not None and result is not None else None
    error_new = capi.nogil.wasmtime_error_new

    def callback(env: Any, ctx: Any, ty: Any, args: Any, nargs: int, results: Any,
                 nresults: int) -> int:
        try:
            converted = call(*[lift(args[i]) for i, lift in enumerate(lifts)])
            if lower is not None:
                lower(converted, results[0])
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised by the failed call
            store.pending = exc
            return int(error_new(b"wasmimport: a host function raised"))
    return callback


def stub_layout(component: Component, origin: str) -> tuple[
        ModulePlan, dict[str, tuple[str | None, str]], dict[str, tuple[str | None, str]],
        dict[str, str]]:
    """What ``stub`` needs of a component on this path: a plan of its functions (their
    signatures and docs: no core function stands behind them) and where its types,
    functions and interfaces go, as ``render_component_stub`` takes them."""
    table, _, names, interfaces, _ = _described(component, origin)
    manifest = _parsed(table, origin)
    functions = {entry.name: _place(entry.name) for entry in manifest.functions}
    return _plan(manifest), names.placed, functions, interfaces


def _place(key: str) -> tuple[str | None, str]:
    """Where a function (not a method) of the manifest goes: ``shapes.norm`` -> (the
    interface ``shapes``, ``norm``), ``add`` -> (the module, ``add``)."""
    space, _, name = key.rpartition(".")
    return space or None, name


def _plan(manifest: Manifest) -> ModulePlan:
    """A plan of the component's functions, for ``stub`` and ``__wasmimport__.plan``: their
    signatures and docs (no core function stands behind them)."""
    assert all(entry.signature is not None for entry in manifest.functions)
    plans = tuple(FunctionPlan(entry.name, entry.name, CoreType((), ()),
                               entry.signature, entry.doc, None)  # type: ignore[arg-type]
                  for entry in manifest.functions)
    return ModulePlan(manifest, plans, {}, (), {}, (), (), initialize=False, command=False)


def _table(lifts: list[Any], interfaces: dict[str, str], names: TypeNames, docs: PackageDocs
           ) -> tuple[dict[str, Any], dict[str, tuple[str, FuncType]]]:
    """The manifest table of the exported functions and their types, and each function's
    WIT name and type by its manifest name."""
    functions: dict[str, Any] = {}
    wit: dict[str, tuple[str, FuncType]] = {}
    for space, wit_name, export in lifts:
        functype = export.type if isinstance(export.type, FuncType) else \
            getattr(export.item, "type", None)
        if not isinstance(functype, FuncType):
            raise Unlowerable(f"{wit_name!r} has no function type")
        key = method_key(wit_name, space, names) or function_key(space, wit_name)
        functions[key] = {"signature": signature_text(functype, names, space),
                          "doc": function_doc(wit_name, functype, docs,
                                              interfaces.get(space) if space else None)}
        wit[key] = (wit_name, functype)
    table: dict[str, Any] = {"functions": functions, "types": names.table}
    if docs.module():
        table["doc"] = docs.module()
    return table, wit


def _wasi_config(engine: _Runtime, wasi: Any, origin: str, captured: dict[str, str]) -> Any:
    """wasmtime's WASI 0.2 context for the manifest's ``[wasi]`` grants; the files that
    capture streams go in ``captured``."""
    config = engine.wasmtime.WasiConfig()
    config.argv = [os.path.basename(origin), *wasi.args]
    config.env = [list(pair) for pair in wasi.env]
    for stream in ("stdin", "stdout", "stderr"):
        mode = getattr(wasi, stream)
        if mode == "inherit":
            getattr(config, f"inherit_{stream}")()
        elif mode == "capture" and stream != "stdin":
            captured[stream] = capture_file(stream)
            setattr(config, f"{stream}_file", captured[stream])
        elif mode != "null":
            raise WasmImportError(f"{origin}: [wasi] {stream} = {mode!r} is not supported "
                                  "for a component that does not run as one core module",
                                  path=origin)
    folder = os.path.dirname(origin)
    for guest, host, writable in wasi.preopens:
        config.preopen_dir(os.path.join(folder, host), guest, writable)
    return config


def _export(store: Any, instance: Any, interface: str | None, name: str, origin: str) -> Any:
    parent = instance.get_export_index(store, interface) if interface else None
    index = instance.get_export_index(store, name, instance=parent)
    func = instance.get_func(store, index) if index is not None else None
    if func is None:
        raise WasmImportError(f"{origin}: the component has no export {name!r}", path=origin)
    return func


def _function(module: str, entry: FunctionEntry, functype: FuncType, func: Any,
              engine: _Runtime, store: _Store) -> Callable[..., Any]:
    """The Python function of one export: the core path's argument checks, then a call of
    the component function with the arguments as a value tree."""
    signature = entry.signature
    assert signature is not None
    label = f"{module}.{entry.name}()"
    params = signature.params
    ffi = engine.ffi
    lowers = [_lowerer(wit_t, p.type, ffi, store)
              for (_, wit_t), p in zip(functype.params, params)]
    result = signature.result
    lift = _lifter(functype.result, result, ffi, store) if functype.result is not None else None
    delete, byref, n = ffi.wasmtime_component_val_delete, ctypes.byref, len(params)
    array, Val = ffi.wasmtime_component_val_t * n, ffi.wasmtime_component_val_t
    call = store.caller(func, n, 1 if lift else 0, label)
    loans = loan_tables(p.type for p in params)

    def invoke(*values: Any) -> Any:
        value: Any = None
        args = array()
        filled = 0
        out = Val()
        marks = [table.loans() for table in loans] if loans else None
        try:
            try:
                for arg, lower in zip(values, lowers):
                    lower(arg, args[filled])
                    filled += 1
            except (OverflowError, MemoryError) as exc:
                raise _labelled(exc, label) from None
            call(args, out)
            if lift:
                try:
                    value = lift(out)
                finally:
                    delete(byref(out))
        finally:
            for i in range(filled):
                delete(byref(args[i]))
            if marks is not None:
                for table, mark in zip(loans, marks):
                    table.end_loans(mark)
        if isinstance(result, ResultType):
            index, payload = value
            if index:
                raise GuestError(payload, label)
            return payload
        return value

    namespace: dict[str, Any] = {f"_c{i}": p.converter(label) for i, p in enumerate(params)}
    namespace["_invoke"] = invoke
    converted = ", ".join(p.type.convert_expression(p.name, f"_c{i}")
                          for i, p in enumerate(params))
    fn = generated(entry.name.rpartition(".")[2], params,
                   invoking(converted, params, label, namespace), namespace)
    fn.__module__ = module
    fn.__doc__ = entry.doc
    fn.__annotations__ = {p.name: p.type.annotation for p in params}
    fn.__annotations__["return"] = signature.return_annotation
    return fn


def _name(ffi: Any, text: str) -> Any:
    """A wasm_name_t the value tree owns (freed with it)."""
    return ffi.str_to_capi(text)


def _lowerer(wit: WitType, t: WasmType, ffi: Any, store: _Store) -> Lower:
    """How a converted value of ``t`` (WIT type ``wit``) is written into a value tree."""
    if isinstance(wit, Primitive):
        kind, field = _KINDS[wit.kind], _FIELDS.get(wit.kind, wit.kind)
        if isinstance(t, StrType):
            def lower_str(value: Any, val: Any) -> None:
                if len(value) > _MAX_STRING:
                    raise OverflowError(f"a string of {len(value)} bytes of UTF-8 is too long "
                                        f"for wasmtime's component runtime (2**31 - 1 bytes "
                                        f"at most)")
                val.of.string = ffi.bytes_to_capi(bytes(value))
                val.kind = kind
            return lower_str
        if isinstance(t, CharType):
            def lower_char(value: Any, val: Any) -> None:
                val.of.character = value
                val.kind = kind
            return lower_char

        def lower_scalar(value: Any, val: Any) -> None:
            setattr(val.of, field, value)
            val.kind = kind
        return lower_scalar
    if isinstance(wit, Wrapper) and wit.kind == "list":
        if isinstance(t, (BytesType, ListType)):
            return _packed_lowerer(wit.inner, t, ffi)
        assert isinstance(t, ListOfType)
        return _sequence(list, _lowerer(wit.inner, t.elem, ffi, store), ffi)
    if isinstance(wit, (Record, Tuple)):
        assert isinstance(t, TupleType)
        fields = wit.fields if isinstance(wit, Record) else \
            tuple(("", item) for item in wit.items)
        parts = [(name, _lowerer(ft, st, ffi, store)) for (name, ft), st in zip(fields, t.types)]
        record = isinstance(wit, Record)
        make = ffi.wasmtime_component_valrecord_new_uninit if record else \
            ffi.wasmtime_component_valtuple_new_uninit

        def lower_fields(value: Any, val: Any) -> None:
            raw = ffi.wasmtime_component_valrecord_t() if record else \
                ffi.wasmtime_component_valtuple_t()
            make(raw, len(parts))
            for i in range(len(parts)):        # safe to free, whatever fails below
                slot = raw.data[i].val if record else raw.data[i]
                slot.kind, slot.of.boolean = 0, False
            for i, ((name, lower), item) in enumerate(zip(parts, value)):
                if record:
                    raw.data[i].name = _name(ffi, name)
                    lower(item, raw.data[i].val)
                else:
                    lower(item, raw.data[i])
            if record:
                val.of.record = raw
            else:
                val.of.tuple = raw
            val.kind = _RECORD if record else _TUPLE
        return lower_fields
    if isinstance(wit, Labels):
        labels = wit.names
        if wit.kind == "enum":
            def lower_enum(value: Any, val: Any) -> None:
                val.of.enumeration = _name(ffi, labels[value])
                val.kind = _ENUM
            return lower_enum

        def lower_flags(value: Any, val: Any) -> None:
            chosen = [label for i, label in enumerate(labels) if value >> i & 1]
            raw = ffi.wasmtime_component_valflags_t()
            ffi.wasmtime_component_valflags_new_uninit(raw, len(chosen))
            for i, label in enumerate(chosen):
                raw.data[i] = _name(ffi, label)
            val.of.flags = raw
            val.kind = _FLAGS
        return lower_flags
    if isinstance(wit, Variant):
        assert isinstance(t, CasesType)
        cases = [(name, _lowerer(ct, st, ffi, store)
                  if ct is not None and st is not None else None)
                 for (name, ct), st in zip(wit.cases, t.cases)]

        def lower_variant(value: Any, val: Any) -> None:
            index, payload = value
            name, lower = cases[index]
            val.of.variant.discriminant = _name(ffi, name)
            val.of.variant.val = _boxed(lower, payload, ffi) if lower else None
            val.kind = _VARIANT
        return lower_variant
    if isinstance(wit, Wrapper) and wit.kind == "option":
        assert isinstance(t, OptionType)
        inner = _lowerer(wit.inner, t.payload, ffi, store)

        def lower_option(value: Any, val: Any) -> None:
            val.of.option = None if value is None else _boxed(inner, value[0], ffi)
            val.kind = _OPTION
        return lower_option
    if isinstance(wit, Result):
        assert isinstance(t, ResultType)
        ok = _lowerer(wit.ok, t.ok, ffi, store) \
            if wit.ok is not None and t.ok is not None else None
        err = _lowerer(wit.err, t.error, ffi, store) \
            if wit.err is not None and t.error is not None else None

        def lower_result(value: Any, val: Any) -> None:
            index, payload = value
            lower = err if index else ok
            val.of.result.is_ok = not index
            val.of.result.val = _boxed(lower, payload, ffi) if lower else None
            val.kind = _RESULT
        return lower_result
    if isinstance(wit, Wrapper) and isinstance(t, ResourceType):      # own: moves in
        cls, handles = t.cls, store.handles

        def lower_own(value: Any, val: Any) -> None:
            rep = live_rep(value, cls)
            value._wasm_rep = MOVED
            val.of.resource = handles.take(rep)
            val.kind = _RESOURCE
        return lower_own
    if isinstance(wit, Wrapper) and isinstance(t, BorrowType):        # borrow: lent
        cls, clone = t.resource.cls, ffi.wasmtime_component_resource_any_clone
        handles = store.handles

        def lower_borrow(value: Any, val: Any) -> None:
            val.of.resource = clone(handles.rep(live_rep(value, cls)))
            val.kind = _RESOURCE
        return lower_borrow
    if isinstance(wit, Wrapper) and isinstance(t, (HostResourceType, HostBorrowType)):
        # the host's object: a handle it owns, or one lent for the call (wasmtime checks
        # that the guest dropped it; the call ends the loan in the table)
        hosted = t if isinstance(t, HostResourceType) else t.resource
        table, new_handle = hosted.table, store.host_handle(hosted, hosted is t)
        enter = table.new if hosted is t else table.lend

        def lower_hosted(value: Any, val: Any) -> None:
            rep = enter(value)
            try:
                val.of.resource = new_handle(rep)
            except BaseException:
                table.take(rep)
                raise
            val.kind = _RESOURCE
        return lower_hosted
    raise Unlowerable(f"WIT type {wit.wit()} is not supported as a parameter yet")


def _boxed(lower: Lower, value: Any, ffi: Any) -> Any:
    """A heap value (a variant's payload, an option's value) the tree owns."""
    raw = ffi.wasmtime_component_val_t()
    raw.kind, raw.of.boolean = 0, False
    lower(value, raw)
    return ffi.wasmtime_component_val_new(ctypes.byref(raw))


def _sequence(items: Callable[[Any], Any], lower: Lower, ffi: Any) -> Lower:
    """A list's lowering: its elements (``items`` of the converted value), each lowered."""
    stride = ctypes.sizeof(ffi.wasmtime_component_val_t)

    def lower_list(value: Any, val: Any) -> None:
        elements = items(value)
        _can_allocate(len(elements), stride)
        raw = ffi.wasmtime_component_vallist_t()
        ffi.wasmtime_component_vallist_new_uninit(raw, len(elements))
        for i in range(len(elements)):
            raw.data[i].kind, raw.data[i].of.boolean = 0, False
        for i, element in enumerate(elements):
            lower(element, raw.data[i])
        val.of.list = raw
        val.kind = _LIST
    return lower_list


def _can_allocate(count: int, stride: int) -> None:
    """Raise MemoryError if a list's nodes (``count`` of ``stride`` bytes) cannot be
    allocated now: libwasmtime allocates them with the C allocator and aborts the process
    when it fails (a list<u8> of 1 GiB is 32 GiB of nodes), so a large one is tried first."""
    size = count * stride
    if size < _PROBED:
        return
    block = _raw_malloc(size)
    if not block:
        raise MemoryError(f"a list of {count} elements needs {size} bytes as wasmtime's "
                          f"value tree ({stride} bytes an element), more than this process "
                          f"can allocate")
    _raw_free(block)


def _packed_lowerer(elem: WitType, t: BytesType | ListType, ffi: Any) -> Lower:
    """A list of numbers (``t``'s converted value is their little-endian bytes) written as
    its value tree in a few byte-slice copies, not element by element: each element is a
    ``wasmtime_component_val_t`` whose kind is the first byte and whose value the union's
    first bytes, so the tree's bytes are the packed bytes spread at the element's stride."""
    assert isinstance(elem, Primitive)
    kind, (width, stride, at) = bytes([_KINDS[elem.kind]]), _packed_layout(t, ffi)
    make = ffi.wasmtime_component_vallist_new_uninit

    def lower_packed(value: Any, val: Any) -> None:
        count = len(value) // width
        _can_allocate(count, stride)
        data = bytes(value)
        raw = ffi.wasmtime_component_vallist_t()
        make(raw, count)
        if count:        # written in place: the rest of each node's union is never read
            tree = _nodes(raw, count * stride)
            tree[::stride] = kind * count
            for byte in range(width):
                tree[at + byte::stride] = data[byte::width]
        val.of.list = raw
        val.kind = _LIST
    return lower_packed


def _packed_layout(t: BytesType | ListType, ffi: Any) -> tuple[int, int, int]:
    """(bytes an element, bytes a node, where in a node its value starts) of a list of
    numbers."""
    node = ffi.wasmtime_component_val_t
    return t.elem_size if isinstance(t, ListType) else 1, ctypes.sizeof(node), node.of.offset


def _nodes(vallist: Any, size: int) -> memoryview:
    """The ``size`` bytes of a non-empty list's nodes, as a byte view (no copy)."""
    return memoryview((ctypes.c_ubyte * size).from_address(
        ctypes.addressof(vallist.data.contents))).cast("B")


def _packed_lifter(t: BytesType | ListType, ffi: Any) -> Lift:
    """A list of numbers read from its value tree in a few byte-slice copies (see
    ``_packed_lowerer``), then decoded as the core path decodes the same bytes."""
    (width, stride, at), decode = _packed_layout(t, ffi), t.decode

    def lift_packed(val: Any) -> Any:
        count = val.of.list.size
        if not count:
            return decode(b"")
        tree = _nodes(val.of.list, count * stride)
        if width == 1:
            return decode(bytes(tree[at::stride]))
        data = bytearray(count * width)
        for byte in range(width):
            data[byte::width] = tree[at + byte::stride]
        return decode(bytes(data))
    return lift_packed


def _lifter(wit: WitType, t: WasmType | None, ffi: Any, store: _Store) -> Lift:
    """How a value tree of WIT type ``wit`` becomes the Python value ``t`` describes (a
    result as (0, ok) or (1, error), raised by the caller)."""
    if isinstance(wit, Primitive):
        field = _FIELDS.get(wit.kind, wit.kind)
        if wit.kind == "string":
            return lambda val: ctypes.string_at(val.of.string.data, val.of.string.size
                                                ).decode("utf-8")
        if wit.kind == "char":
            return lambda val: chr(val.of.character)
        if isinstance(t, FloatType) or wit.kind == "bool":
            return lambda val: getattr(val.of, field)
        return lambda val: int(getattr(val.of, field))
    if isinstance(wit, Wrapper) and wit.kind == "list":
        if isinstance(t, (BytesType, ListType)):
            return _packed_lifter(t, ffi)
        elem = t.elem if isinstance(t, (ListType, ListOfType)) else None
        inner = _lifter(wit.inner, elem, ffi, store)
        return lambda val: [inner(val.of.list.data[i]) for i in range(val.of.list.size)]
    if isinstance(wit, Record):
        assert isinstance(t, RecordType)
        parts = [_lifter(ft, st, ffi, store) for (_, ft), st in zip(wit.fields, t.types)]
        cls = t.cls
        return lambda val: cls(*(lift(val.of.record.data[i].val)
                                 for i, lift in enumerate(parts)))
    if isinstance(wit, Tuple):
        assert isinstance(t, TupleType)
        items = [_lifter(it, st, ffi, store) for it, st in zip(wit.items, t.types)]
        return lambda val: tuple(lift(val.of.tuple.data[i]) for i, lift in enumerate(items))
    if isinstance(wit, Labels):
        labels = wit.names
        if wit.kind == "enum":
            assert isinstance(t, EnumType)
            members = dict(zip(labels, t.members))
            return lambda val: members[_text(val.of.enumeration)]
        assert isinstance(t, FlagsType)
        bits = {label: 1 << i for i, label in enumerate(labels)}
        flags_cls = t.cls
        return lambda val: flags_cls(sum(bits[_text(val.of.flags.data[i])]
                                         for i in range(val.of.flags.size)))
    if isinstance(wit, Variant):
        assert isinstance(t, CasesType)
        cases = {name: (cls, _lifter(ct, st, ffi, store) if ct is not None and st is not None
                        else None)
                 for (name, ct), st, cls in zip(wit.cases, t.cases, t.case_classes)}

        def lift_variant(val: Any) -> Any:
            case_cls, lift = cases[_text(val.of.variant.discriminant)]
            return case_cls(lift(val.of.variant.val.contents) if lift else None)
        return lift_variant
    if isinstance(wit, Wrapper) and wit.kind == "option":
        assert isinstance(t, OptionType)
        some = _lifter(wit.inner, t.payload, ffi, store)
        return lambda val: some(val.of.option.contents) if val.of.option else None
    if isinstance(wit, Result):
        assert isinstance(t, ResultType)
        ok = _lifter(wit.ok, t.ok, ffi, store) if wit.ok is not None else None
        err = _lifter(wit.err, t.error, ffi, store) if wit.err is not None else None

        def lift_result(val: Any) -> Any:
            outcome = val.of.result
            lift = ok if outcome.is_ok else err
            payload = lift(outcome.val.contents) if lift is not None and outcome.val else None
            return (0 if outcome.is_ok else 1, payload)
        return lift_result
    take_pointer = ffi.take_pointer
    if isinstance(wit, Wrapper) and isinstance(t, ResourceType):     # own: Python's now
        adopt, handles = t.adopt, store.handles
        return lambda val: adopt(handles.new(take_pointer(val.of, "resource")))
    if isinstance(wit, Wrapper) and isinstance(t, (HostResourceType, HostBorrowType)):
        # the host's own object (its handle leaves the table) or one it lends (it stays)
        find = t.table.take if isinstance(t, HostResourceType) else t.resource.table.rep
        rep_of = store.host_rep
        return lambda val: find(rep_of(take_pointer(val.of, "resource")))
    raise Unlowerable(f"WIT type {wit.wit()} is not supported as a result yet")


def _text(name: Any) -> str:
    """A wasm_name_t's text."""
    return str(ctypes.string_at(name.data, name.size).decode("utf-8"))
