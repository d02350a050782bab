"""Reads the parts of a wasm binary that wasmimport needs, without any runtime.

Why not ask the runtime?  The manifest, the import list and the export signatures must be
known before instantiation and identically for every backend, and libwasmtime aborts the whole
process when asked for the type of a function that uses ``v128``.  Reading the type, import,
function and export sections ourselves is a few dozen lines and never crashes: anything
malformed raises ``WasmFormatError``.  Validation of the code itself stays with the backend.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

WASM_MAGIC = b"\0asm"
WASM_VERSION = b"\x01\0\0\0"

_VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
             0x70: "funcref", 0x6F: "externref"}
_KINDS = ("func", "table", "memory", "global", "tag")


class WasmFormatError(ValueError):
    """The bytes are not a wasm module wasmimport can read."""


class FuncType:
    """A core function type, e.g. ``(i32, i32) -> (i32)``; a value (hashable)."""

    __slots__ = ("params", "results")

    def __init__(self, params: tuple[str, ...], results: tuple[str, ...]):
        self.params = params
        self.results = results

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FuncType) and (self.params, self.results) == \
            (other.params, other.results)

    def __hash__(self) -> int:
        return hash((self.params, self.results))

    def __repr__(self) -> str:
        return f"FuncType({self})"

    def __str__(self) -> str:
        results = ", ".join(self.results)
        return f"({', '.join(self.params)}) -> ({results})"


# the core types of the ABI's own exports and built-ins
REALLOC_TYPE = FuncType(("i32", "i32", "i32", "i32"), ("i32",))
ALLOC_TYPE = FuncType(("i32",), ("i32",))       # also resource-new and resource-rep
FREE_TYPE = FuncType(("i32",), ())              # also a resource's drop, resource-drop
INIT_TYPE = FuncType((), ())


class Extern:
    """One import or export: its kind and, for functions, its core type."""

    __slots__ = ("name", "kind", "functype", "module")

    def __init__(self, name: str, kind: str, functype: FuncType | None = None,
                 module: str = ""):
        self.name = name
        self.kind = kind
        self.functype = functype
        self.module = module          # the import module; empty for exports

    def __repr__(self) -> str:
        where = f"{self.module}." if self.module else ""
        return f"<{self.kind} {where}{self.name} {self.functype or ''}>"


class ModuleInfo:
    """What a wasm module imports, exports and carries in custom sections."""

    __slots__ = ("imports", "exports", "custom_sections", "stack_pointer", "_by_name")

    def __init__(self, imports: tuple[Extern, ...], exports: tuple[Extern, ...],
                 custom_sections: tuple[tuple[str, bytes], ...],
                 stack_pointer: int | None = None):
        self.imports = imports
        self.exports = exports
        self.custom_sections = custom_sections
        self.stack_pointer = stack_pointer     # index of the C shadow stack's __stack_pointer
        self._by_name = {e.name: e for e in exports}

    def custom(self, name: str) -> list[bytes]:
        """Payloads of every custom section called ``name``, in file order."""
        return [data for n, data in self.custom_sections if n == name]

    def export(self, name: str) -> Extern | None:
        """The export called ``name``, if there is one."""
        return self._by_name.get(name)


class _Reader:
    """A cursor over a byte string with the wasm binary encodings."""

    def __init__(self, data: bytes | memoryview, pos: int = 0, end: int | None = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise WasmFormatError(f"unexpected end of data at offset {self.pos:#x}")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self, bits: int = 32) -> int:
        if self.pos < self.end and self.data[self.pos] < 0x80:    # the common one-byte case
            self.pos += 1
            return self.data[self.pos - 1]
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift >= bits + 7:
                raise WasmFormatError(f"integer too long at offset {self.pos:#x}")
        if result >= 1 << bits:
            raise WasmFormatError(f"integer too large at offset {self.pos:#x}")
        return result

    def bytes(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise WasmFormatError(f"unexpected end of data at offset {self.pos:#x}")
        chunk = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return chunk

    def name(self) -> str:
        raw = self.bytes(self.uleb())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise WasmFormatError(f"name is not UTF-8 at offset {self.pos:#x}") from None

    def valtype(self) -> str:
        code = self.byte()
        if code in _VALTYPES:
            return _VALTYPES[code]
        if code in (0x63, 0x64):     # (ref null? heaptype): a signed LEB heap type
            while self.byte() & 0x80:
                pass
            return "ref"
        if 0x69 <= code <= 0x74:     # the GC and exception proposals' shorthand ref types
            return "ref"
        raise WasmFormatError(f"unknown value type {code:#x} at offset {self.pos - 1:#x}")

    def limits(self) -> None:
        flags = self.byte()
        bits = 64 if flags & 0x04 else 32
        self.uleb(bits)
        if flags & 0x01:
            self.uleb(bits)
        if flags & 0x08:
            self.uleb()


def is_wasm_binary(data: bytes | memoryview) -> bool:
    """True when ``data`` starts like a wasm binary (otherwise it may be .wat text)."""
    return bytes(data[:4]) == WASM_MAGIC


def read_module(data: bytes | memoryview) -> ModuleInfo:
    """Parse the sections wasmimport needs; raise WasmFormatError on malformed input."""
    types: list[FuncType] = []
    func_types: list[FuncType] = []   # function index space: imports first
    imports: list[Extern] = []
    exports: list[Extern] = []
    customs: list[tuple[str, bytes]] = []
    for section_id, _, start, end in _sections(data):
        s = _Reader(data, start, end)
        if section_id == 0:
            name = s.name()
            customs.append((name, bytes(data[s.pos:end])))
        elif section_id == 1:
            types = [_functype(s) for _ in range(s.uleb())]
        elif section_id == 2:
            for _ in range(s.uleb()):
                imp = _import(s, types)
                imports.append(imp)
                if imp.kind == "func":
                    assert imp.functype is not None
                    func_types.append(imp.functype)
        elif section_id == 3:
            count = s.uleb()
            indices = data[s.pos:s.pos + count]
            if len(indices) == count and max(indices, default=0) < 0x80:
                type_indices = list(indices)      # the usual case: one byte each, read in C
            else:
                type_indices = [s.uleb() for _ in range(count)]
            if type_indices and max(type_indices) >= len(types):
                raise WasmFormatError(f"type index {max(type_indices)} out of range")
            func_types += [types[i] for i in type_indices]
        elif section_id == 7:
            for _ in range(s.uleb()):
                name = s.name()
                kind = s.byte()
                index = s.uleb()
                if kind >= len(_KINDS):
                    raise WasmFormatError(f"export {name!r} has unknown kind {kind}")
                functype = None
                if kind == 0:
                    if index >= len(func_types):
                        raise WasmFormatError(f"export {name!r} names function {index}, "
                                              "which does not exist")
                    functype = func_types[index]
                exports.append(Extern(name, _KINDS[kind], functype))
    imported_globals = sum(1 for imp in imports if imp.kind == "global")
    stack_pointer = _global_named("__stack_pointer", customs)
    if stack_pointer is not None and stack_pointer < imported_globals:
        stack_pointer = None       # imported (shared-everything linking): not ours to reset
    return ModuleInfo(tuple(imports), tuple(exports), tuple(customs), stack_pointer)


def _global_named(wanted: str, customs: list[tuple[str, bytes]]) -> int | None:
    """The index the ``name`` section gives a global called ``wanted`` (subsection 7)."""
    for section_name, payload in customs:
        if section_name != "name":
            continue
        r = _Reader(payload)
        try:
            while r.pos < r.end:
                subsection = r.byte()
                size = r.uleb()
                end = r.pos + size
                if subsection == 7:
                    for _ in range(r.uleb()):
                        index = r.uleb()
                        if r.name() == wanted:
                            return index
                r.pos = end
        except WasmFormatError:
            return None   # a malformed name section only loses debugging comfort
    return None


def _sections(data: bytes | memoryview) -> Iterator[tuple[int, int, int, int]]:
    """(id, header start, payload start, payload end) of each section, in file order."""
    if bytes(data[:4]) != WASM_MAGIC:
        raise WasmFormatError("not a wasm binary (missing \\0asm magic)")
    if bytes(data[4:8]) != WASM_VERSION:
        raise WasmFormatError("unsupported wasm binary version (is it a component?)")
    r = _Reader(data, 8)
    while r.pos < r.end:
        header = r.pos
        section_id = r.byte()
        size = r.uleb()
        start = r.pos
        if start + size > r.end:
            raise WasmFormatError(f"section {section_id} runs past the end of the file")
        yield section_id, header, start, start + size
        r.pos = start + size


def _type_at(types: list[FuncType], index: int) -> FuncType:
    if index >= len(types):
        raise WasmFormatError(f"type index {index} out of range")
    return types[index]


def _functype(r: _Reader) -> FuncType:
    form = r.byte()
    if form != 0x60:
        raise WasmFormatError(f"type form {form:#x} (GC proposal types) is not supported")
    params = tuple(r.valtype() for _ in range(r.uleb()))
    results = tuple(r.valtype() for _ in range(r.uleb()))
    return FuncType(params, results)


def _import(r: _Reader, types: list[FuncType]) -> Extern:
    module = r.name()
    name = r.name()
    kind = r.byte()
    if kind == 0:
        return Extern(name, "func", _type_at(types, r.uleb()), module)
    if kind == 1:
        r.valtype()
        r.limits()
    elif kind == 2:
        r.limits()
    elif kind == 3:
        r.valtype()
        r.byte()
    elif kind == 4:
        r.byte()
        r.uleb()
    else:
        raise WasmFormatError(f"import {module}.{name} has unknown kind {kind}")
    return Extern(name, _KINDS[kind], None, module)


def with_export(data: bytes, name: str, kind: str, index: int) -> tuple[bytes, int]:
    """``data`` with one more entry in its export section (which must exist), and the offset
    in the result where that section ends: what follows lies that many bytes later than in
    ``data`` (``len(result) - len(data)``)."""
    out = bytearray(data[:8])
    boundary = 0
    for section_id, header, start, end in _sections(data):
        if section_id != 7:
            out += data[header:end]
            continue
        r = _Reader(data, start, end)
        count = r.uleb()
        encoded = name.encode("utf-8")
        body = (_uleb(count + 1) + bytes(data[r.pos:end]) + _uleb(len(encoded)) + encoded
                + bytes([_KINDS.index(kind)]) + _uleb(index))
        out += b"\x07" + _uleb(len(body)) + body
        boundary = len(out)
    return bytes(out), boundary


def with_custom_section(data: bytes, name: str, payload: bytes) -> bytes:
    """``data`` with every custom section called ``name`` replaced by one holding ``payload``.

    The new section goes at the end (custom sections may appear anywhere).
    """
    kept = bytearray(data[:8])
    for section_id, header, start, end in _sections(data):
        if section_id != 0 or _Reader(data, start, end).name() != name:
            kept += data[header:end]
    return bytes(kept) + custom_section(name, payload)


def custom_section(name: str, payload: bytes) -> bytes:
    """Encode one custom section (id 0) holding ``payload``."""
    encoded_name = name.encode("utf-8")
    body = _uleb(len(encoded_name)) + encoded_name + payload
    return b"\0" + _uleb(len(body)) + body


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
