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

Not on this path yet, refused by name at import: resources, imports other than WASI 0.2's,
and ``[limits]``.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import struct
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

from .._binding import generated
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
from .._errors import GuestError, Trap, WasmImportError
from .._manifest import FunctionEntry, manifest_from_mapping
from .._types import BytesType, CharType, FloatType, ListType, StrType, WasmType
from ..backends import BackendError
from ._decode import Component
from ._lower import (
    TypeNames,
    Unlowerable,
    docs_of,
    exported_functions,
    function_doc,
    function_key,
    learn_types,
    place_types,
    signature_text,
)
from ._manifest import wasi_not_granted
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
_LIST, _RECORD, _TUPLE, _VARIANT, _ENUM, _OPTION, _RESULT, _FLAGS = range(13, 21)

Lower = Callable[[Any, Any], None]       # (converted value, wasmtime_component_val_t)
Lift = Callable[[Any], Any]              # wasmtime_component_val_t -> Python value


class _Runtime:
    """The wasmtime engine components run on, as the compile cache sees a backend."""

    name = "wasmtime-component"
    file_cache = True

    def __init__(self) -> None:
        import wasmtime
        from wasmtime import _ffi, component

        self.wasmtime, self.ffi, self.component = wasmtime, _ffi, component
        config = wasmtime.Config()
        config.signals_based_traps = False     # as the core engine: a trap stays a Trap
        self.engine = wasmtime.Engine(config)
        library = _ffi.dll._name
        self.cache_tag = f"{self.name}-{os.stat(library).st_size}-signals_based_traps=0"

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


_RUNTIME: list[_Runtime] = []
_RUNTIME_LOCK = threading.Lock()
# wasmtime-py objects that may live until the interpreter exits (the engine, each module's
# store): let go of at exit, so that no __del__ calls into a half torn-down wasmtime-py
_KEPT: list[weakref.ref[Any]] = []


def runtime() -> _Runtime:
    """The one engine of this process's components (made on first use)."""
    with _RUNTIME_LOCK:
        if not _RUNTIME:
            _RUNTIME.append(_Runtime())
            _KEPT.append(weakref.ref(_RUNTIME[0].engine))
            atexit.register(_let_go)
        return _RUNTIME[0]


def _let_go() -> None:
    """At exit: leave the engine and stores to the process's end, unfreed (the OS frees
    them), rather than to wasmtime-py's finalizers, which fail once its modules are gone."""
    for ref in _KEPT:
        obj = ref()
        if obj is not None:
            try:
                obj._consume()
            except ValueError:
                pass              # closed already


def compile_component(data: bytes, origin: str) -> Any:
    """The component's compiled code: from the compile cache, or compiled and cached."""
    try:
        return load_or_compile(runtime(), sha256(data), lambda: data)  # type: ignore[arg-type]
    except BackendError as exc:
        raise WasmImportError(f"{origin}: not a valid component: {exc}", path=origin) from None


def build(module: types.ModuleType, component: Component, data: bytes, origin: str,
          manifest: Any, why: str) -> None:
    """Compile, instantiate and bind ``component`` (``data``) into ``module``; ``why`` says
    why it is not run as a core module, for the errors of what this path refuses."""
    core = manifest.core if manifest is not None else None
    if core is not None and any(v is not None for v in (core.limits.memory, core.limits.timeout,
                                                         core.limits.fuel)):
        raise WasmImportError(f"{origin}: [limits] are not supported yet for a component "
                              f"that does not run as one core module ({why})", path=origin)
    wasi = [i.name for i in component.imports if i.name.startswith("wasi:")]
    others = [i.name for i in component.imports
              if not i.name.startswith("wasi:") or i.name.startswith("wasi:http/")]
    if others:
        raise WasmImportError(f"{origin}: imports other than WASI 0.2's cli, filesystem, "
                              "clocks, random, io and sockets (denied every address) are not "
                              "supported yet for a component that does not run as one core "
                              f"module ({why}): " + ", ".join(others), path=origin)
    if wasi and (core is None or core.wasi is None):
        raise wasi_not_granted(origin, wasi)
    docs = docs_of(component)
    try:
        lifts, interfaces = exported_functions(component)
        names = TypeNames({})
        learn_types(names, lifts)
        table, wit = _table(lifts, interfaces, names, docs)
    except Unlowerable as exc:
        raise WasmImportError(f"{origin}: this component cannot be imported: {exc}",
                              path=origin) from None
    typed = manifest_from_mapping(table, f"{origin} (its WIT)")
    engine = runtime()
    compiled = compile_component(data, origin)
    store = engine.wasmtime.Store(engine.engine)
    _KEPT.append(weakref.ref(store))
    linker = engine.component.Linker(engine.engine)
    if wasi:
        assert core is not None
        linker.add_wasip2()
        store.set_wasi(_wasi_config(engine, core.wasi, origin))
    try:
        instance = linker.instantiate(store, compiled)
    except engine.wasmtime.WasmtimeError as exc:
        raise WasmImportError(f"{origin}: the component does not instantiate: {exc}",
                              path=origin) from None
    lock = threading.RLock()
    namespace = module.__dict__
    for attribute in interfaces:
        namespace[attribute] = types.SimpleNamespace(__qualname__=attribute)
    classes = typed.types.classes()
    for cls in classes.values():
        for each in (cls, *cls.__subclasses__()):       # a variant's cases too
            each.__module__ = module.__name__
    public = place_types(module, classes, names.placed, interfaces, docs)
    for entry in typed.functions:
        space, _, name = entry.name.rpartition(".")
        wit_name, functype = wit[entry.name]
        func = _export(engine, store, instance, interfaces.get(space) if space else None,
                       wit_name, origin)
        fn = _function(module.__name__, entry, functype, func, engine, store, lock)
        if space:
            fn.__qualname__ = f"{space}.{name}"
            setattr(namespace[space], name, fn)
        else:
            namespace[name] = fn
            public.add(name)
    module.__doc__ = typed.doc
    module.__all__ = sorted({*public, *interfaces})  # type: ignore[attr-defined]


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
        if wit_name.startswith("["):
            raise Unlowerable(f"it has resources ({wit_name}): not supported yet for a "
                              "component that does not run as one core module")
        key = function_key(space, wit_name)
        functions[key] = {"signature": signature_text(functype, names, space),
                          "doc": function_doc(wit_name, functype, docs,
                                              interfaces.get(space) if space else None)}
        wit[key] = (wit_name, functype)
    table: dict[str, Any] = {"functions": functions, "types": names.table}
    if docs.module():
        table["doc"] = docs.module()
    return table, wit


def _wasi_config(engine: _Runtime, wasi: Any, origin: str) -> Any:
    """wasmtime's WASI 0.2 context for the manifest's ``[wasi]`` grants."""
    config = engine.wasmtime.WasiConfig()
    config.argv = [os.path.basename(origin), *wasi.args]
    config.env = [list(pair) for pair in wasi.env]
    for stream in ("stdin", "stdout", "stderr"):
        mode = getattr(wasi, stream)
        if mode == "inherit":
            getattr(config, f"inherit_{stream}")()
        elif mode != "null":
            raise WasmImportError(f"{origin}: [wasi] {stream} = {mode!r} is not supported yet "
                                  "for a component that does not run as one core module",
                                  path=origin)
    folder = os.path.dirname(origin)
    for guest, host, writable in wasi.preopens:
        config.preopen_dir(os.path.join(folder, host), guest, writable)
    return config


def _export(engine: _Runtime, store: Any, instance: Any, interface: str | None, name: str,
            origin: str) -> Any:
    parent = instance.get_export_index(store, interface) if interface else None
    index = instance.get_export_index(store, name, instance=parent)
    func = instance.get_func(store, index) if index is not None else None
    if func is None:
        raise WasmImportError(f"{origin}: the component has no export {name!r}", path=origin)
    return func


def _function(module: str, entry: FunctionEntry, functype: FuncType, func: Any,
              engine: _Runtime, store: Any, lock: threading.RLock) -> Callable[..., Any]:
    """The Python function of one export: the core path's argument checks, then a call of
    the component function with the arguments as a value tree."""
    signature = entry.signature
    assert signature is not None
    label = f"{module}.{entry.name}()"
    params = signature.params
    ffi = engine.ffi
    lowers = [_lowerer(wit_t, p.type, ffi) for (_, wit_t), p in zip(functype.params, params)]
    result = signature.result
    lift = _lifter(functype.result, result, ffi) if functype.result is not None else None
    raw_func, context = func._func, store._context
    call, post_return, delete = (ffi.wasmtime_component_func_call,
                                 ffi.wasmtime_component_func_post_return,
                                 ffi.wasmtime_component_val_delete)
    byref, n = ctypes.byref, len(params)
    array = ffi.wasmtime_component_val_t * n
    Val, WasmtimeError = ffi.wasmtime_component_val_t, engine.wasmtime.WasmtimeError

    results = 1 if lift else 0

    def invoke(*values: Any) -> Any:
        value: Any = None
        args = array()
        filled = 0
        out = Val()
        try:
            for arg, lower in zip(values, lowers):
                lower(arg, args[filled])
                filled += 1
            with lock:
                error = call(byref(raw_func), context(), args, n,
                             byref(out) if results else None, results)
                if error:
                    raise _trap(WasmtimeError._from_ptr(error), label)
                try:
                    value = lift(out) if lift else None
                finally:
                    if lift:
                        delete(byref(out))
                    error = post_return(byref(raw_func), context())
                    if error:
                        raise _trap(WasmtimeError._from_ptr(error), label)
        finally:
            for i in range(filled):
                delete(byref(args[i]))
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
    fn = generated(entry.name.rpartition(".")[2], params, f"return _invoke({converted})",
                   namespace)
    fn.__module__ = module
    fn.__doc__ = entry.doc
    fn.__annotations__ = {p.name: p.type.annotation for p in params}
    fn.__annotations__["return"] = signature.return_annotation
    return fn


def _trap(error: Any, label: str) -> Trap:
    """A runtime error of a call as the Trap the core path raises (its first line)."""
    text = str(error).strip()
    return Trap(f"{label}: {text.splitlines()[0] if text else 'the call failed'}",
                frames=())


def _name(ffi: Any, text: str) -> Any:
    """A wasm_name_t the value tree owns (freed with it)."""
    return ffi.str_to_capi(text)


def _lowerer(wit: WitType, t: WasmType, ffi: Any) -> Lower:
    """How a converted value of ``t`` (WIT type ``wit``) is written into a value tree."""
    if isinstance(wit, Primitive):
        kind, field = _KINDS[wit.kind], _FIELDS.get(wit.kind, wit.kind)
        if isinstance(t, StrType):
            def lower_str(value: Any, val: Any) -> None:
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
        if isinstance(t, BytesType):
            return _sequence(bytes, _lowerer(wit.inner, t, ffi), ffi)
        if isinstance(t, ListType):
            code = "<" + t._code

            def items(value: Any) -> Any:
                return [v for (v,) in struct.iter_unpack(code, bytes(value))]
            return _sequence(items, _lowerer(wit.inner, t.elem, ffi), ffi)
        assert isinstance(t, ListOfType)
        return _sequence(list, _lowerer(wit.inner, t.elem, ffi), ffi)
    if isinstance(wit, (Record, Tuple)):
        assert isinstance(t, TupleType)
        fields = wit.fields if isinstance(wit, Record) else \
            tuple(("", item) for item in wit.items)
        parts = [(name, _lowerer(ft, st, ffi)) for (name, ft), st in zip(fields, t.types)]
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
        cases = [(name, _lowerer(ct, st, ffi) if ct is not None and st is not None else None)
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
        inner = _lowerer(wit.inner, t.payload, ffi)

        def lower_option(value: Any, val: Any) -> None:
            val.of.option = None if value is None else _boxed(inner, value[0], ffi)
            val.kind = _OPTION
        return lower_option
    raise Unlowerable(f"WIT type {wit.wit()} is not supported as a parameter yet")


def _boxed(lower: Lower, value: Any, ffi: Any) -> Any:
    """A heap value (a variant's payload, an option's value) the tree owns."""
    raw = ffi.wasmtime_component_val_t()
    raw.kind, raw.of.boolean = 0, False
    lower(value, raw)
    return ffi.wasmtime_component_val_new(ctypes.byref(raw))


def _sequence(items: Callable[[Any], Any], lower: Lower, ffi: Any) -> Lower:
    """A list's lowering: its elements (``items`` of the converted value), each lowered."""
    def lower_list(value: Any, val: Any) -> None:
        elements = items(value)
        raw = ffi.wasmtime_component_vallist_t()
        ffi.wasmtime_component_vallist_new_uninit(raw, len(elements))
        for i in range(len(elements)):
            raw.data[i].kind, raw.data[i].of.boolean = 0, False
        for i, element in enumerate(elements):
            lower(element, raw.data[i])
        val.of.list = raw
        val.kind = _LIST
    return lower_list


def _lifter(wit: WitType, t: WasmType | None, ffi: Any) -> Lift:
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
        if isinstance(t, BytesType):
            return lambda val: bytes(val.of.list.data[i].of.u8 for i in range(val.of.list.size))
        elem = t.elem if isinstance(t, (ListType, ListOfType)) else None
        inner = _lifter(wit.inner, elem, ffi)
        return lambda val: [inner(val.of.list.data[i]) for i in range(val.of.list.size)]
    if isinstance(wit, Record):
        assert isinstance(t, RecordType)
        parts = [_lifter(ft, st, ffi) for (_, ft), st in zip(wit.fields, t.types)]
        cls = t.cls
        return lambda val: cls(*(lift(val.of.record.data[i].val)
                                 for i, lift in enumerate(parts)))
    if isinstance(wit, Tuple):
        assert isinstance(t, TupleType)
        items = [_lifter(it, st, ffi) for it, st in zip(wit.items, t.types)]
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
        cases = {name: (cls, _lifter(ct, st, ffi) if ct is not None and st is not None
                        else None)
                 for (name, ct), st, cls in zip(wit.cases, t.cases, t.case_classes)}

        def lift_variant(val: Any) -> Any:
            case_cls, lift = cases[_text(val.of.variant.discriminant)]
            return case_cls(lift(val.of.variant.val.contents) if lift else None)
        return lift_variant
    if isinstance(wit, Wrapper) and wit.kind == "option":
        assert isinstance(t, OptionType)
        some = _lifter(wit.inner, t.payload, ffi)
        return lambda val: some(val.of.option.contents) if val.of.option else None
    if isinstance(wit, Result):
        assert isinstance(t, ResultType)
        ok = _lifter(wit.ok, t.ok, ffi) if wit.ok is not None else None
        err = _lifter(wit.err, t.error, ffi) if wit.err is not None else None

        def lift_result(val: Any) -> Any:
            outcome = val.of.result
            lift = ok if outcome.is_ok else err
            payload = lift(outcome.val.contents) if lift is not None and outcome.val else None
            return (0 if outcome.is_ok else 1, payload)
        return lift_result
    raise Unlowerable(f"WIT type {wit.wit()} is not supported as a result yet")


def _text(name: Any) -> str:
    """A wasm_name_t's text."""
    return str(ctypes.string_at(name.data, name.size).decode("utf-8"))
