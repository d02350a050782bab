"""Host functions: Python callables a module imports, declared in ``[imports]``.

Each becomes a *raw host function* (core values in, core values out) that the backend hands
to the engine: it lifts the guest's arguments with the same type system as exports (a
``str`` is read from guest memory and decoded), calls the Python callable, and lowers its
result back (a ``str`` result is written into the guest through its allocator, at the
return pointer the guest passed).  Nothing is resolved by name except what the manifest
names: the callable is imported when the module is instantiated.
"""

from __future__ import annotations

from ._compound import ResultType, TupleType
from ._errors import GuestError, Trap, WasmImportError
from ._resource import HostResourceType
from ._types import ScalarType, WasmType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._guest import GuestABI
    from ._plan import ImportPlan

def resolve(spec: str, where: str, origin: str) -> Callable[..., Any]:
    """The callable named ``package.module:attribute``; ImportError if it is not there."""
    import importlib

    module_name, _, attribute = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise WasmImportError(f"{origin}: {where}: cannot import {spec!r}: {exc}",
                              path=origin) from exc
    if not callable(target):
        raise WasmImportError(f"{origin}: {where}: {spec!r} is a {type(target).__name__}, "
                              "not a callable", path=origin)
    return target  # type: ignore[no-any-return]


def raw_host_function(plan: ImportPlan, origin: str,
                      guest: Callable[[], GuestABI | None]) -> Callable[..., Any]:
    """The core-valued function the engine calls for one import (see module docstring).

    ``guest`` returns the instance's ABI context, which exists only once the instance does.
    """
    where = f"[imports.{plan.module}.{plan.name}]"
    fn = resolve(plan.python, where, origin)
    label = f"{plan.module}.{plan.name} ({plan.python})"
    params = tuple(p.type for p in plan.signature.params)
    spill = TupleType(params) if plan.spilled else None     # >16 flat: a tuple in memory
    result = plan.signature.result
    host = converted_call(fn, result, label)
    indirect = result is not None and len(result.flat) > 1
    if all(isinstance(t, ScalarType) and t.lifts_as_is for t in params) and not indirect \
            and not isinstance(result, ResultType) and spill is None and \
            not isinstance(result, HostResourceType):   # (its converter gives the object)
        # core values are the Python values: no memory, no lifting
        host.__qualname__ = host.__name__ = f"host {plan.module}.{plan.name}"
        return host

    def call(*core: Any) -> Any:
        abi = guest()
        values = iter(core)
        if spill is not None:
            assert abi is not None, "planning checks the guest's memory"
            args = list(spill.load(abi, _aligned(next(values), spill.align)))
        else:
            args = [t.lift(abi, values) for t in params]   # type: ignore[arg-type]
        converted = host(*args)
        if result is None:
            return None
        if not indirect:
            return result.lower(converted, abi)[0]   # type: ignore[arg-type]
        assert abi is not None, "planning checks the guest's memory"
        result.store(abi, next(values) & 0xFFFFFFFF, converted)
        return None
    call.__qualname__ = call.__name__ = f"host {plan.module}.{plan.name}"
    return call


def converted_call(fn: Callable[..., Any], result: WasmType | None,
                   label: str) -> Callable[..., Any]:
    """``fn`` with its value converted for ``result`` (None when there is none); a
    GuestError it raises is the error case of a ``result`` result, (1, error)."""
    convert = result.converter(f"{label} result") if result is not None else None
    convert_error = result.error_converter(f"{label} result") \
        if isinstance(result, ResultType) else None

    def call(*args: Any) -> Any:
        try:
            value = fn(*args)
        except GuestError as error:
            if convert_error is None:
                raise
            return convert_error(error)
        return None if convert is None else convert(value)
    return call


def _aligned(ptr: int, align: int) -> int:
    """The address of the arguments a guest stored in its memory, checked."""
    ptr &= 0xFFFFFFFF
    if ptr % align:
        raise Trap(f"the guest passed its arguments at unaligned address {ptr:#x}",
                   kind="unaligned_pointer")
    return ptr
