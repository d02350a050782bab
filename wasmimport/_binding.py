"""Turns one planned export into a real Python function, on one of two call paths.

The compiled path (``_speedups.Function``, when the extension is built and the backend
offers a C entry point) converts, lowers, calls and lifts in C.  The pure path generates a
Python function from source (as dataclasses and attrs generate ``__init__``) over the
backend's ctypes raw caller.  Both take every decision (converters, memory, spilling,
post-return) here, once, at import.

The pure path is also the compiled path's source of truth for everything unusual: a call
with keywords or defaults is bound by a generated Python twin (so CPython raises its usual
"missing 1 required positional argument" errors), an argument C does not convert itself goes
through the type's Python converter, and a result C refuses is lifted (or its Trap raised)
by the same Python code the pure path runs.
"""

from __future__ import annotations

import keyword

from ._compound import (
    CasesType,
    EnumType,
    FlagsType,
    ListOfType,
    OptionType,
    RecordType,
    ResultType,
    TupleType,
    VariantType,
    walk,
)
from ._errors import GuestError, Trap
from ._extension import core_codes, extension
from ._guest import is_unplaced, unplaced
from ._manifest import KEYWORD_ONLY, NO_DEFAULT, POSITIONAL_ONLY, Param, Signature
from ._resource import MOVED, BorrowType, HostBorrowType, ResourceType, loan_tables
from ._types import (
    BUFFER,
    BYTES,
    CSTR,
    SCALARS,
    STR,
    TEXT_BYTES,
    CharType,
    ListType,
    ScalarType,
)
from ._wasmbin import FuncType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeGuard

    from ._guest import GuestABI
    from ._plan import FunctionPlan, ModulePlan
    from ._resource import HandleTable
    from ._types import WasmType
    from .backends import Instance, RawFunction
    from .backends._base import AllocationError

_code_cache: dict[str, Any] = {}    # generated source -> code: functions of one shape share it


def _arglist(params: tuple[Param, ...], names: list[str]) -> str:
    """The parameter list of the generated ``def``, defaults bound as ``_dN``."""
    parts: list[str] = []
    kinds = [p.kind for p in params]
    for i, (p, name) in enumerate(zip(params, names)):
        if p.kind == KEYWORD_ONLY and \
                (i == 0 or kinds[i - 1] != KEYWORD_ONLY):
            parts.append("*")
        parts.append(name if p.default is NO_DEFAULT else f"{name}=_d{i}")
        if p.kind == POSITIONAL_ONLY and \
                (i + 1 == len(params) or kinds[i + 1] != POSITIONAL_ONLY):
            parts.append("/")
    return ", ".join(parts)


def generated(name: str, params: tuple[Param, ...], body: str,
               namespace: dict[str, Any]) -> Callable[..., Any]:
    """A ``def`` with the manifest's parameter list, defaults bound from ``namespace``."""
    names = [p.name for p in params]
    for i, p in enumerate(params):
        if p.default is not NO_DEFAULT:
            namespace[f"_d{i}"] = p.default
    fname = name if name.isidentifier() and not keyword.iskeyword(name) else "_wasm_function"
    source = f"def {fname}({_arglist(params, names)}):\n    {body}\n"
    code = _code_cache.get(source)
    if code is None:
        code = _code_cache[source] = compile(source, "<wasmimport>", "exec")
    exec(code, namespace)
    fn: Callable[..., Any] = namespace[fname]
    fn.__name__ = fn.__qualname__ = name
    return fn


def make_function(module: str, plan: FunctionPlan, instance: Instance,
                  guest: GuestABI | None) -> Callable[..., Any]:
    """The Python function for one planned export: compiled when the instance allows."""
    signature = plan.signature
    label = f"{module}.{plan.name}()"
    post = plan.post
    raises = _exception(plan, label)
    oversize = _oversize(plan, label)
    if instance.native_store is not None and all(
            _compilable(t) for t in (*(p.type for p in signature.params), signature.result)):
        fn = _compiled(label, plan, instance, guest, raises, oversize)
    elif instance.native_store is not None and _lends(signature, oversize):
        fn = _compiled_lending(label, plan, instance, guest, raises, oversize)
    else:
        fn = _pure(label, plan, instance, guest,
                   instance.function(post, FuncType(plan.functype.results, ()), label)
                   if post else None, raises)
        if oversize is not None:
            fn = generated(plan.name, signature.params, _guarded(
                f"_fn({bound_args(signature.params)})", signature.params),
                {"_fn": fn, "_oversize": oversize, "_unplaced": is_unplaced})
    fn.__name__ = fn.__qualname__ = plan.name
    fn.__module__ = module
    fn.__doc__ = plan.doc
    fn.__annotations__ = {p.name: p.type.annotation for p in signature.params}
    fn.__annotations__["return"] = signature.return_annotation
    return fn


def _compilable(t: WasmType | None) -> bool:
    """Whether the compiled path has ``t`` and everything inside it (variants and
    resources it has not: a function using them takes the pure path)."""
    return all(inner.compiled for inner in walk(t))


_LENT = (BorrowType, HostBorrowType)
_HANDLES = (*_LENT, ResourceType)    # what crosses as a representation or handle


def _lends(signature: Signature, oversize: Callable[..., Any] | None) -> bool:
    """Whether a signature's only uncompiled types are resources lent (``borrow`` params,
    the guest's objects or the host's), moved in (``own`` params of the guest's objects) or
    handed over (an own result): the compiled path runs it, over the representations.  (A
    call that moves an object and lends the host's, or may go to ``oversize`` after the
    move, takes the pure path.)"""
    params = [p.type for p in signature.params]
    result = signature.result
    moves = any(isinstance(t, ResourceType) for t in params)
    return (any(isinstance(t, _HANDLES) for t in params) or isinstance(result, ResourceType)) \
        and all(isinstance(t, _HANDLES) or _compilable(t) for t in params) \
        and (isinstance(result, ResourceType) or _compilable(result)) \
        and not (moves and (oversize is not None or any(loan_tables(params))))


def _compiled_lending(label: str, plan: FunctionPlan, instance: Instance,
                      guest: GuestABI | None, raises: type[Exception] | None,
                      oversize: Callable[..., Any] | None) -> Callable[..., Any]:
    """A method's call on the compiled path: a generated function takes each lent object's
    representation (a host object gets a handle lent for the call), the compiled function
    of the signature with those as i32 does the rest, and a new object is adopted from the
    handle a resource result hands over.  A call that moves objects in (``own`` params)
    does what the pure path does: every argument is checked first (an object both moved
    and passed again is refused there), then the objects are moved and lent."""
    signature = plan.signature
    params = signature.params
    result = signature.result
    rep = SCALARS["i32"]
    core = tuple(Param(p.name, rep if isinstance(p.type, _HANDLES) else p.type,
                       kind=POSITIONAL_ONLY, type_error=p.type_error,
                       value_error=p.value_error) for p in params)
    core_result = rep if isinstance(result, ResourceType) else result
    from ._plan import FunctionPlan

    inner = _compiled(label, FunctionPlan(
        plan.name, plan.export, plan.functype,
        Signature(core, core_result, signature.text, signature.multi), plan.doc, plan.post,
        plan.release_gil, plan.raises), instance, guest, raises)
    namespace: dict[str, Any] = {"_inner": inner}
    if any(isinstance(p.type, ResourceType) for p in params):
        return _compiled_moving(label, plan.name, params, result, namespace)
    args = []
    for i, p in enumerate(params):
        if isinstance(p.type, _LENT):
            namespace[f"_r{i}"] = p.type.rep_converter(f"{label} argument {p.name!r}")
            args.append(f"_r{i}({p.name})")
        else:
            args.append(p.name)
    call = f"_inner({', '.join(args)})"
    loans = loan_tables(p.type for p in params)
    if loans:   # the host's objects are lent inside the call whose end ends the loans
        namespace["_lending"] = _ending_loans(
            generated(plan.name, core, f"return {call}", dict(namespace)), loans, label)
        call = f"_lending({', '.join(p.name for p in params)})"
    if isinstance(result, ResourceType):
        namespace["_adopt"] = result.adopt
        call = f"_adopt({call})"
    if oversize is None:
        return generated(plan.name, params, f"return {call}", namespace)
    namespace.update(_oversize=oversize, _unplaced=is_unplaced)
    return generated(plan.name, params, _guarded(call, params), namespace)


def _compiled_moving(label: str, name: str, params: tuple[Param, ...],
                     result: WasmType | None, namespace: dict[str, Any]) -> Callable[..., Any]:
    """``_compiled_lending``'s function for a call that moves objects in: the pure path's
    checks of every argument (and ``_moved_twice``'s), then the moves and loans, which
    cannot fail then, then the compiled call."""
    lines, handles = [], []
    for i, p in enumerate(params):
        namespace[f"_c{i}"] = p.converter(label)
        lines.append(f"_c{i}({p.name})")
        if isinstance(p.type, ResourceType):
            namespace[f"_h{i}"] = p.type.move
            handles.append(f"_h{i}({p.name})")
        elif isinstance(p.type, BorrowType):
            namespace[f"_h{i}"] = p.type.rep_of
            handles.append(f"_h{i}({p.name})")
        else:
            handles.append(p.name)
    lines += _moved_twice(params, label, namespace)
    call = f"_inner({', '.join(handles)})"
    if isinstance(result, ResourceType):
        namespace["_adopt"] = result.adopt
        call = f"_adopt({call})"
    return generated(name, params, "\n    ".join([*lines, f"return {call}"]), namespace)


def invoking(converted: str, params: tuple[Param, ...], label: str,
             namespace: dict[str, Any]) -> str:
    """The body of a generated function that calls ``_invoke`` with the converted
    arguments, refusing first an object moved in and passed again (``_moved_twice``)."""
    twice = _moved_twice(params, label, namespace)
    if not twice:
        return f"return _invoke({converted})"
    return "\n    ".join([f"_args = ({converted},)", *twice, "return _invoke(*_args)"])


def _moved_twice(params: tuple[Param, ...], label: str, namespace: dict[str, Any]
                 ) -> list[str]:
    """Lines of a generated function refusing an object that is moved in (an ``own``
    parameter) and passed again in the same call, before anything moves: the Canonical
    ABI traps there, and the guest would use what it freed.  (Lowering in parameter order
    would refuse it too, but after the first move, leaving a handle behind.)"""
    def resource(t: WasmType) -> ResourceType | None:
        return t if isinstance(t, ResourceType) else \
            t.resource if isinstance(t, BorrowType) else None
    pairs = [(p.name, q.name) for i, p in enumerate(params) for q in params[i + 1:]
             if ResourceType in (type(p.type), type(q.type))
             and resource(p.type) is resource(q.type)]
    if not pairs:
        return []

    def twice(value: Any) -> None:
        raise ValueError(f"{label}: the {type(value).__name__} was {MOVED}")
    namespace["_twice"] = twice
    return [f"if {a} is {b}: _twice({a})" for a, b in pairs]


def _pure(label: str, plan: FunctionPlan, instance: Instance, guest: GuestABI | None,
          post: RawFunction | None, raises: type[Exception] | None = None
          ) -> Callable[..., Any]:
    """The pure-Python call path: a generated function over the backend's raw caller (a
    ctypes one, or the js backend's JS glue called directly)."""
    fused = _fused(label, plan, instance, guest, post, raises)
    if fused is not None:
        return fused
    signature = plan.signature
    params = signature.params
    namespace: dict[str, Any] = {}
    result = signature.result
    # fast path: only scalars and borrowed resources, which convert straight to core values
    # (a borrow to its representation: with nothing moved by the call, it stays valid)
    fast = not signature.needs_memory() and all(
        isinstance(p.type, (ScalarType, BorrowType)) for p in params)
    for i, p in enumerate(params):
        namespace[f"_c{i}"] = p.type.rep_converter(f"{label} argument {p.name!r}") \
            if fast and isinstance(p.type, BorrowType) else p.converter(label)
    converted = ", ".join(p.type.convert_expression(p.name, f"_c{i}")
                          for i, p in enumerate(params))
    if fast:
        lift = "" if result is None or getattr(result, "lifts_as_is", False) else "_lift"
        # a one-value result that is no scalar (an enum, flags...) lifts as the general path
        # does; a resource is adopted
        namespace["_lift"] = result.lift_one if _infallible(result) else \
            result.adopt if isinstance(result, ResourceType) else \
            _lifter(label, signature, guest, raises)
        namespace["_raw"] = core_caller(label, plan.export, plan.functype, instance,
                                        plan.release_gil)
        if post is None:
            body = f"return {lift}(_raw({converted}))"
        else:   # post-return takes the core result (nothing for None)
            namespace["_post"] = post
            flat = "*out" if signature.multi else "out" if result else ""
            body = f"out = _raw({converted})\n    _post({flat})\n    return {lift}(out)"
    else:
        raw = instance.function(plan.export, plan.functype, label, plan.release_gil)
        namespace["_invoke"] = _invoker(label, signature, raw, guest, post, instance.lock,
                                        raises)
        body = invoking(converted, params, label, namespace)
    return generated(plan.name, params, body, namespace)


def core_caller(label: str, export: str, functype: FuncType, instance: Instance,
                release_gil: bool = False) -> RawFunction:
    """A call of ``export`` with core values in and out (a fast-path function's, a
    resource's drop): the compiled path's, over the export's core signature, when the
    instance has one (a function with resources or variants is no compiled function itself,
    but its core call is); else the backend's raw caller."""
    if instance.native_store is None:
        return instance.function(export, functype, label, release_gil)
    from ._plan import FunctionPlan, core_signature

    core = FunctionPlan(export, export, functype, core_signature(functype), None, None,
                        release_gil)
    return _compiled(label, core, instance, None)


def _type_spec(t: WasmType) -> str | tuple[Any, ...]:
    """How ``_speedups`` names a type: its name, ("list", element) for a numeric list, or
    the spec of a compound type's tree (see ``node_spec``)."""
    if isinstance(t, ListType):
        return ("list", t.elem.name)
    if t.name in SCALARS or t in (STR, BYTES, BUFFER, TEXT_BYTES):
        return t.name     # (a wrap[...] as its base type: C converts it in range)
    return node_spec(t)


def node_spec(t: WasmType) -> tuple[Any, ...]:
    """A type as ``_speedups_compound.h`` builds its Node: (kind, flat, size, align, ...)."""
    head = (core_codes(t.flat), t.size, t.align)
    if isinstance(t, CharType):
        return ("char", *head)
    if isinstance(t, ScalarType):
        return ("scalar", *head, t.name)
    if t in (STR, BYTES, CSTR, TEXT_BYTES):
        return (t.name, *head)
    if isinstance(t, ListType):
        return ("nlist", *head, t.elem.name)
    if isinstance(t, ListOfType):
        return ("list", *head, node_spec(t.elem))
    if isinstance(t, TupleType):
        return ("tuple", *head, tuple(node_spec(f) for f in t.types), t.offsets,
                t.cls if isinstance(t, RecordType) else None)
    if isinstance(t, VariantType):
        kind = "option" if isinstance(t, OptionType) else "result" \
            if isinstance(t, ResultType) else "variant"
        cases = (tuple(None if c is None else node_spec(c) for c in t.cases), t.payload_offset,
                 t.disc)
        if isinstance(t, CasesType):
            return (kind, *head, *cases, t.case_classes)
        return (kind, *head, *cases)
    if isinstance(t, EnumType):
        return ("enum", *head, t.members)
    assert isinstance(t, FlagsType), t
    return ("flags", *head, t.cls, t.mask)


def _compiled(label: str, plan: FunctionPlan, instance: Instance,
              guest: GuestABI | None, raises: type[Exception] | None = None,
              oversize: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """The compiled call path: a ``_speedups.Function`` (see ``_speedups.c``)."""
    signature = plan.signature
    params = signature.params
    result = signature.result
    spill = None
    if signature.spills():
        record = TupleType(tuple(p.type for p in params))
        spill = (record.align, record.size, record.offsets)
    binder = generated(plan.name, params,
                        f"return ({''.join(p.name + ', ' for p in params)})", {})
    fn: Callable[..., Any] = extension().Function(
        store=instance.native_store, owner=instance,
        func=instance.native_handle(plan.export, "func"), label=label,
        params=tuple((p.name, TEXT_BYTES.hint if p.type is TEXT_BYTES else _type_spec(p.type),
                      p.converter(label), p.kind == KEYWORD_ONLY)
                     for p in params),
        result=_type_spec(result) if result is not None else None,
        core_results=core_codes(plan.functype.results),
        guest=guest.native if guest is not None and signature.needs_memory() else None,
        post=instance.native_handle(plan.post, "func") if plan.post else None,
        spill=spill, release_gil=plan.release_gil, binder=binder,
        lift=_lifter(label, signature, guest, raises),
        alloc_failed=_allocation_error(label, guest) if guest is not None else None,
        alloc_label=f"{label}: {guest.alloc_label}" if guest is not None else "",
        free_label=guest.free_label if guest is not None else "",
        signature=signature, defaults=_trailing_defaults(params), oversize=oversize)
    return fn


def _trailing_defaults(params: tuple[Param, ...]) -> tuple[Any, ...]:
    """The defaults of the parameters after the last one without: what C fills in itself
    for a positional call that leaves them out (any other call is the binder's)."""
    defaults: list[Any] = []
    for p in reversed(params):
        if p.default is NO_DEFAULT:
            break
        defaults.insert(0, p.default)
    return tuple(defaults)


def constructor(resource: ResourceType, ctor: Callable[..., Any],
                signature: Signature) -> Callable[..., Any]:
    """``R.__init__`` for the guest constructor ``ctor`` (which returns a new ``R``): the
    object being initialised takes over what ``ctor`` made, with ``ctor``'s parameters."""
    params = (Param("self", resource), *signature.params)
    init = generated("__init__", params, f"_take_over(self, _ctor({bound_args(signature.params)}))",
                      {"_ctor": ctor, "_take_over": resource.take_over})
    init.__qualname__ = ctor.__qualname__
    init.__doc__ = ctor.__doc__
    init.__annotations__ = {**ctor.__annotations__, "return": None}
    return init


def attach_methods(plan: ModulePlan, bind: Callable[[FunctionPlan], Any]) -> set[str]:
    """Give each resource class its methods (``R.__init__`` is its constructor; a function
    whose first parameter is ``self`` is a method, any other a static method), each made by
    ``bind``; the names of the functions that became methods."""
    methods: set[str] = set()
    for f in plan.functions:
        found = plan.types.method_of(f.name)
        if found is None:
            continue
        r, method = found
        fn = bind(f)
        fn.__name__, fn.__qualname__ = method, f"{f.name.rpartition('.')[0]}.{method}"
        params = f.signature.params
        cls: Any = r.cls
        if method == "__init__":
            fn = constructor(r, fn, f.signature)
        elif not params or params[0].name != "self":
            fn = staticmethod(fn)
        elif method == "copy" and len(params) == 1 and f.signature.result is r:
            cls.__copy__ = fn              # hashlib's copy(): copy.copy() uses it too
            cls.__deepcopy__ = lambda self, memo, copy=fn: copy(self)
        setattr(cls, method, fn)
        methods.add(f.name)
    return methods


def compiled_guest(instance: Instance, memory: str, exports: dict[str, str | None]) -> Any:
    """The compiled path's twin of GuestABI: engine handles of the memory and allocator."""
    handles = {key: instance.native_handle(export, "func") if export else None
               for key, export in exports.items()}
    return extension().Guest(store=instance.native_store, owner=instance,
                           memory=instance.native_handle(memory, "memory"), **handles)


def python_signature(fn: Any) -> Any:
    """``inspect.Signature`` of a compiled function (its ``__signature__``, built on demand)."""
    import inspect

    kinds = {POSITIONAL_ONLY: inspect.Parameter.POSITIONAL_ONLY,
             KEYWORD_ONLY: inspect.Parameter.KEYWORD_ONLY}
    annotations = fn.__annotations__
    return inspect.Signature(
        [inspect.Parameter(p.name, kinds.get(p.kind, inspect.Parameter.POSITIONAL_OR_KEYWORD),
                           default=inspect.Parameter.empty if p.default is NO_DEFAULT
                           else p.default, annotation=annotations[p.name])
         for p in fn.__wasm_signature__.params],
        return_annotation=annotations["return"])


def _fused(label: str, plan: FunctionPlan, instance: Instance, guest: GuestABI | None,
           post: RawFunction | None, raises: type[Exception] | None
           ) -> Callable[..., Any] | None:
    """The call path where the backend's glue does the whole call (``Instance.fused``):
    str and scalar parameters, a str or one-value result (or None); str needs plain
    ``cabi_realloc``.  Python keeps the argument checks (an ASCII str goes as itself, any
    other as its checked UTF-8 bytes; converted before the try, so that only the call's own
    errors translate) and whatever the glue hands back to lift."""
    signature = plan.signature
    params = signature.params
    result = signature.result
    if signature.spills() or signature.multi or \
            not all(isinstance(p.type, ScalarType) or p.type is STR for p in params) or \
            not (result is None or result is STR or
                 len(result.flat) == 1 and not result.reads_memory):
        return None
    memory = realloc = alloc_error = None
    if result is STR or any(p.type is STR for p in params):
        if guest is None or guest.exports is None:
            return None
        memory, realloc = guest.exports
        alloc_error = _allocation_error(label, guest)
    kinds = ["str" if p.type is STR else p.type.flat[0] for p in params]
    shape = None if result is None else "str" if result is STR else result.flat[0]
    fused = instance.fused(plan.export, kinds, shape, memory, realloc, plan.post, label,
                           alloc_error)
    if fused is None:
        return None
    namespace: dict[str, Any] = {"_raw": fused.call, "_error": fused.error,
                                 "_translate": fused.translate}
    names = [p.name for p in params]
    lines = []
    for i, (name, p) in enumerate(zip(names, params)):
        namespace[f"_c{i}"] = p.converter(label)
        lines.append(f"{name} = ({name} if {name}.__class__ is str and {name}.isascii() "
                     f"else _c{i}({name}))" if p.type is STR
                     else f"{name} = {p.type.convert_expression(name, f'_c{i}')}")
    lines.append(f"try:\n        out = _raw({', '.join(names)})\n"
                 f"    except _error as exc:\n        raise _translate(exc)")
    if result is STR:       # what the glue could not lift: Python lifts it, then post-returns
        lift = _lifter(label, signature, guest, raises)

        def slow(out: Any) -> Any:
            core = int(out[0])
            try:
                return lift(core)
            finally:
                if post is not None:
                    post(core)
        namespace["_slow"] = slow
        lines.append("return out if out.__class__ is str else _slow(out)")
    elif result is None:
        lines.append("return None")
    else:
        call = "out"
        if fused.lift is not None:
            namespace["_core"] = fused.lift
            call = "_core(out)"
        if not getattr(result, "lifts_as_is", False):   # a one-value enum, flags... too
            namespace["_lift"] = result.lift_one if _infallible(result) else \
                _lifter(label, signature, guest, raises)
            call = f"_lift({call})"
        lines.append(f"return {call}")
    return generated(plan.name, params, "\n    ".join(lines), namespace)


def _infallible(result: WasmType | None) -> TypeGuard[ScalarType]:
    """Whether a one-value result lifts by its ``lift_one`` alone: a scalar that cannot be
    wrong (a char can, and its Trap must name the function: ``_lifter`` does)."""
    return isinstance(result, ScalarType) and not isinstance(result, CharType)


def _lifter(label: str, signature: Signature, guest: GuestABI | None,
            raises: type[Exception] | None = None) -> Callable[[Any], Any]:
    """Lift a function's core result from guest memory; errors start with ``label``.  A
    result's error case raises ``GuestError``, or ``raises(value)`` when the manifest names
    the exception (as the C extension raised its own)."""
    result = signature.result
    indirect = result is not None and len(result.flat) > 1

    def lift(out: Any) -> Any:
        try:
            if result is None:
                return None
            if indirect:
                assert guest is not None, "planning checks that memory exists"
                return result.load(guest, _retptr(out, result.align))
            return result.lift(guest, iter((out,)))  # type: ignore[arg-type]
        except GuestError as exc:
            if raises is not None:
                raise raises(exc.value) from None
            raise _labelled(exc, label) from None
        except Trap as exc:
            raise _labelled(exc, label) from None
    return lift


def _exception(plan: FunctionPlan, label: str) -> type[Exception] | None:
    """The exception class the manifest's ``raises`` names, imported now."""
    if plan.raises is None:
        return None
    from ._host import resolve

    found = resolve(plan.raises, "raises", label)
    if not (isinstance(found, type) and issubclass(found, Exception)):
        raise TypeError(f"{label}: raises = {plan.raises!r} is not an exception class")
    return found


def _oversize(plan: FunctionPlan, label: str) -> Callable[..., Any] | None:
    """The manifest's ``oversize`` function, imported at its first call: it is usually in
    the package that is importing this module, not yet run to the end."""
    spec = plan.oversize
    if spec is None:
        return None
    from ._host import resolve

    found: list[Callable[..., Any]] = []

    def oversize(*args: Any, **kwargs: Any) -> Any:
        if not found:
            found.append(resolve(spec, "oversize", label))
        return found[0](*args, **kwargs)
    return oversize


def bound_args(params: tuple[Param, ...]) -> str:
    """The arguments of a generated function, passed on: keyword-only ones by keyword."""
    return ", ".join(p.name if p.kind != KEYWORD_ONLY else f"{p.name}={p.name}"
                     for p in params)


def _guarded(call: str, params: tuple[Param, ...]) -> str:
    """A generated function's body that returns ``call``, or, when an argument did not fit
    in guest memory, what the manifest's ``_oversize`` returns for the same arguments (the
    compiled path does this in C).  A ``try`` costs nothing until something raises."""
    return (f"try:\n        return {call}\n"
            "    except (MemoryError, OverflowError) as exc:\n"
            "        if not _unplaced(exc):\n            raise\n"
            f"    return _oversize({bound_args(params)})")


def _allocation_error(label: str, guest: GuestABI) -> AllocationError:
    """The error the pure path would raise for an allocation the compiled path refused, or
    whose allocator call raised ``trap``: returned, so that the C caller raises it (a trap
    that stays itself keeps its traceback)."""
    def alloc_failed(align: int, size: int, ptr: int,
                     trap: BaseException | None = None) -> BaseException:
        if trap is not None:
            exc = guest.allocator_trapped(size, trap)
            return _labelled(exc, label) if isinstance(exc, MemoryError) else exc
        try:
            guest.check_size(size)
            guest.check_allocation(align, size, ptr)
        except (Trap, MemoryError, OverflowError) as exc:
            return _labelled(exc, label)
        return SystemError(f"{label}: allocation of {size} bytes at {ptr:#x} refused")
    return alloc_failed


def _invoker(label: str, signature: Signature, raw: RawFunction, guest: GuestABI | None,
             post: RawFunction | None, lock: Any, raises: type[Exception] | None
             ) -> Callable[..., Any]:
    """The general call path: lower (into guest memory, if any), call, lift, post-return,
    free.  ``guest`` is None when no value touches memory (records of scalars, enums...)."""
    types = tuple(p.type for p in signature.params)
    spill = TupleType(types) if signature.spills() else None
    result = signature.result
    lift = _lifter(label, signature, guest, raises)
    fills = signature.fills()
    memory: Any = guest       # lowering that touches no memory takes None
    release = guest.release if guest is not None else _nothing

    def invoke(*values: Any) -> Any:
        with lock:
            try:
                try:
                    if spill is not None:
                        flat: list[Any] = [spill.lower_to_memory(values, memory)]
                    else:
                        flat = [core for t, v in zip(types, values)
                                for core in t.lower(v, memory)]
                except (Trap, MemoryError, OverflowError, ValueError) as exc:
                    raise _labelled(exc, label) from None   # ValueError: a spent resource
                out = raw(*flat)
                for i in fills:     # what the guest wrote into buffer arguments
                    values[i].copy_back(memory)
            finally:
                release()
            try:
                return lift(out)
            finally:
                if post is not None:
                    post() if result is None else post(out)
    loans = loan_tables(types)
    return _ending_loans(invoke, loans, label) if loans else invoke


def _ending_loans(invoke: Callable[..., Any], loans: tuple[HandleTable, ...], label: str
                  ) -> Callable[..., Any]:
    """A call that lends the host's objects (an export's ``borrow`` of a host resource):
    the loans end with it, and a guest that kept a borrowed handle traps, as the
    Canonical ABI says."""
    def lending(*values: Any) -> Any:
        marks = [table.loans() for table in loans]
        try:
            out = invoke(*values)
        finally:
            kept = sum(table.end_loans(mark) for table, mark in zip(loans, marks))
        if kept:
            raise Trap(f"{label}: the guest returned without dropping {kept} borrowed "
                       "handle(s); a borrow ends with the call", kind="invalid_handle")
        return out
    return lending


def _nothing() -> None:
    """What releasing argument buffers does when there is no guest memory."""


def _labelled(exc: Exception, label: str) -> Exception:
    """The same error, its message starting with the function that was called."""
    if isinstance(exc, GuestError):
        return GuestError(exc.value, label)
    if isinstance(exc, Trap):
        return Trap(f"{label}: {exc.message}", exc.kind, exc.frames)
    labelled = type(exc)(f"{label}: {exc}")
    return unplaced(labelled) if is_unplaced(exc) else labelled


def _retptr(out: int, align: int) -> int:
    ptr = out & 0xFFFFFFFF
    if ptr % align:
        raise Trap(f"guest returned a return area at unaligned address {ptr:#x}",
                   kind="unaligned_pointer")
    return ptr
