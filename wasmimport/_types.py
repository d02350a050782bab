"""The manifest's value types and their Canonical ABI lowering and lifting.

Each type knows four things: how a Python argument is checked and converted (``converter``,
pure Python, touches no guest memory, so a bad argument never leaks a guest allocation), how
the converted value becomes core wasm values (``lower``), how core values become a Python
result (``lift``), and its in-memory layout (``size``/``align``/``store``/``load``) for return
areas and spilled parameters.  Layout follows the Component Model's CanonicalABI.md.
"""

from __future__ import annotations

import struct
import sys
from _operator import index  # operator's own (builtin); importing operator costs 0.3 ms
from abc import ABC, abstractmethod

from ._errors import Trap

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, Protocol

    Converter = Callable[[Any], Any]

    class Guest(Protocol):
        """What lowering and lifting need from an instance: its memory and its allocator."""

        def alloc(self, align: int, size: int) -> int: ...
        def read(self, ptr: int, size: int) -> bytes: ...
        def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None: ...
        def read_cstr(self, ptr: int) -> bytes: ...


def _type_name(value: object) -> str:
    return type(value).__name__


class WasmType(ABC):
    """A manifest type such as ``u32`` or ``list[f64]``."""

    name: str
    annotation: Any
    hint: str               # the annotation as stub source: "int", "list[Point]"
    flat: tuple[str, ...]
    size: int
    align: int
    allocates = False       # lowering a value allocates in the guest
    compiled = True         # the compiled call path has this type (else the pure one runs)
    reads_memory = False    # lifting a value from flat core values reads guest memory

    def __repr__(self) -> str:
        return f"<wasm type {self.name}>"

    @abstractmethod
    def converter(self, label: str) -> Converter:
        """Return a function checking one Python argument; ``label`` starts its errors."""

    def convert_expression(self, value: str, converter: str) -> str:
        """Python source converting the variable ``value`` (for generated call paths).

        ``converter`` names this type's ``converter()``; types override this to check the
        common case inline, which saves the pure call path a function call per argument.
        """
        return f"{converter}({value})"

    @abstractmethod
    def lower(self, value: Any, guest: Guest) -> tuple[Any, ...]:
        """Core values for a converted argument (may allocate in the guest)."""

    @abstractmethod
    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        """The Python value for core values taken from ``values``."""

    @abstractmethod
    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        """Put a converted value's memory form into ``buf`` at ``offset``.

        ``buf`` is a local image of guest memory that the caller writes in one copy; what
        the value points to (string bytes, list elements) is allocated and written now.
        """

    @abstractmethod
    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        """The Python value whose memory form is in ``data`` (read from the guest) at
        ``offset``; what it points to is read from the guest."""

    def store(self, guest: Guest, ptr: int, value: Any) -> None:
        """Write a converted value into guest memory at ``ptr``."""
        buf = bytearray(self.size)
        self.pack(guest, buf, 0, value)
        guest.write(ptr, buf)

    def load(self, guest: Guest, ptr: int) -> Any:
        """Read a Python value from guest memory at ``ptr``."""
        return self.unpack(guest, guest.read(ptr, self.size), 0)


class ScalarType(WasmType):
    """A number or bool that travels as one core value.

    Converted values are already core values (unsigned ints in two's complement), so the
    hot path of an all-scalar function is converter -> raw call -> ``lift_one``.
    """

    lifts_as_is = True  # the core value already is the Python value

    def __init__(self, name: str, core: str, fmt: str, annotation: type):
        self.name = name
        self.flat = (core,)
        self.annotation = annotation
        self.hint = annotation.__name__
        self._struct = struct.Struct("<" + fmt)
        self.size = self.align = self._struct.size

    def lower(self, value: Any, guest: Guest) -> tuple[Any, ...]:
        return (value,)

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        return self.lift_one(next(values))

    def lift_one(self, core: Any) -> Any:
        """The Python value of one core value returned by the guest."""
        return core

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        self._struct.pack_into(buf, offset, self.from_core(value))

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return self._struct.unpack_from(data, offset)[0]

    def from_core(self, core: Any) -> Any:
        """The value a converted argument stands for (undoes two's complement)."""
        return self.lift_one(core)


class IntType(ScalarType):
    """``i8``..``u64``: range-checked on the way in, never silently wrapped."""

    def __init__(self, name: str, bits: int, signed: bool, fmt: str):
        super().__init__(name, "i64" if bits == 64 else "i32", fmt, int)
        self.bits = bits
        self.signed = signed
        self.lifts_as_is = signed and bits >= 32
        self.lo = -(1 << (bits - 1)) if signed else 0
        self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        core_bits = 64 if bits == 64 else 32
        self._core_mask = (1 << core_bits) - 1
        self._core_sign = 1 << (core_bits - 1)

    def converter(self, label: str) -> Converter:
        lo, hi, name = self.lo, self.hi, self.name
        mask, sign = self._core_mask, self._core_sign
        wraps = not self.signed and self.hi >= sign   # u32/u64 may need two's complement

        def convert(value: Any) -> Any:
            if value.__class__ is not int:
                try:
                    value = index(value)
                except TypeError:
                    raise TypeError(f"{label} must be int, not {_type_name(value)}") from None
            if not lo <= value <= hi:
                raise OverflowError(f"{label} is out of range for {name} "
                                    f"({lo}..{hi}): {value}")
            if wraps and value >= sign:
                return value - mask - 1
            return value
        return convert

    def convert_expression(self, value: str, converter: str) -> str:
        # an exact int already in the core range converts to itself
        core_hi = min(self.hi, self._core_sign - 1)
        return (f"({value} if {value}.__class__ is int and {self.lo} <= {value} <= {core_hi} "
                f"else {converter}({value}))")

    def lift_one(self, core: int) -> int:
        if self.bits < 32 or not self.signed:
            core &= (1 << self.bits) - 1
            if self.signed and core > self.hi:
                core -= 1 << self.bits
        return core


class WrapType(IntType):
    """``wrap[u32]`` (any integer type): an int of any size, masked to the type's bits like
    ``PyLong_AsUnsignedLongLongMask`` (a seed of 2**64 is 0, -1 is the largest value), for
    C APIs that take any int.  Its name is the base type's, which is how the compiled path
    and the layout see it; in range it costs what the base type does."""

    def __init__(self, base: IntType):
        fmt = base._struct.format.lstrip("<")
        super().__init__(base.name, base.bits, base.signed, fmt)
        self.base = base
        self.text = f"wrap[{base.name}]"

    def __repr__(self) -> str:
        return f"<wasm type {self.text}>"

    def converter(self, label: str) -> Converter:
        exact = self.base.converter(label)
        mask, sign, signed = (1 << self.bits) - 1, 1 << (self.bits - 1), self.signed

        def convert(value: Any) -> Any:
            if value.__class__ is not int:
                try:
                    value = index(value)
                except TypeError:
                    raise TypeError(f"{label} must be int, not {_type_name(value)}") from None
            value &= mask
            return exact(value - (mask + 1) if signed and value & sign else value)
        return convert


# the smallest double that rounds to infinity as an f32 (FLT_MAX plus half an ulp)
_F32_OVERFLOW = 2.0**128 - 2.0**103
_FLT_MAX = 2.0**128 - 2.0**104
_INF = float("inf")      # not math.inf: math is one more import


class FloatType(ScalarType):
    """``f32``/``f64``: accepts float or anything with ``__float__``/``__index__``, like C.

    A finite value too large for f32 is an OverflowError (as ``struct.pack`` does), never a
    silent infinity; NaN and infinities pass through.
    """

    def __init__(self, name: str, fmt: str):
        super().__init__(name, name, fmt, float)

    def convert_expression(self, value: str, converter: str) -> str:
        # a float converts to itself (an f32 only if it is finite and no larger than FLT_MAX)
        check = f"{value}.__class__ is float"
        if self.name == "f32":
            check += f" and -{_FLT_MAX!r} <= {value} <= {_FLT_MAX!r}"
        return f"({value} if {check} else {converter}({value}))"

    def converter(self, label: str) -> Converter:
        name = self.name
        limit = _F32_OVERFLOW if name == "f32" else _INF

        def convert(value: Any) -> float:
            if value.__class__ is not float:
                if isinstance(value, (str, bytes, bytearray)) or not (
                        hasattr(value, "__float__") or hasattr(value, "__index__")):
                    raise TypeError(f"{label} must be float, not {_type_name(value)}")
                try:
                    value = float(value)
                except OverflowError:
                    raise OverflowError(f"{label} is too large to convert to {name}") from None
            if not -limit < value < limit and value - value == 0.0:    # and finite
                raise OverflowError(f"{label} is out of range for {name}: {value!r}")
            return value  # type: ignore[no-any-return]
        return convert


class BoolType(ScalarType):
    """``bool``: any object, by truth value, like the ``p`` format of PyArg_Parse."""

    def __init__(self) -> None:
        super().__init__("bool", "i32", "B", bool)
        self.lifts_as_is = False

    def convert_expression(self, value: str, converter: str) -> str:
        return f"(1 if {value} else 0)"

    def converter(self, label: str) -> Converter:
        return lambda value: 1 if value else 0

    def lift_one(self, core: int) -> bool:
        return core != 0

    def from_core(self, core: Any) -> Any:
        return core

    def unpack(self, guest: Guest, data: bytes, offset: int) -> bool:
        return data[offset] != 0


class BufferType(WasmType):
    """``str``/``bytes``/``list[T]``: a guest allocation passed as (pointer, length)."""

    flat = ("i32", "i32")
    size = 8
    align = 4
    elem_align = 1
    elem_size = 1
    allocates = reads_memory = True
    _pair = struct.Struct("<II")

    def lower(self, value: Any, guest: Guest) -> tuple[Any, ...]:
        """``value`` is a converted argument: bytes or a byte view (a Fill for buffer)."""
        nbytes = len(value)
        ptr = guest.alloc(self.elem_align, nbytes)
        if nbytes:
            guest.write(ptr, value)
        return (signed32(ptr), signed32(nbytes // self.elem_size))

    def lift(self, guest: Guest, values: Iterator[Any]) -> Any:
        ptr = next(values) & 0xFFFFFFFF
        length = next(values) & 0xFFFFFFFF
        return self.decode(self._read(guest, ptr, length))

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        data_ptr, length = self.lower(value, guest)
        self._pair.pack_into(buf, offset, data_ptr & 0xFFFFFFFF, length)

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        data_ptr, length = self._pair.unpack_from(data, offset)
        return self.decode(self._read(guest, data_ptr, length))

    def _read(self, guest: Guest, ptr: int, length: int) -> bytes:
        if ptr % self.elem_align:
            raise Trap(f"guest returned a {self.name} at unaligned address {ptr:#x}",
                       kind="unaligned_pointer")
        return guest.read(ptr, length * self.elem_size)

    @abstractmethod
    def decode(self, data: bytes) -> Any:
        """The Python value for the raw bytes read from the guest."""


class StrType(BufferType):
    name = hint = "str"
    annotation = str

    def converter(self, label: str) -> Converter:
        def convert(value: Any) -> bytes:
            if not isinstance(value, str):
                raise TypeError(f"{label} must be str, not {_type_name(value)}")
            try:
                return value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise UnicodeEncodeError(exc.encoding, exc.object, exc.start, exc.end,
                                         f"{label}: {exc.reason}") from None
        return convert

    def decode(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Trap(f"guest returned a str that is not valid UTF-8 ({exc.reason} "
                       f"at byte {exc.start})", kind="invalid_utf8") from None


def _contiguous_bytes(value: Any) -> memoryview | None:
    """A flat byte view of any C-contiguous buffer, or None if ``value`` has no buffer."""
    try:
        view = memoryview(value)
    except TypeError:
        return None
    if not view.c_contiguous:
        raise BufferError("not C-contiguous")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


class BytesType(BufferType):
    name = hint = "bytes"
    annotation = bytes

    def converter(self, label: str) -> Converter:
        def convert(value: Any) -> memoryview:
            if isinstance(value, str):
                raise TypeError(f"{label} must be a bytes-like object, not str")
            try:
                view = _contiguous_bytes(value)
            except BufferError:
                raise TypeError(f"{label} must be a C-contiguous buffer") from None
            if view is None:
                raise TypeError(f"{label} must be a bytes-like object, "
                                f"not {_type_name(value)}")
            return view
        return convert

    def decode(self, data: bytes) -> bytes:
        return data


class TextBytesType(BytesType):
    """``bytes | str``: bytes that also accept a str, passed as its UTF-8 (as hashlib-style
    C APIs that take text too); a result is bytes.  The compiled path sees ``bytes``."""

    hint = "bytes | str"
    annotation = bytes | str

    def converter(self, label: str) -> Converter:
        as_bytes = super().converter(label)

        def convert(value: Any) -> Any:
            if isinstance(value, str):
                return memoryview(value.encode("utf-8"))
            return as_bytes(value)
        return convert


# struct codes of the buffer formats each element kind accepts (native sizes on this host)
_FORMAT_KINDS: dict[str, tuple[str, int]] = {}
for _code in "bhilqn":
    _FORMAT_KINDS[_code] = ("int", struct.calcsize(_code))
for _code in "BHILQN":
    _FORMAT_KINDS[_code] = ("uint", struct.calcsize(_code))
for _code in "fd":
    _FORMAT_KINDS[_code] = ("float", struct.calcsize(_code))


def _buffer_kind(fmt: str) -> tuple[str, int] | None:
    """(kind, itemsize) of a little-endian or native buffer format, else None."""
    if fmt[:1] in "@=<":
        if fmt[:1] != "<" and sys.byteorder != "little":
            return None
        fmt = fmt[1:]
    return _FORMAT_KINDS.get(fmt)


class ListType(BufferType):
    """``list[T]`` of a numeric T: a sequence or a buffer of the matching format."""

    def __init__(self, elem: ScalarType):
        self.elem = elem
        self.name = f"list[{elem.name}]"
        self.annotation = list[elem.annotation]  # type: ignore[name-defined]
        self.hint = f"list[{elem.hint}]"
        self.elem_size = self.elem_align = elem.size
        code = elem._struct.format[-1]
        self._code = code
        if isinstance(elem, FloatType):
            self._kind = ("float", elem.size)
        else:
            assert isinstance(elem, IntType)
            self._kind = ("int" if elem.signed else "uint", elem.size)

    def converter(self, label: str) -> Converter:
        code, kind, elem = self._code, self._kind, self.elem

        def convert(value: Any) -> bytes | memoryview:
            if isinstance(value, str):
                raise TypeError(f"{label} must be a sequence of {elem.annotation.__name__}, "
                                "not str")
            try:
                view = memoryview(value)
            except TypeError:
                view = None
            if view is not None and view.ndim == 1 and view.c_contiguous \
                    and _buffer_kind(view.format) == kind:
                return view.cast("B")
            try:
                items = list(value)
            except TypeError:
                raise TypeError(f"{label} must be a sequence of {elem.annotation.__name__}, "
                                f"not {_type_name(value)}") from None
            try:
                return struct.pack(f"<{len(items)}{code}", *items)
            except (struct.error, OverflowError, TypeError):
                pass
            # find the offending item and report it the way a scalar argument would be
            for i, item in enumerate(items):
                elem.converter(f"{label} item {i}")(item)
            raise AssertionError("struct.pack failed on items that all convert")
        return convert

    def decode(self, data: bytes) -> list[Any]:
        return list(struct.unpack(f"<{len(data) // self.elem_size}{self._code}", data))


class CStrType(WasmType):
    """``cstr``: a NUL-terminated UTF-8 ``char *`` in one i32, as many C APIs take.

    wasmimport's own extension to the Canonical ABI.  Like ctypes' ``c_char_p``, None is
    the NULL pointer both ways.
    """

    name = "cstr"
    annotation = str | None
    hint = "str | None"
    flat = ("i32",)
    size = align = 4
    allocates = reads_memory = True
    _ptr = struct.Struct("<I")

    def converter(self, label: str) -> Converter:
        def convert(value: Any) -> bytes | None:
            if value is None:
                return None
            if not isinstance(value, str):
                raise TypeError(f"{label} must be str or None, not {_type_name(value)}")
            if "\0" in value:
                raise ValueError(f"{label}: embedded null character")
            encoded: bytes = STR.converter(label)(value)
            return encoded + b"\0"
        return convert

    def lower(self, value: bytes | None, guest: Guest) -> tuple[Any, ...]:
        if value is None:
            return (0,)
        ptr = guest.alloc(1, len(value))
        guest.write(ptr, value)
        return (signed32(ptr),)

    def lift(self, guest: Guest, values: Iterator[Any]) -> str | None:
        return self._decode(guest, next(values) & 0xFFFFFFFF)

    def pack(self, guest: Guest, buf: bytearray, offset: int, value: Any) -> None:
        self._ptr.pack_into(buf, offset, self.lower(value, guest)[0] & 0xFFFFFFFF)

    def unpack(self, guest: Guest, data: bytes, offset: int) -> str | None:
        return self._decode(guest, self._ptr.unpack_from(data, offset)[0])

    @staticmethod
    def _decode(guest: Guest, ptr: int) -> str | None:
        return None if ptr == 0 else STR.decode(guest.read_cstr(ptr))


class Fill:
    """A converted ``buffer`` argument: the caller's writable view, and where it went."""

    __slots__ = ("view", "ptr")

    def __init__(self, view: memoryview):
        self.view = view
        self.ptr = 0

    def __len__(self) -> int:
        return len(self.view)

    def copy_back(self, guest: Guest) -> None:
        """Copy what the guest wrote into the caller's buffer."""
        if len(self.view):
            self.view[:] = guest.read(self.ptr, len(self.view))


class OutBufferType(BytesType):
    """``buffer``: a writable buffer the guest fills, copied back after the call.

    wasmimport's own extension: it travels as ``bytes`` does (pointer, length), with the
    caller's current contents, and the guest's bytes replace them when the call returns.
    Only a function's own parameter can be a buffer (planning checks).
    """

    name = "buffer"
    annotation = bytearray | memoryview
    hint = "bytearray | memoryview"

    def converter(self, label: str) -> Converter:
        def convert(value: Any) -> Fill:
            try:
                view = memoryview(value)
            except TypeError:
                raise TypeError(f"{label} must be a writable bytes-like object (bytearray, "
                                f"memoryview, array), not {_type_name(value)}") from None
            if view.readonly:
                raise TypeError(f"{label} must be a writable bytes-like object (bytearray, "
                                f"memoryview, array), not read-only {_type_name(value)}")
            if not view.c_contiguous:
                raise TypeError(f"{label} must be a C-contiguous buffer")
            return Fill(view.cast("B") if view.format != "B" or view.ndim != 1 else view)
        return convert

    def lower(self, value: Fill, guest: Guest) -> tuple[Any, ...]:
        ptr, length = super().lower(value.view, guest)
        value.ptr = ptr & 0xFFFFFFFF
        return (ptr, length)


class CharType(ScalarType):
    """``char``: a one-character ``str`` in Python, its Unicode scalar value (a u32) in wasm;
    surrogates and values past U+10FFFF are refused both ways, as the Canonical ABI says."""

    lifts_as_is = False

    def __init__(self) -> None:
        super().__init__("char", "i32", "I", str)

    def converter(self, label: str) -> Converter:
        def convert(value: Any) -> int:
            if value.__class__ is not str and not isinstance(value, str):
                raise TypeError(f"{label} must be a str of one character, not "
                                f"{_type_name(value)}")
            if len(value) != 1:
                raise ValueError(f"{label} must be one character, not {len(value)}: "
                                 f"{value[:20]!r}")
            code = ord(value)
            if 0xD800 <= code <= 0xDFFF:
                raise ValueError(f"{label} is a surrogate ({code:#x}), not a Unicode scalar "
                                 "value")
            return code
        return convert

    def lift_one(self, core: int) -> str:
        code = core & 0xFFFFFFFF
        if code >= 0x110000 or 0xD800 <= code <= 0xDFFF:
            raise Trap(f"guest returned an invalid char {code:#x} (not a Unicode scalar "
                       "value)", kind="invalid_char")
        return chr(code)

    def from_core(self, core: Any) -> Any:
        return core

    def unpack(self, guest: Guest, data: bytes, offset: int) -> Any:
        return self.lift_one(self._struct.unpack_from(data, offset)[0])


def signed32(value: int) -> int:
    """A u32 as the i32 core value with the same bits."""
    return value - (1 << 32) if value >= 1 << 31 else value


SCALARS: dict[str, ScalarType] = {
    "i8": IntType("i8", 8, True, "b"),
    "i16": IntType("i16", 16, True, "h"),
    "i32": IntType("i32", 32, True, "i"),
    "i64": IntType("i64", 64, True, "q"),
    "u8": IntType("u8", 8, False, "B"),
    "u16": IntType("u16", 16, False, "H"),
    "u32": IntType("u32", 32, False, "I"),
    "u64": IntType("u64", 64, False, "Q"),
    "f32": FloatType("f32", "f"),
    "f64": FloatType("f64", "d"),
    "bool": BoolType(),
}
NUMERIC = tuple(name for name in SCALARS if name != "bool")
STR = StrType()
BYTES = BytesType()
CSTR = CStrType()
CHAR = CharType()
BUFFER = OutBufferType()
TEXT_BYTES = TextBytesType()
WRAPS: dict[str, WrapType] = {name: WrapType(t) for name, t in SCALARS.items()
                              if isinstance(t, IntType)}
LISTS: dict[str, ListType] = {name: ListType(SCALARS[name]) for name in NUMERIC}
CORE_TYPES = ("i32", "i64", "f32", "f64")

# the types a manifest names with one word (the others are built from these)
BY_NAME: dict[str, WasmType] = {t.name: t for t in (*SCALARS.values(), STR, BYTES, CSTR,
                                                      BUFFER, CHAR)}
BY_NAME[TEXT_BYTES.hint] = TEXT_BYTES       # (a plain form's name; manifests write a union)
