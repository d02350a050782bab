"""From wasm bytes and a manifest to a populated Python module.

Data flows one way: bytes -> (ModuleInfo, Manifest) -> ``plan_module`` (every check that can
fail because of the files, done before any guest code runs) -> compiled module -> instance ->
bound functions.  A plan failure is an ImportError naming the file and the entry.
"""

from __future__ import annotations

import hashlib
import keyword
import types
import weakref
from dataclasses import dataclass, field
from typing import Any

from . import _cache
from ._backend import Backend, BackendError, CompiledModule, Instance, Memory
from ._binding import MAX_FLAT_PARAMS, make_function
from ._errors import ManifestError, Trap, WasmImportError
from ._guest import GuestABI
from ._manifest import EMBEDDED_SECTION, AbiOptions, Manifest, Param, Signature, parse_manifest
from ._types import CORE_TYPES, SCALARS, BufferType, ScalarType
from ._wasmbin import (
    FuncType,
    ModuleInfo,
    WasmFormatError,
    is_wasm_binary,
    read_module,
    with_export,
)

# C guests keep their stack in linear memory below the mutable global ``__stack_pointer``.
# A trap skips the epilogues that would restore it, so each trap would leak the trapped
# frames until the stack is gone.  wasmimport exports that global under this name and puts
# back, after every trap, the value it had between calls.
STACK_POINTER_EXPORT = "__wasmimport_stack_pointer"

_REALLOC_TYPE = FuncType(("i32", "i32", "i32", "i32"), ("i32",))
_ALLOC_TYPE = FuncType(("i32",), ("i32",))
_FREE_TYPE = FuncType(("i32",), ())
_INIT_TYPE = FuncType((), ())


@dataclass(frozen=True)
class FunctionPlan:
    """One Python function to create: its name, export, core and typed signatures."""

    name: str
    export: str
    functype: FuncType
    signature: Signature
    doc: str
    post: str | None      # the cabi_post_<export> to call after lifting, if exported
    uses_guest: bool      # lowers or lifts through memory


@dataclass(frozen=True)
class ModulePlan:
    """Everything needed to populate a module, validated."""

    doc: str | None
    abi: AbiOptions
    functions: tuple[FunctionPlan, ...]
    memories: tuple[str, ...]
    public: tuple[str, ...]
    needs_allocator: bool
    initialize: bool


@dataclass
class ModuleState:
    """Kept on the module as ``__wasmimport__``: what it was built from, for introspection."""

    origin: str
    backend: str
    manifest: Manifest | None
    info: ModuleInfo
    compiled: CompiledModule
    instance: Instance
    memories: dict[str, Memory] = field(default_factory=dict)


def _core_signature(functype: FuncType) -> Signature:
    params = tuple(Param(f"p{i}", SCALARS[core]) for i, core in enumerate(functype.params))
    result = SCALARS[functype.results[0]] if len(functype.results) == 1 else None
    multi = functype.results if len(functype.results) > 1 else ()
    return Signature(params, result, str(functype), multi)


def _expected_core(signature: Signature) -> FuncType:
    params = signature.core_params()
    if len(params) > MAX_FLAT_PARAMS:
        params = ("i32",)
    return FuncType(params, signature.core_results())


def _is_public(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") \
        and not name.startswith("cabi_")


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def plan_module(info: ModuleInfo, manifest: Manifest | None, origin: str) -> ModulePlan:
    """Check the manifest against the module's exports and decide every binding."""
    source = manifest.source if manifest else origin
    abi = manifest.abi if manifest else AbiOptions()
    functions: list[FunctionPlan] = []
    bound_exports: set[str] = set()
    for entry in manifest.functions if manifest else ():
        where = f"{source}: [functions] {entry.name}"
        if _is_dunder(entry.name):
            raise ManifestError(f"{where}: dunder names are reserved for the module itself")
        export = info.export(entry.export)
        if export is None:
            available = ", ".join(e.name for e in info.exports if e.kind == "func") or "none"
            raise ManifestError(f"{where}: the module has no export {entry.export!r} "
                                f"(its function exports: {available})")
        if export.functype is None:
            raise ManifestError(f"{where}: export {entry.export!r} is a {export.kind}, "
                                "not a function")
        if entry.signature is None:
            signature = _checked_core_signature(export.functype, where)
        else:
            signature = entry.signature
            expected = _expected_core(signature)
            if expected != export.functype:
                raise ManifestError(f"{where}: signature {signature.text!r} needs the export "
                                    f"{entry.export!r} to have core type {expected}, but its "
                                    f"core type is {export.functype}")
        functions.append(_function_plan(info, entry.name, entry.export, export.functype,
                                        signature, entry.doc, origin))
        bound_exports.add(entry.export)
    taken = {f.name for f in functions}
    for export in info.exports:
        if export.functype is None or export.name in bound_exports or export.name in taken \
                or _is_dunder(export.name) or not _core_callable(export.functype):
            continue
        functions.append(_function_plan(info, export.name, export.name, export.functype,
                                        _core_signature(export.functype), None, origin))
        taken.add(export.name)
    memories = tuple(e.name for e in info.exports
                     if e.kind == "memory" and e.name not in taken and not _is_dunder(e.name))
    needs_allocator = any(
        isinstance(p.type, BufferType) or len(f.signature.core_params()) > MAX_FLAT_PARAMS
        for f in functions if f.uses_guest for p in f.signature.params)
    users = [f for f in functions if f.uses_guest]
    if users:
        _check_guest_support(info, abi, users[0], needs_allocator, source)
    public = tuple(f.name for f in functions
                   if _is_public(f.name) and f.export not in (abi.alloc, abi.free))
    init = info.export("_initialize")
    return ModulePlan(manifest.doc if manifest else None, abi, tuple(functions), memories,
                      public, needs_allocator,
                      initialize=init is not None and init.functype == _INIT_TYPE)


def _core_callable(functype: FuncType) -> bool:
    return all(t in CORE_TYPES for t in (*functype.params, *functype.results))


def _checked_core_signature(functype: FuncType, where: str) -> Signature:
    if not _core_callable(functype):
        raise ManifestError(f"{where}: core type {functype} uses value types wasmimport "
                            "cannot pass (only i32, i64, f32, f64)")
    return _core_signature(functype)


def _function_plan(info: ModuleInfo, name: str, export: str, functype: FuncType,
                   signature: Signature, doc: str | None, origin: str) -> FunctionPlan:
    post_name = f"cabi_post_{export}"
    post = info.export(post_name)
    if post is not None:
        wanted = FuncType(functype.results, ())
        if post.functype != wanted:
            raise WasmImportError(f"{origin}: export {post_name!r} has core type "
                                  f"{post.functype or post.kind}, expected {wanted}")
    uses_guest = post is not None or not all(
        isinstance(p.type, ScalarType) for p in signature.params) or \
        len(signature.core_params()) > MAX_FLAT_PARAMS or \
        not (signature.result is None or isinstance(signature.result, ScalarType))
    if doc is None:
        doc = f"wasm export {export!r}: {signature.text}"
    return FunctionPlan(name, export, functype, signature, doc,
                        post_name if post is not None else None, uses_guest)


def _check_guest_support(info: ModuleInfo, abi: AbiOptions, user: FunctionPlan,
                         needs_allocator: bool, source: str) -> None:
    where = f"{source}: [functions] {user.name}"
    memory = info.export(abi.memory)
    if memory is None or memory.kind != "memory":
        raise ManifestError(f"{where}: str/bytes/list values need guest memory, but the module "
                            f"exports no memory named {abi.memory!r} (set [abi] memory)")
    checks = [(abi.free, _FREE_TYPE, "free")] if abi.free else []
    if needs_allocator:
        checks.append((abi.alloc, _ALLOC_TYPE, "alloc") if abi.alloc
                      else (abi.realloc, _REALLOC_TYPE, "realloc"))
    for export, wanted, key in checks:
        found = info.export(export)
        if found is None or found.functype != wanted:
            actual = "is missing" if found is None else \
                f"has core type {found.functype or found.kind}"
            raise ManifestError(f"{where}: needs the [abi] {key} export {export!r} with core "
                                f"type {wanted}, but it {actual}")


_COMPILED: weakref.WeakValueDictionary[tuple[str, bytes], CompiledModule] = \
    weakref.WeakValueDictionary()


def _compile(backend: Backend, wasm: bytes, origin: str) -> CompiledModule:
    """Compiled code for ``wasm``: from this process, from the disk cache, or compiled."""
    digest = hashlib.sha256(wasm).digest()
    compiled = _COMPILED.get((backend.cache_tag, digest))
    if compiled is None:
        try:
            compiled = _cache.load_or_compile(backend, wasm, digest)
        except BackendError as exc:
            raise WasmImportError(f"{origin}: not a valid wasm module: {exc}", path=origin) \
                from None
        _COMPILED[backend.cache_tag, digest] = compiled
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


def build_module(module: types.ModuleType, data: bytes, origin: str,
                 manifest: Manifest | None, backend: Backend) -> None:
    """Compile, validate, instantiate and bind ``data`` into ``module``."""
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
        _compile(backend, wasm, origin)  # the engine's diagnosis is the more precise one
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None
    if manifest is None:
        manifest = read_manifest(info, origin)
    plan = plan_module(info, manifest, origin)
    if info.stack_pointer is not None:
        wasm = with_export(wasm, STACK_POINTER_EXPORT, "global", info.stack_pointer)
    compiled = _compile(backend, wasm, origin)
    if info.imports:
        missing = "\n".join(f"  {imp.module}.{imp.name}: {imp.functype or imp.kind}"
                            for imp in info.imports)
        raise WasmImportError(f"{origin}: the module imports what its manifest does not "
                              f"provide:\n{missing}", path=origin)
    try:
        instance = compiled.instantiate()
    except BackendError as exc:
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None
    _populate(module, plan, instance, ModuleState(origin, backend.name, manifest, info,
                                                   compiled, instance))


def _populate(module: types.ModuleType, plan: ModulePlan, instance: Instance,
              state: ModuleState) -> None:
    name = module.__name__
    if plan.initialize:
        try:
            instance.function("_initialize", _INIT_TYPE, f"{name}._initialize()")()
        except Trap as exc:
            raise WasmImportError(f"{state.origin}: _initialize trapped: {exc}",
                                  name=name, path=state.origin) from None
    if state.info.stack_pointer is not None:
        top = instance.get_global(STACK_POINTER_EXPORT)
        instance.on_trap = lambda: instance.set_global(STACK_POINTER_EXPORT, top)
    guest = None
    if any(f.uses_guest for f in plan.functions):
        abi = plan.abi

        def raw(export: str | None, functype: FuncType) -> Any:
            return instance.function(export, functype, f"{name}.{export}()") if export else None
        guest = GuestABI(instance.memory(abi.memory),
                         realloc=raw(abi.realloc, _REALLOC_TYPE)
                         if plan.needs_allocator and not abi.alloc else None,
                         alloc=raw(abi.alloc, _ALLOC_TYPE) if plan.needs_allocator else None,
                         free=raw(abi.free, _FREE_TYPE))
    namespace = module.__dict__
    for f in plan.functions:
        label = f"{name}.{f.name}()"
        namespace[f.name] = make_function(
            module=name, name=f.name, signature=f.signature,
            raw=instance.function(f.export, f.functype, label),
            guest=guest, lock=instance.lock, doc=f.doc,
            post=instance.function(f.post, FuncType(f.functype.results, ()), label)
            if f.post else None)
    state.memories = {m: instance.memory(m) for m in plan.memories}
    module.__doc__ = plan.doc
    module.__all__ = list(plan.public)  # type: ignore[attr-defined]
    module.__wasmimport__ = state  # type: ignore[attr-defined]
    if state.memories:
        _add_memory_attributes(module, state.memories)


def _add_memory_attributes(module: types.ModuleType, memories: dict[str, Memory]) -> None:
    """Expose memories through PEP 562 ``__getattr__``.

    Each access returns a buffer over the memory's *current* size, so a view taken after the
    guest grew its memory sees the new pages.
    """
    name = module.__name__
    namespace = module.__dict__

    def __getattr__(attr: str) -> Any:
        memory = memories.get(attr)
        if memory is None:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        return memory.view()

    def __dir__() -> list[str]:
        return sorted({*namespace, *memories})

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
