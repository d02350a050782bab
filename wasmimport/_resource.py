"""Resources: guest objects owned by Python objects, with the Component Model's handle rules.

A resource is an object that lives in the guest and is known to the host by its
*representation* (an i32: for a C guest, its pointer).  Each ``[types.Name] resource`` is a
Python class whose instances hold one representation and own it: the guest's ``drop`` export
runs exactly once, at ``close()``, at the end of a ``with`` block, or when the object is
garbage-collected (at interpreter exit too, since the object keeps the instance alive).

How handles cross, as the Canonical ABI says for a resource the callee defines:

- ``Name`` (``own``) as a parameter moves the object into the guest: the Python object is
  spent (a later use raises ValueError) and the guest now drops it.  As a result, the guest
  hands over a new object, which Python then owns.
- ``borrow[Name]`` (parameters only) lends the object for one call: the guest gets the
  representation and the Python object stays alive and owned.

In a core module the handle *is* the representation.  A component keeps a table of handles
per resource type, served to its core module as ``[resource-new]``, ``[resource-rep]`` and
``[resource-drop]`` imports (``builtins``): there an ``own`` crosses as an index into that
table, which Python's objects leave and re-enter.
"""

from __future__ import annotations

import _thread

from ._errors import Trap
from ._types import WasmType, _type_name, signed32
from ._wasmbin import ALLOC_TYPE, FREE_TYPE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

    from ._types import Converter, Guest
    from ._wasmbin import FuncType

DROPPED = "dropped"
MOVED = "moved into a call that took ownership of it"


class HandleTable:
    """A component's handles of one resource type: index -> representation (for a
    resource the host implements, the Python object).

    Index 0 is never a handle, so a zeroed i32 is never mistaken for one.  A handle
    *lent* for one call (the host's object as an export's ``borrow``) is a borrow: the
    guest may use and drop it, not take it as its own, and the loan ends with the call.
    """

    __slots__ = ("_reps", "_free", "_lent", "_borrowed")

    def __init__(self) -> None:
        self._reps: list[Any] = [None]
        self._free: list[int] = []
        self._lent: list[int] = []          # handles lent, in call order (nested calls stack)
        self._borrowed: set[int] = set()    # of those, the ones the guest has not dropped

    def new(self, rep: Any) -> int:
        """A new handle for ``rep`` (an int, or a host object)."""
        if self._free:
            handle = self._free.pop()
            self._reps[handle] = rep
            return handle
        self._reps.append(rep)
        return len(self._reps) - 1

    def rep(self, handle: int) -> Any:
        """The representation behind ``handle``; Trap if it is not a live handle."""
        handle &= 0xFFFFFFFF
        rep = self._reps[handle] if handle < len(self._reps) else None
        if rep is None:
            raise Trap(f"the guest used resource handle {handle}, which is not a live "
                       "handle", kind="invalid_handle")
        return rep

    def take(self, handle: int) -> Any:
        """Remove ``handle`` from the table; its representation.  Trap if it is a borrow,
        which the guest cannot give away as its own."""
        if self._borrowed and handle & 0xFFFFFFFF in self._borrowed:
            raise Trap(f"the guest gave away resource handle {handle & 0xFFFFFFFF}, which it "
                       "only borrows", kind="invalid_handle")
        return self._remove(handle)

    def drop(self, handle: int) -> None:
        """The guest's ``[resource-drop]``: its own handle, or a borrow, which ends the loan."""
        if self._borrowed:
            self._borrowed.discard(handle & 0xFFFFFFFF)
        self._remove(handle)

    def _remove(self, handle: int) -> Any:
        rep = self.rep(handle)
        handle &= 0xFFFFFFFF
        self._reps[handle] = None
        self._free.append(handle)
        return rep

    def lend(self, rep: Any) -> int:
        """A handle for ``rep`` for the length of one call (see ``end_loans``)."""
        handle = self.new(rep)
        self._lent.append(handle)
        self._borrowed.add(handle)
        return handle

    def loans(self) -> int:
        """A mark to give ``end_loans`` when the call that lends after it returns."""
        return len(self._lent)

    def end_loans(self, mark: int) -> int:
        """End the loans made since ``mark``: the handles the guest did not drop leave the
        table; how many there were (for the Canonical ABI, a trap)."""
        kept = [h for h in self._lent[mark:] if h in self._borrowed]
        del self._lent[mark:]
        for handle in kept:
            self._borrowed.discard(handle)
            self._remove(handle)
        return len(kept)

    def __len__(self) -> int:
        """How many handles are live (for tests of leaks)."""
        return len(self._reps) - 1 - len(self._free)


class ResourceType(WasmType):
    """``[types.Name] resource = {drop = "export"}``: an owned handle (``own<Name>``).

    The class is made when the manifest is read; ``bind`` connects it to its instance, once
    the instance exists.
    """

    flat = ("i32",)
    size = align = 4
    compiled = False        # the compiled call path has no node for handles (yet)

    def __init__(self, name: str, drop: str | None = None,
                 builtins: tuple[str, str] | None = None):
        self.name = name
        self.drop_export = drop
        self.builtins = builtins       # (core module, WIT name) of a component's table
        self.table = HandleTable() if builtins is not None else None
        self._drop: Callable[[int], Any] | None = None
        self._lock: Any = _thread.RLock()
        self.cls = _resource_class(name, self)
        self.annotation = self.cls
        self.hint = name
        self.borrow = BorrowType(self)

    def bind(self, drop: Callable[[int], Any] | None, lock: Any) -> None:
        """Connect the class to its instance: the raw ``drop`` export and the instance lock."""
        self._drop, self._lock = drop, lock

    def release(self, obj: Any) -> None:
        """Drop ``obj``'s guest object if ``obj`` still owns one (a second close is a no-op,
        as for files)."""
        with self._lock:
            rep = getattr(obj, "_wasm_rep", None)
            if rep.__class__ is not int:
                return
            obj._wasm_rep = DROPPED
            if self._drop is not None:
                self._drop(rep)

    def builtin_functions(self) -> list[tuple[str, str, FuncType, Callable[..., Any]]]:
        """The host functions a component's core module imports for this type's table."""
        assert self.builtins is not None and self.table is not None
        module, wit = self.builtins
        table = self.table

        def new(rep: int) -> int:
            return table.new(signed32(rep & 0xFFFFFFFF))

        def drop(handle: int) -> None:
            rep = table.take(handle)
            if self._drop is not None:
                self._drop(rep)
        return [(module, f"[resource-new]{wit}", ALLOC_TYPE, new),
                (module, f"[resource-rep]{wit}", ALLOC_TYPE, table.rep),
                (module, f"[resource-drop]{wit}", FREE_TYPE, drop)]

    def converter(self, label: str) -> Converter:
        return _live_checker(self.cls, label)

    def lower(self, value: Any, guest: Guest) -> tuple[Any, ...]:
        return (self.move(value),)

    def move(self, value: Any) -> int:
        """The core value handing ``value``'s object to the guest, which ``value`` no longer
        owns (ValueError if an earlier argument of the call moved it)."""
        rep = live_rep(value, self.cls)
        value._wasm_rep = MOVED
        return self.table.new(rep) if self.table is not None else rep

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return self.adopt(next(values))

    def adopt(self, core: int) -> Any:
        """A new Python object owning the guest object the core value hands over."""
        rep = self.table.take(core) if self.table is not None else signed32(
            core & 0xFFFFFFFF)
        obj: Any = object.__new__(self.cls)
        obj._wasm_rep = rep
        return obj

    def take_over(self, obj: Any, made: Any) -> None:
        """Make ``obj`` the owner of what ``made`` (a constructor's new object) owns; what
        ``obj`` owned before (``__init__`` called again) is dropped."""
        if getattr(obj, "_wasm_rep", None).__class__ is int:
            self.release(obj)
        obj._wasm_rep, made._wasm_rep = made._wasm_rep, MOVED

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        buf[offset:offset + 4] = (self.lower(value, guest)[0] & 0xFFFFFFFF).to_bytes(4, "little")

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return self.adopt(int.from_bytes(data[offset:offset + 4], "little"))


class BorrowType(WasmType):
    """``borrow[Name]``: the object lent for one call; the guest gets its representation."""

    flat = ("i32",)
    size = align = 4
    compiled = False

    def __init__(self, resource: ResourceType):
        self.resource = resource
        self.name = f"borrow[{resource.name}]"
        self.annotation = resource.cls
        self.hint = resource.name

    def converter(self, label: str) -> Converter:
        return _live_checker(self.resource.cls, label)

    def rep_converter(self, label: str) -> Converter:
        """A converter straight to the representation, for calls that move no object (so
        none can be moved and lent at once)."""
        check = _live_checker(self.resource.cls, label)

        def convert(value: Any) -> int:
            rep: int = check(value)._wasm_rep
            return rep
        return convert

    def lower(self, value: Any, guest: Guest) -> tuple[Any, ...]:
        return (self.rep_of(value),)

    def rep_of(self, value: Any) -> int:
        """The lent object's representation (ValueError if an earlier argument moved it)."""
        return live_rep(value, self.resource.cls)

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        raise AssertionError("the manifest parser allows borrow only as a parameter")

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        buf[offset:offset + 4] = (self.lower(value, guest)[0] & 0xFFFFFFFF).to_bytes(4, "little")

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        raise AssertionError("the manifest parser allows borrow only as a parameter")


class HostResourceType(WasmType):
    """``[types.Name] resource = {imported = {module = ..., name = ...}}``: a resource the
    host implements, as a component imports one (WIT ``import``): its objects are Python
    objects, and the component knows them as handles into its table.

    An object crossing into the guest (a host function's result, an export's ``own``
    parameter) gets a new handle; the guest's ``[resource-drop]`` gives it back (the
    table lets go of the object; Python frees it when nothing else holds it).  A handle
    coming out as ``own`` leaves the table; as ``borrow`` (a host method's ``self``) it
    stays.
    """

    flat = ("i32",)
    size = align = 4
    compiled = False
    annotation = object

    def __init__(self, name: str, builtins: tuple[str, str]):
        self.name = self.hint = name
        self.builtins = builtins
        self.table = HandleTable()
        self.borrow = HostBorrowType(self)

    def builtin_functions(self) -> list[tuple[str, str, FuncType, Callable[..., Any]]]:
        """The ``[resource-drop]`` the guest imports for this type's handles."""
        module, wit = self.builtins
        table = self.table

        return [(module, f"[resource-drop]{wit}", FREE_TYPE, table.drop)]

    def converter(self, label: str) -> Converter:
        def convert(value: Any) -> Any:
            if value is None:
                raise TypeError(f"{label} must be a {self.name} object, not None")
            return value
        return convert

    def lower(self, value: Any, guest: Guest) -> tuple[Any, ...]:
        return (self.table.new(value),)

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return self.table.take(next(values))

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        buf[offset:offset + 4] = self.table.new(value).to_bytes(4, "little")

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return self.table.take(int.from_bytes(data[offset:offset + 4], "little"))


class HostBorrowType(WasmType):
    """``borrow[Name]`` of a host resource.  As a host function's parameter (a method's
    ``self``), the object behind the guest's handle, which stays in the table; as an
    export's, the object lent for the call (``HandleTable.lend``), whose handle the guest
    must drop before it returns."""

    flat = ("i32",)
    size = align = 4
    compiled = False
    annotation = object

    def __init__(self, resource: HostResourceType):
        self.resource = resource
        self.name = f"borrow[{resource.name}]"
        self.hint = resource.name

    def converter(self, label: str) -> Converter:
        return self.resource.converter(label)

    def rep_converter(self, label: str) -> Converter:
        """A converter straight to the handle lent, for the compiled path (the call it is
        made in ends the loan: see ``loan_tables``)."""
        check, lend = self.resource.converter(label), self.resource.table.lend

        def convert(value: Any) -> int:
            return lend(check(value))
        return convert

    def lower(self, value: Any, guest: Guest) -> tuple[Any, ...]:
        return (self.resource.table.lend(value),)

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return self.resource.table.rep(next(values))

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        buf[offset:offset + 4] = self.resource.table.lend(value).to_bytes(4, "little")

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return self.resource.table.rep(int.from_bytes(data[offset:offset + 4], "little"))


def loan_tables(types: Iterable[WasmType]) -> tuple[HandleTable, ...]:
    """The tables an export's ``borrow`` parameters of host resources lend from: their
    loans end with each call."""
    tables = {id(t.resource.table): t.resource.table for t in types
              if isinstance(t, HostBorrowType)}
    return tuple(tables.values())


def _live_checker(cls: type, label: str) -> Converter:
    """Check that an argument is a live ``cls``; the value converts as itself, and lowering
    (in parameter order, after every argument is checked) takes its representation."""
    def convert(value: Any) -> Any:
        if not isinstance(value, cls):
            raise TypeError(f"{label} must be {cls.__name__}, not {_type_name(value)}")
        state = getattr(value, "_wasm_rep", DROPPED)   # (None if __init__ failed)
        if state.__class__ is not int:
            raise ValueError(f"{label}: the {cls.__name__} was {state}")
        return value
    return convert


def live_rep(value: Any, cls: type) -> int:
    """The representation ``value`` owns; ValueError if an earlier argument of the same call
    already moved it."""
    rep: int = value._wasm_rep
    if rep.__class__ is not int:
        raise ValueError(f"the {cls.__name__} was {rep}")
    return rep


def _resource_class(name: str, resource: ResourceType) -> type:
    """The Python class of a resource: its methods are added when the module is bound."""
    release = resource.release

    def close(self: Any) -> None:
        """Drop the guest object now (otherwise it is dropped when garbage-collected)."""
        release(self)

    def __enter__(self: Any) -> Any:
        state = getattr(self, "_wasm_rep", DROPPED)
        if state.__class__ is not int:
            raise ValueError(f"the {type(self).__name__} was {state}")
        return self

    def __exit__(self: Any, *exc_info: object) -> None:
        release(self)

    def __del__(self: Any) -> None:
        try:
            release(self)
        except ReferenceError:  # its instance was finalized first: the object went with it
            pass

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"cannot create '{type(self).__qualname__}' instances: the guest "
                        "declares no constructor")

    def __repr__(self: Any) -> str:
        state = getattr(self, "_wasm_rep", DROPPED)
        where = f"{type(self).__module__}.{type(self).__qualname__} object at {id(self):#x}"
        return f"<{where}>" if state.__class__ is int else f"<{where} ({state})>"

    def __reduce_ex__(self: Any, protocol: object) -> Any:
        # the default (copyreg) would copy the representation: two owners, two drops
        raise TypeError(f"cannot pickle or copy '{type(self).__qualname__}' object: it owns a "
                        "guest object")

    namespace = {"__slots__": ("_wasm_rep", "__weakref__"), "close": close,
                 "__enter__": __enter__, "__exit__": __exit__, "__del__": __del__,
                 "__init__": __init__, "__repr__": __repr__, "__reduce_ex__": __reduce_ex__,
                 "__doc__": f"A guest object of resource type {name}."}
    return type(name, (), namespace)
