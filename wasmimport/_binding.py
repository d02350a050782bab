"""Turns one planned export into a real Python function.

The function is generated from source (as dataclasses and attrs generate ``__init__``), so
CPython itself binds positional, keyword and default arguments and raises its usual
"missing 1 required positional argument" errors; ``inspect.signature``, ``help()`` and
pickling see an ordinary function.  All decisions (which converter, whether memory is
involved, spilling, post-return) are taken here, once, at import; the call itself runs only
converters, the raw call and, when needed, lowering and lifting.
"""

from __future__ import annotations

import keyword

from ._errors import Trap
from ._manifest import KEYWORD_ONLY, NO_DEFAULT, POSITIONAL_ONLY, Param, Signature
from ._types import Record, ScalarType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._backend import RawFunction
    from ._guest import GuestABI

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


def make_function(*, module: str, name: str, signature: Signature, raw: RawFunction,
                  guest: GuestABI | None, post: RawFunction | None, lock: Any,
                  doc: str) -> Callable[..., Any]:
    """Build the Python function for one export (see module docstring)."""
    label = f"{module}.{name}()"
    params = signature.params
    names = [p.name for p in params]
    namespace: dict[str, Any] = {"_raw": raw}
    for i, p in enumerate(params):
        namespace[f"_c{i}"] = p.type.converter(f"{label} argument {p.name!r}")
        if p.default is not NO_DEFAULT:
            namespace[f"_d{i}"] = p.default
    converted = ", ".join(f"_c{i}({n})" for i, n in enumerate(names))
    result = signature.result
    if not signature.needs_memory():
        # fast path: only scalars, which convert straight to core values
        assert result is None or isinstance(result, ScalarType)
        lift = "" if result is None or result.lifts_as_is else "_lift"
        namespace["_lift"] = result.lift_one if result is not None else None
        if post is None:
            body = f"return {lift}(_raw({converted}))"
        else:   # post-return takes the core result (nothing for None)
            namespace["_post"] = post
            flat = "*out" if signature.multi else "out" if result else ""
            body = f"out = _raw({converted})\n    _post({flat})\n    return {lift}(out)"
    else:
        assert guest is not None, "planning checks that memory exists"
        namespace["_invoke"] = _invoker(label, signature, raw, guest, post, lock)
        body = f"return _invoke({converted})"
    fname = name if name.isidentifier() and not keyword.iskeyword(name) else "_wasm_function"
    source = f"def {fname}({_arglist(params, names)}):\n    {body}\n"
    code = _code_cache.get(source)
    if code is None:
        code = _code_cache[source] = compile(source, "<wasmimport>", "exec")
    exec(code, namespace)
    fn: Callable[..., Any] = namespace[fname]
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = module
    fn.__doc__ = doc
    fn.__annotations__ = {p.name: p.type.annotation for p in params}
    fn.__annotations__["return"] = signature.return_annotation
    return fn


def _invoker(label: str, signature: Signature, raw: RawFunction, guest: GuestABI,
             post: RawFunction | None, lock: Any) -> Callable[..., Any]:
    """The general call path: lower into guest memory, call, lift, post-return, free."""
    types = tuple(p.type for p in signature.params)
    spill = Record(types) if signature.spills() else None
    result = signature.result
    indirect = result is not None and len(result.flat) > 1

    def invoke(*values: Any) -> Any:
        with lock:
            try:
                try:
                    if spill is not None:
                        flat: list[Any] = [spill.lower(values, guest)]
                    else:
                        flat = [core for t, v in zip(types, values)
                                for core in t.lower(v, guest)]
                except (Trap, MemoryError, OverflowError) as exc:
                    raise _labelled(exc, label) from None
                out = raw(*flat)
            finally:
                guest.release()
            try:
                if result is None:
                    return None
                if indirect:
                    return result.load(guest, _retptr(out, result.align))
                return result.lift(guest, iter((out,)))
            except Trap as exc:
                raise _labelled(exc, label) from None
            finally:
                if post is not None:
                    post() if result is None else post(out)
    return invoke


def _labelled(exc: Exception, label: str) -> Exception:
    """The same error, its message starting with the function that was called."""
    if isinstance(exc, Trap):
        return Trap(f"{label}: {exc.message}", exc.kind, exc.frames)
    return type(exc)(f"{label}: {exc}")


def _retptr(out: int, align: int) -> int:
    ptr = out & 0xFFFFFFFF
    if ptr % align:
        raise Trap(f"guest returned a return area at unaligned address {ptr:#x}",
                   kind="unaligned_pointer")
    return ptr
