"""Compound manifest types: tuples, records, lists of anything, options, results, enums, flags.

Each is built from the types it holds, so layout and flattening are computed once, when the
manifest is read.  Both follow the Component Model's CanonicalABI.md: fields one after another
at their own alignment; a variant (option, result) is a discriminant of the smallest unsigned
size that counts its cases, then its payload at the cases' largest alignment; flattened, a
variant is the discriminant and then, slot by slot, the *join* of its cases' core types.

Converted forms (what a converter returns, what ``lower`` takes): a tuple of converted fields
for tuples and records, a list for lists, ``None`` or a 1-tuple for options, the case index
for enums, the bits for flags.
"""

from __future__ import annotations

import struct
from _collections_abc import Mapping  # collections.abc's own; that imports collections (2 ms)
from abc import abstractmethod

from ._errors import GuestError, Trap
from ._types import WasmType, _type_name, signed32

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from ._types import Converter, Guest


def walk(t: WasmType | None) -> Iterator[WasmType]:
    """``t`` and every type inside it, outermost first."""
    if t is None:
        return
    yield t
    inner = getattr(t, "types", None) or getattr(t, "cases", None) or (
        (t.elem,) if isinstance(t, ListOfType) else ())
    for item in inner:
        yield from walk(item)


def align_to(offset: int, align: int) -> int:
    return -(-offset // align) * align


def _items_or_fail(value: Any, label: str, wanted: str) -> list[Any]:
    """The items of a list-like argument; TypeError (as for a sequence argument) if none."""
    if isinstance(value, (str, bytes, bytearray, Mapping)):
        raise TypeError(f"{label} must be {wanted}, not {_type_name(value)}")
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{label} must be {wanted}, not {_type_name(value)}") from None


class TupleType(WasmType):
    """``tuple[A, B, ...]``: values one after another (also the layout of spilled params)."""

    def __init__(self, types: tuple[WasmType, ...]):
        self.types = types
        offsets = []
        offset = 0
        for t in types:
            offset = align_to(offset, t.align)
            offsets.append(offset)
            offset += t.size
        self.align = max((t.align for t in types), default=1)
        self.size = align_to(offset, self.align)
        self.offsets = tuple(offsets)
        self.flat = tuple(core for t in types for core in t.flat)
        self.allocates = any(t.allocates for t in types)
        self.reads_memory = any(t.reads_memory for t in types)
        self.name = f"tuple[{', '.join(t.name for t in types)}]"
        self.hint = f"tuple[{', '.join(t.hint for t in types)}]"
        self.annotation = tuple[tuple(t.annotation for t in types)]  # type: ignore[misc]

    def _field_converters(self, label: str, names: tuple[str, ...]) -> tuple[Converter, ...]:
        return tuple(t.converter(f"{label} {name}") for t, name in zip(self.types, names))

    def converter(self, label: str) -> Converter:
        n = len(self.types)
        converters = self._field_converters(label, tuple(f"item {i}" for i in range(n)))
        wanted = f"a tuple of {n}"

        def convert(value: Any) -> tuple[Any, ...]:
            items = value if value.__class__ is tuple else _items_or_fail(value, label, wanted)
            if len(items) != n:
                raise TypeError(f"{label} must be a tuple of {n}, not of {len(items)}")
            return tuple(c(v) for c, v in zip(converters, items))
        return convert

    def lower(self, value: tuple[Any, ...], guest: Guest) -> tuple[Any, ...]:
        return tuple(core for t, v in zip(self.types, value) for core in t.lower(v, guest))

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return tuple(t.lift(guest, values) for t in self.types)

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        for t, field, v in zip(self.types, self.offsets, value):
            t.pack(guest, buf, offset + field, v)

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return tuple(t.unpack(guest, data, offset + field)
                     for t, field in zip(self.types, self.offsets))

    def lower_to_memory(self, value: tuple[Any, ...], guest: Guest) -> int:
        """Allocate room in the guest, store ``value`` there and return its address."""
        ptr = guest.alloc(self.align, self.size)
        self.store(guest, ptr, value)
        return ptr


class RecordType(TupleType):
    """A ``[types.Name]`` record: a named tuple class on the module (``mod.Point``).

    Arguments may be the class, a tuple in field order, or a mapping with exactly the field
    names; results are instances of the class.
    """

    def __init__(self, name: str, fields: tuple[tuple[str, WasmType], ...]):
        import collections

        super().__init__(tuple(t for _, t in fields))
        self.name = self.hint = name
        self.fields = tuple(f for f, _ in fields)
        cls = collections.namedtuple(name, self.fields)   # type: ignore[misc]
        cls.__annotations__ = {f: t.annotation for f, t in fields}
        cls.__doc__ = f"{name}({', '.join(f'{f}: {t.name}' for f, t in fields)}): a record."
        self.annotation = self.cls = cls

    def converter(self, label: str) -> Converter:
        cls, fields, n = self.cls, self.fields, len(self.fields)
        converters = self._field_converters(label, tuple(f"field {f!r}" for f in fields))
        known = set(fields)

        def convert(value: Any) -> tuple[Any, ...]:
            if isinstance(value, tuple):
                if len(value) != n:
                    raise TypeError(f"{label} must have {n} fields ({', '.join(fields)}), "
                                    f"not {len(value)}")
                items: Any = value
            elif isinstance(value, Mapping):
                missing = [f for f in fields if f not in value]
                if missing:
                    raise TypeError(f"{label} is missing field {missing[0]!r}")
                extra = [k for k in value if k not in known]
                if extra:
                    raise TypeError(f"{label} has no field {extra[0]!r} (fields: "
                                    f"{', '.join(fields)})")
                items = [value[f] for f in fields]
            else:
                raise TypeError(f"{label} must be {cls.__name__}, a tuple or a mapping, "
                                f"not {_type_name(value)}")
            return tuple(c(v) for c, v in zip(converters, items))
        return convert

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return tuple.__new__(self.cls, super().lift(guest, values))

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return tuple.__new__(self.cls, super().unpack(guest, data, offset))


class ListOfType(WasmType):
    """``list[T]`` of a non-numeric T (bool, str, records, lists...): elements in a guest
    array of ``T.size`` strides, passed as (pointer, count)."""

    flat = ("i32", "i32")
    size = 8
    align = 4
    allocates = reads_memory = True
    _pair = struct.Struct("<II")

    def __init__(self, elem: WasmType):
        self.elem = elem
        self.name = f"list[{elem.name}]"
        self.hint = f"list[{elem.hint}]"
        self.annotation = list[elem.annotation]  # type: ignore[name-defined]

    def converter(self, label: str) -> Converter:
        elem = self.elem
        convert_item = elem.converter(f"{label} item")
        wanted = f"a sequence of {elem.hint}"

        def convert(value: Any) -> list[Any]:
            items = _items_or_fail(value, label, wanted)
            try:
                return [convert_item(item) for item in items]
            except (TypeError, ValueError, OverflowError):
                pass
            for i, item in enumerate(items):     # the same error, naming the item
                elem.converter(f"{label} item {i}")(item)
            raise AssertionError("an item failed to convert only once")
        return convert

    def lower(self, value: list[Any], guest: Guest) -> tuple[Any, ...]:
        elem = self.elem
        stride = elem.size
        nbytes = len(value) * stride
        ptr = guest.alloc(elem.align, nbytes)
        if value:
            buf = bytearray(nbytes)
            for i, item in enumerate(value):
                elem.pack(guest, buf, i * stride, item)
            guest.write(ptr, buf)
        return (signed32(ptr), signed32(len(value)))

    def lift(self, guest: Guest, values: Iterator[Any]) -> list[Any]:
        return self._read(guest, next(values) & 0xFFFFFFFF, next(values) & 0xFFFFFFFF)

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        ptr, count = self.lower(value, guest)
        self._pair.pack_into(buf, offset, ptr & 0xFFFFFFFF, count & 0xFFFFFFFF)

    def unpack(self, guest: Guest, data: bytes, offset: int) -> list[Any]:
        return self._read(guest, *self._pair.unpack_from(data, offset))

    def _read(self, guest: Guest, ptr: int, count: int) -> list[Any]:
        elem = self.elem
        if ptr % elem.align:
            raise Trap(f"guest returned a {self.name} at unaligned address {ptr:#x}",
                       kind="unaligned_pointer")
        stride = elem.size
        data = guest.read(ptr, count * stride)
        return [elem.unpack(guest, data, i * stride) for i in range(count)]


def _discriminant(cases: int) -> int:
    """Bytes of the discriminant of a variant with ``cases`` cases."""
    return 1 if cases <= 1 << 8 else 2 if cases <= 1 << 16 else 4


_UINT = {1: struct.Struct("<B"), 2: struct.Struct("<H"), 4: struct.Struct("<I")}
_F32, _I32, _U32 = struct.Struct("<f"), struct.Struct("<i"), struct.Struct("<I")
_F64, _I64, _U64 = struct.Struct("<d"), struct.Struct("<q"), struct.Struct("<Q")


def _join(a: str, b: str) -> str:
    """The core type one flat slot needs to carry both ``a`` and ``b``."""
    if a == b:
        return a
    return "i32" if {a, b} == {"i32", "f32"} else "i64"


def _to_slot(core: Any, have: str, slot: str) -> Any:
    """A case's core value, as its variant's (joined) slot type carries it."""
    if have == slot:
        return core
    if slot == "i32":                                  # an f32 in an i32
        return _I32.unpack(_F32.pack(core))[0]
    if have == "i32":                                  # an i32 in an i64: zero-extended
        return core & 0xFFFFFFFF
    if have == "f32":
        return _U32.unpack(_F32.pack(core))[0]
    return _I64.unpack(_F64.pack(core))[0]             # an f64 in an i64


def _from_slot(core: Any, have: str, slot: str) -> Any:
    """Undo ``_to_slot``: the case's core value of type ``have`` from a ``slot`` value."""
    if have == slot:
        return core
    if have == "f64":
        return _F64.unpack(_U64.pack(core & 0xFFFFFFFFFFFFFFFF))[0]
    bits = core & 0xFFFFFFFF                           # i64 slots are wrapped to 32 bits
    return _F32.unpack(_U32.pack(bits))[0] if have == "f32" else signed32(bits)


class VariantType(WasmType):
    """What options and results share: a discriminant, then one case's payload (or none)."""

    kind: str

    def __init__(self, cases: tuple[WasmType | None, ...]):
        self.cases = cases
        present = [c for c in cases if c is not None]
        self.disc = _discriminant(len(cases))
        case_align = max((c.align for c in present), default=1)
        self.align = max(self.disc, case_align)
        self.payload_offset = align_to(self.disc, case_align)
        self.size = align_to(self.payload_offset + max((c.size for c in present), default=0),
                             self.align)
        slots: list[str] = []
        for case in present:
            for i, core in enumerate(case.flat):
                if i < len(slots):
                    slots[i] = _join(slots[i], core)
                else:
                    slots.append(core)
        self.slots = tuple(slots)
        self.flat = ("i32", *slots)
        self.allocates = any(c.allocates for c in present)
        self.reads_memory = any(c.reads_memory for c in present)
        self._zeros = tuple(0.0 if s[0] == "f" else 0 for s in slots)
        self._disc_struct = _UINT[self.disc]

    def lower_case(self, index: int, value: Any, guest: Guest) -> tuple[Any, ...]:
        case = self.cases[index]
        if case is None:
            return (index, *self._zeros)
        payload = tuple(_to_slot(core, have, slot) for core, have, slot
                        in zip(case.lower(value, guest), case.flat, self.slots))
        return (index, *payload, *self._zeros[len(payload):])

    def lift_case(self, guest: Guest, values: Iterator[Any]) -> tuple[int, Any]:
        index = next(values) & 0xFFFFFFFF
        slots = [next(values) for _ in self.slots]
        case = self._case(index)
        if case is None:
            return index, None
        return index, case.lift(guest, iter([_from_slot(core, have, slot) for core, have, slot
                                             in zip(slots, case.flat, self.slots)]))

    def pack_case(self, guest: Guest, buf: bytearray, offset: int, index: int,
                  value: Any) -> None:
        self._disc_struct.pack_into(buf, offset, index)
        case = self.cases[index]
        if case is not None:
            case.pack(guest, buf, offset + self.payload_offset, value)

    def unpack_case(self, guest: Guest, data: bytes, offset: int) -> tuple[int, Any]:
        index = self._disc_struct.unpack_from(data, offset)[0]
        case = self._case(index)
        if case is None:
            return index, None
        return index, case.unpack(guest, data, offset + self.payload_offset)

    def _case(self, index: int) -> WasmType | None:
        if index >= len(self.cases):
            raise Trap(f"guest returned {self.name} with invalid discriminant {index} "
                       f"(expected 0..{len(self.cases) - 1})", kind="invalid_discriminant")
        return self.cases[index]


class OptionType(VariantType):
    """``T | None``: case 0 is None, case 1 carries a T."""

    def __init__(self, payload: WasmType):
        super().__init__((None, payload))
        self.payload = payload
        self.name = f"{payload.name} | None"
        self.hint = f"{payload.hint} | None"
        self.annotation = payload.annotation | None

    def converter(self, label: str) -> Converter:
        convert_payload = self.payload.converter(label)

        def convert(value: Any) -> tuple[Any] | None:
            return None if value is None else (convert_payload(value),)
        return convert

    def lower(self, value: tuple[Any] | None, guest: Guest) -> tuple[Any, ...]:
        return self.lower_case(0, None, guest) if value is None else \
            self.lower_case(1, value[0], guest)

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return self.lift_case(guest, values)[1]

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        if value is None:
            self.pack_case(guest, buf, offset, 0, None)
        else:
            self.pack_case(guest, buf, offset, 1, value[0])

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return self.unpack_case(guest, data, offset)[1]


class ResultType(VariantType):
    """``result[T, E]``: the ok value (T, or None) is returned; the error (E, or None) is
    raised as ``GuestError(value)``.  Converted form: (0, ok) or (1, error)."""

    def __init__(self, ok: WasmType | None, error: WasmType | None):
        super().__init__((ok, error))
        self.ok = ok
        self.error = error
        self.name = f"result[{ok.name if ok else None}, {error.name if error else None}]"
        self.hint = ok.hint if ok else "None"
        self.annotation = ok.annotation if ok else None

    def converter(self, label: str) -> Converter:
        """Convert an ok value (what a host function returns)."""
        convert_ok = self.ok.converter(label) if self.ok else None

        def convert(value: Any) -> tuple[int, Any]:
            if convert_ok is None:
                if value is not None:
                    raise TypeError(f"{label} must be None, not {_type_name(value)}")
                return (0, None)
            return (0, convert_ok(value))
        return convert

    def error_converter(self, label: str) -> Converter:
        """Convert the value of a GuestError a host function raised into (1, error)."""
        convert_error = self.error.converter(f"{label} error") if self.error else None

        def convert(error: GuestError) -> tuple[int, Any]:
            if convert_error is None:
                return (1, None)
            return (1, convert_error(error.value))
        return convert

    def lower(self, value: tuple[int, Any], guest: Guest) -> tuple[Any, ...]:
        return self.lower_case(value[0], value[1], guest)

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return self._outcome(*self.lift_case(guest, values))

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        self.pack_case(guest, buf, offset, value[0], value[1])

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return self._outcome(*self.unpack_case(guest, data, offset))

    @staticmethod
    def _outcome(index: int, value: Any) -> Any:
        if index:
            raise GuestError(value)
        return value


class _Named(WasmType):
    """Enums and flags: a Python ``enum`` class on the module, one small integer in wasm."""

    flat = ("i32",)

    def __init__(self, name: str, labels: tuple[str, ...], size: int, cls: Any):
        self.name = self.hint = name
        self.labels = labels
        self.size = self.align = size
        self.annotation = self.cls = cls
        cls.__doc__ = None    # as on 3.11+: 3.10's enum says "An enumeration." before WIT docs
        self._struct = _UINT[size]

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        self._struct.pack_into(buf, offset, value)

    def lower(self, value: int, guest: Guest) -> tuple[Any, ...]:
        return (signed32(value),)

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return self.from_int(next(values) & 0xFFFFFFFF)

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return self.from_int(self._struct.unpack_from(data, offset)[0])

    @abstractmethod
    def from_int(self, value: int) -> Any:
        """The member for the integer the guest gave."""


class EnumType(_Named):
    """A ``[types.Name] enum = [...]``: an ``enum.Enum`` whose values are the case indexes
    (the C enum's values).  Arguments are members, or their names as str."""

    def __init__(self, name: str, labels: tuple[str, ...]):
        import enum

        cls = enum.Enum(name, [(label, i) for i, label in enumerate(labels)])  # type: ignore[misc]
        super().__init__(name, labels, _discriminant(len(labels)), cls)
        self.members = tuple(cls)

    def converter(self, label: str) -> Converter:
        cls = self.cls
        names: dict[str, int] = {m.name: m.value for m in self.members}

        def convert(value: Any) -> int:
            if value.__class__ is cls:
                return value.value  # type: ignore[no-any-return]
            if isinstance(value, str) and value in names:
                return names[value]
            if isinstance(value, str):
                raise ValueError(f"{label} must be a {cls.__name__} name ("
                                 f"{', '.join(names)}), not {value!r}")
            raise TypeError(f"{label} must be {cls.__name__}, not {_type_name(value)}")
        return convert

    def from_int(self, value: int) -> Any:
        if value >= len(self.members):
            raise Trap(f"guest returned {self.name} with invalid value {value} (expected "
                       f"0..{len(self.members) - 1})", kind="invalid_discriminant")
        return self.members[value]


class FlagsType(_Named):
    """A ``[types.Name] flags = [...]``: an ``enum.Flag`` (bit i is label i).  Arguments
    are members or their combinations, or an int of known bits; unknown bits the guest sets
    are dropped, as the Canonical ABI says."""

    def __init__(self, name: str, labels: tuple[str, ...]):
        import enum

        cls = enum.Flag(name, [(label, 1 << i) for i, label in enumerate(labels)])  # type: ignore[misc]
        size = 1 if len(labels) <= 8 else 2 if len(labels) <= 16 else 4
        super().__init__(name, labels, size, cls)
        self.mask = (1 << len(labels)) - 1

    def converter(self, label: str) -> Converter:
        cls, mask = self.cls, self.mask

        def convert(value: Any) -> int:
            if isinstance(value, cls):
                return value.value  # type: ignore[no-any-return]
            if value.__class__ is int:
                if value & ~mask:
                    raise ValueError(f"{label} has bits that are not {cls.__name__} flags: "
                                     f"{value:#x} (known: {mask:#x})")
                return int(value)
            raise TypeError(f"{label} must be {cls.__name__}, not {_type_name(value)}")
        return convert

    def from_int(self, value: int) -> Any:
        return self.cls(value & self.mask)


class CasesType(VariantType):
    """A ``[types.Name] variant = {case = "T", ...}`` (a WIT variant): a class per case, each
    a subclass of the variant's class with the payload in ``.value``, so ``match`` can tell
    them apart (``case Shape.Circle(r):``).  Converted form: (case index, payload)."""

    def __init__(self, name: str, cases: tuple[tuple[str, WasmType | None], ...]):
        super().__init__(tuple(t for _, t in cases))
        self.name = self.hint = name
        self.labels = tuple(label for label, _ in cases)
        self.annotation = self.cls = _variant_class(name, cases)
        self.case_classes: tuple[type, ...] = tuple(
            getattr(self.cls, _case_name(label)) for label in self.labels)

    def converter(self, label: str) -> Converter:
        index = {cls: i for i, cls in enumerate(self.case_classes)}
        payloads = [t.converter(f"{label} {self.name}.{cls.__name__}") if t else None
                    for t, cls in zip(self.cases, self.case_classes)]
        wanted = " or ".join(f"{self.name}.{c.__name__}" for c in self.case_classes)

        def convert(value: Any) -> tuple[int, Any]:
            i = index.get(value.__class__)
            if i is None:
                raise TypeError(f"{label} must be {wanted}, not {_type_name(value)}")
            payload = payloads[i]
            return (i, payload(value.value) if payload is not None else None)
        return convert

    def lower(self, value: tuple[int, Any], guest: Guest) -> tuple[Any, ...]:
        return self.lower_case(value[0], value[1], guest)

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        index, payload = self.lift_case(guest, values)
        return self.case_classes[index](payload)

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        self.pack_case(guest, buf, offset, value[0], value[1])

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        index, payload = self.unpack_case(guest, data, offset)
        return self.case_classes[index](payload)


def _case_name(label: str) -> str:
    """A variant case's class name: ``not-found`` -> ``NotFound``; ``none`` -> ``None_``."""
    import keyword

    name = "".join(part[:1].upper() + part[1:] for part in label.split("_"))
    return name + "_" if keyword.iskeyword(name) else name


def _variant_class(name: str, cases: tuple[tuple[str, WasmType | None], ...]) -> type:
    """The variant's base class, with one subclass per case as its attributes."""

    class Case:
        __slots__ = ("value",)
        __match_args__ = ("value",)
        value: Any

        def __init__(self, value: Any = None) -> None:
            object.__setattr__(self, "value", value)

        def __setattr__(self, attr: str, value: Any) -> None:
            raise AttributeError(f"{type(self).__qualname__} is immutable")

        def __eq__(self, other: object) -> bool:
            return other.__class__ is self.__class__ and \
                other.value == self.value

        def __hash__(self) -> int:
            return hash((self.__class__, self.value))

        def __repr__(self) -> str:
            value = "" if self.value is None else repr(self.value)
            return f"{type(self).__qualname__}({value})"

        def __reduce__(self) -> tuple[Any, ...]:
            return (self.__class__, (self.value,))

    base = type(name, (Case,), {"__slots__": (), "__doc__": f"The variant {name}: "
                                + ", ".join(f"{name}.{_case_name(c)}" for c, _ in cases)})
    for label, payload in cases:
        case_name = _case_name(label)
        cls = type(case_name, (base,), {"__slots__": (), "__doc__":
                                        f"{name}.{case_name}"
                                        + (f"({payload.hint})" if payload else "()")})
        cls.__qualname__ = f"{name}.{case_name}"
        setattr(base, case_name, cls)
    return base
