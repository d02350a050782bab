"""``[limits] memory`` by rewriting the module, for engines that give no hook on ``memory.grow``.

A JavaScript engine's WebAssembly cannot be told to refuse a memory's growth past a cap, nor
say that it did: so the js backend compiles a rewritten binary (``cap_memory``), in which

* each memory the module defines has the maximum ``min(its maximum, cap)``;
* every ``memory.grow`` on such a memory is a ``call`` to a function appended after the
  module's own functions: it returns -1 when the memory would end up larger than the cap,
  after noting the size asked for (in bytes) in a mutable i64 global appended after the
  module's own globals and exported as ``REFUSED_EXPORT``; else it is ``memory.grow``;
* every exported function is exported as an appended wrapper that sets that global to 0 and
  calls it, so the global tells what was refused during the call now ending (a call from a
  host function back into wasm starts afresh, as the extension's per-call serial does on
  wasmtime).

No existing index of a type, function or global moves; everything else is copied byte for
byte, custom sections included (the ``name`` section still names every function; DWARF
and source maps describe the original code's addresses).  Imported memories are not capped
(a module's imported memory belongs to whoever made it; wasmimport provides none).

Code moves, though: ``Instrumented.frame`` maps a frame of the rewritten binary to the
module as given (a call to the appended function is reported at its ``memory.grow``), and
frames in the appended functions are dropped (``None``).

Finding ``memory.grow`` takes a decoder of every instruction: the MVP, sign extension,
saturating conversions, bulk memory, reference types, typed function references, tail
calls, multi-value block types, multi-memory, memory64, SIMD and relaxed SIMD, threads,
wide arithmetic and both exception-handling encodings.  An opcode outside those (the GC
proposal's 0xFB prefix, which ``_wasmbin`` refuses anyway) raises ``WasmFormatError``.
"""

from __future__ import annotations

from bisect import bisect_right

from ._wasmbin import WasmFormatError, _Reader, _sections, _uleb

REFUSED_EXPORT = "__wasmimport_refused_bytes"
# bump when the binary cap_memory makes changes (it is in the compiled code's key)
VERSION = 1

# immediates of each one-byte opcode: "" none; "u" an unsigned LEB (an index); "uu" two;
# "s" a signed LEB (constants, heap types); "f4"/"f8" float bytes; "bt" a block type;
# "br_table", "memarg", "select", "try_table" as named
_OPS: dict[int, str] = {
    0x00: "", 0x01: "", 0x02: "bt", 0x03: "bt", 0x04: "bt", 0x05: "", 0x06: "bt",
    0x07: "u", 0x08: "u", 0x09: "u", 0x0A: "", 0x0B: "", 0x0C: "u", 0x0D: "u",
    0x0E: "br_table", 0x0F: "", 0x10: "u", 0x11: "uu", 0x12: "u", 0x13: "uu", 0x14: "u",
    0x15: "u", 0x18: "u", 0x19: "", 0x1A: "", 0x1B: "", 0x1C: "select", 0x1F: "try_table",
    0x20: "u", 0x21: "u", 0x22: "u", 0x23: "u", 0x24: "u", 0x25: "u", 0x26: "u",
    0x3F: "u", 0x40: "u", 0x41: "s", 0x42: "s", 0x43: "f4", 0x44: "f8",
    0xD0: "s", 0xD1: "", 0xD2: "u", 0xD3: "", 0xD4: "", 0xD5: "u", 0xD6: "u",
}
_OPS.update(dict.fromkeys(range(0x28, 0x3F), "memarg"))     # loads and stores
_OPS.update(dict.fromkeys(range(0x45, 0xC5), ""))          # numeric, sign extension

# 0xFC: saturating truncation, bulk memory, reference-type tables, wide arithmetic
_FC: dict[int, str] = {8: "uu", 9: "u", 10: "uu", 11: "u", 12: "uu", 13: "u", 14: "uu",
                       15: "u", 16: "u", 17: "u"}
_FC.update(dict.fromkeys((*range(0, 8), *range(19, 23)), ""))

# 0xFD: SIMD and relaxed SIMD (0x100-0x113)
_FD: dict[int, str] = dict.fromkeys(range(0x114), "")
_FD.update(dict.fromkeys((*range(0, 12), 92, 93), "memarg"))
_FD.update({12: "v128", 13: "v128"})
_FD.update(dict.fromkeys(range(21, 35), "lane"))
_FD.update(dict.fromkeys(range(84, 92), "memarg_lane"))

# 0xFE: threads (atomics); 3 is atomic.fence (a reserved zero byte)
_FE: dict[int, str] = {3: "lane"}
_FE.update(dict.fromkeys((*range(0, 3), *range(0x10, 0x4F)), "memarg"))

_PREFIXED = {0xFC: _FC, 0xFD: _FD, 0xFE: _FE}

# the canonical order of the known sections (13 is the tag section)
_ORDER = (1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11)


class Instrumented:
    """A module rewritten by ``cap_memory``.

    ``wasm`` is the binary to compile; ``too_large`` the initial size in bytes of a memory
    larger than the cap (the module cannot be instantiated so capped), else None;
    ``refused`` whether the binary exports ``REFUSED_EXPORT`` (it does when some function
    grows a capped memory); ``added`` the index of the first appended function.
    """

    __slots__ = ("wasm", "too_large", "refused", "added", "_new", "_old", "_collapse")

    def __init__(self, wasm: bytes, too_large: int | None, refused: bool, added: int,
                 moves: list[tuple[int, int, bool]]):
        self.wasm = wasm
        self.too_large = too_large
        self.refused = refused
        self.added = added
        self._new = [new for new, _, _ in moves]
        self._old = [old for _, old, _ in moves]
        self._collapse = [collapse for _, _, collapse in moves]

    def offset(self, offset: int) -> int:
        """The offset in the module as given of code at ``offset`` in ``wasm`` (within a
        call that replaced a ``memory.grow``: that instruction's)."""
        at = bisect_right(self._new, offset) - 1
        if at < 0:
            return offset
        if self._collapse[at]:
            return self._old[at]
        return self._old[at] + offset - self._new[at]

    def frame(self, index: int, offset: int) -> int | None:
        """The original offset of a frame in function ``index`` at ``offset`` of ``wasm``;
        None for a frame in an appended function (which the module as given lacks)."""
        if index >= self.added:
            return None
        return self.offset(offset)


def cap_memory(data: bytes, cap: int) -> Instrumented:
    """``data`` rewritten so that no memory it defines grows past ``cap`` bytes (rounded
    down to whole pages), and so that a refused growth can be told after the call.

    Raises WasmFormatError for a binary it cannot decode.
    """
    sections = list(_sections(data))
    payload = {sid: (start, end) for sid, _, start, end in sections if sid}
    types = _Reader(data, *payload[1]).uleb() if 1 in payload else 0
    func_types: list[int] = []       # the type index of each function, imports first
    imported_globals = 0
    imported_memories = 0
    if 2 in payload:
        r = _Reader(data, *payload[2])
        for _ in range(r.uleb()):
            r.name()
            r.name()
            kind = r.byte()
            if kind == 0:
                func_types.append(r.uleb())
            elif kind == 1:
                r.valtype()
                r.limits()
            elif kind == 2:
                r.limits()
                imported_memories += 1
            elif kind == 3:
                r.valtype()
                r.byte()
                imported_globals += 1
            elif kind == 4:
                r.byte()
                r.uleb()
            else:
                raise WasmFormatError(f"import of unknown kind {kind}")
    if 3 in payload:
        r = _Reader(data, *payload[3])
        func_types += [r.uleb() for _ in range(r.uleb())]
    defined_globals = _Reader(data, *payload[6]).uleb() if 6 in payload else 0

    # the memories: (index, 64-bit, page size log2, original maximum in pages)
    new: dict[int, bytes] = {}
    memories: dict[int, tuple[bool, int, int, int]] = {}
    too_large = None
    if 5 in payload:
        r = _Reader(data, *payload[5])
        out = bytearray()
        count = r.uleb()
        out += _uleb(count)
        for i in range(count):
            flags = r.byte()
            wide = bool(flags & 0x04)
            bits = 64 if wide else 32
            minimum = r.uleb(bits)
            maximum = r.uleb(bits) if flags & 0x01 else None
            page_log2 = r.uleb() if flags & 0x08 else 16
            limit = (1 << (bits - page_log2)) if maximum is None else maximum
            cap_pages = cap >> page_log2
            if minimum > cap_pages:
                too_large = too_large or minimum << page_log2
                cap_pages = minimum          # instantiation is refused (see too_large)
            memories[imported_memories + i] = (wide, cap_pages, limit, page_log2)
            out.append(flags | 0x01)
            out += _uleb(minimum) + _uleb(min(limit, cap_pages))
            if flags & 0x08:
                out += _uleb(page_log2)
        new[5] = bytes(out)

    # the code: every memory.grow on a capped memory becomes a call to its helper
    added = len(func_types)
    helpers: dict[int, int] = {}     # memory index -> helper's function index
    bodies: list[tuple[int, bytes, list[tuple[int, int, int]]]] = []
    if 10 in payload:
        r = _Reader(data, *payload[10])
        for _ in range(r.uleb()):
            size = r.uleb()
            start = r.pos
            grows = _grows(data, start, start + size, memories)
            for _, _, memory in grows:
                helpers.setdefault(memory, -1)
            bodies.append((start, data[start:start + size], grows))
            r.pos = start + size
    refused = bool(helpers)
    if not refused:          # nothing grows a capped memory: only the maxima change
        return Instrumented(_assemble(data, sections, new, {})[0], too_large, False,
                            added, [])
    for memory in sorted(helpers):
        helpers[memory] = len(func_types)
        func_types.append(-1)            # (its type is appended below)
    global_index = imported_globals + defined_globals

    # types: one per kind of helper, (i32) -> i32 or (i64) -> i64
    helper_type: dict[bool, int] = {}
    type_out = bytearray()
    for wide in sorted({memories[m][0] for m in helpers}):
        helper_type[wide] = types + len(helper_type)
        v = b"\x7e" if wide else b"\x7f"
        type_out += b"\x60\x01" + v + b"\x01" + v
    new[1] = _append(data, payload.get(1), len(helper_type), bytes(type_out))

    # exports: the refused global, and every exported function through its wrapper
    wrappers: dict[int, int] = {}
    export_out = bytearray()
    export_count = 0
    if 7 in payload:
        r = _Reader(data, *payload[7])
        export_count = r.uleb()
        for _ in range(export_count):
            entry = r.pos
            r.name()
            name_end = r.pos
            kind = r.byte()
            index = r.uleb()
            if kind == 0:
                if index not in wrappers:
                    wrappers[index] = len(func_types)
                    func_types.append(-2)
                export_out += data[entry:name_end] + b"\x00" + _uleb(wrappers[index])
            else:
                export_out += data[entry:r.pos]
    name = REFUSED_EXPORT.encode()
    export_out += _uleb(len(name)) + name + b"\x03" + _uleb(global_index)
    new[7] = _uleb(export_count + 1) + bytes(export_out)

    # functions: the helpers' and the wrappers' types
    appended = [helper_type[memories[m][0]] for m in sorted(helpers)]
    appended += [func_types[f] for f in wrappers]
    new[3] = _append(data, payload.get(3), len(appended),
                     b"".join(_uleb(t) for t in appended))

    # globals: the refused size, a mutable i64 starting at 0
    new[6] = _append(data, payload.get(6), 1, b"\x7e\x01\x42\x00\x0b")

    # code: the rewritten bodies, then the helpers and the wrappers
    code = bytearray(_uleb(len(bodies) + len(appended)))
    moves: list[tuple[int, int, bool]] = []     # (offset in payload, offset in data, collapse)
    for start, body, grows in bodies:
        rewritten = bytearray()
        at = 0
        spots = []
        for grow_start, grow_end, memory in grows:
            rewritten += body[at:grow_start - start]
            spots.append((len(rewritten), grow_start, grow_end))
            call = b"\x10" + _uleb(helpers[memory])
            rewritten += call
            spots.append((len(rewritten), grow_end, -1))
            at = grow_end - start
        rewritten += body[at:]
        code += _uleb(len(rewritten))
        base = len(code)
        moves.append((base, start, False))
        for rel, old, kind in spots:
            moves.append((base + rel, old, kind != -1))
        code += rewritten
    for memory in sorted(helpers):
        wide, cap_pages, limit, page_log2 = memories[memory]
        code += _sized(_helper(memory, wide, cap_pages, limit, page_log2, global_index))
    types_of = _functypes(data, payload)
    for function in wrappers:
        params = types_of[func_types[function]]
        wrapper = bytearray(b"\x00\x42\x00\x24" + _uleb(global_index))   # global = 0
        for i in range(params):
            wrapper += b"\x20" + _uleb(i)                            # local.get i
        wrapper += b"\x10" + _uleb(function) + b"\x0b"              # call; end
        code += _sized(bytes(wrapper))
    new[10] = bytes(code)
    wasm, moved = _assemble(data, sections, new, {10: moves})
    return Instrumented(wasm, too_large, True, added, moved)


def _helper(memory: int, wide: bool, cap_pages: int, limit: int, page_log2: int,
            global_index: int) -> bytes:
    """``memory.grow`` held to ``cap_pages``: (delta) -> old size, or -1 with the size asked
    for noted in the global, in bytes (when the memory's own maximum would have allowed
    it: otherwise memory.grow fails by itself)."""
    m = _uleb(memory)
    g = _uleb(global_index)
    size = b"\x3f" + m + (b"" if wide else b"\xad")          # memory.size (i64.extend_i32_u)
    delta = b"\x20\x00" + (b"" if wide else b"\xad")         # local.get 0 (extended)
    minus_one = b"\x42\x7f" if wide else b"\x41\x7f"
    # a 64-bit delta past the memory's own limit fails as memory.grow would (and then the
    # sum below cannot wrap); a 32-bit one extended to i64 cannot make it wrap
    past_limit = (b"\x20\x00\x42" + _sleb(limit) + b"\x56\x04\x40" + minus_one
                  + b"\x0f\x0b") if wide else b""
    return (b"\x01\x01\x7e"                                  # one local: i64 (the new size)
            + past_limit
            + size + delta + b"\x7c"                         # i64.add
            + b"\x21\x01"                                    # local.set 1
            + b"\x20\x01\x42" + _sleb(cap_pages) + b"\x56"     # new > cap (i64.gt_u)
            + b"\x04\x40"                                    # if
            + b"\x20\x01\x42" + _sleb(limit) + b"\x58"       # new <= limit (i64.le_u)
            + b"\x04\x40\x20\x01\x42" + _sleb(page_log2) + b"\x86"   # if: new << log2
            + b"\x24" + g + b"\x0b"                          # global.set; end
            + minus_one + b"\x0f\x0b"                        # return -1; end
            + b"\x20\x00\x40" + m + b"\x0b")                 # memory.grow; end


def _grows(data: bytes, start: int, end: int, memories: dict[int, tuple[bool, int, int, int]]
           ) -> list[tuple[int, int, int]]:
    """(start, end, memory) of each ``memory.grow`` on a capped memory in a function body."""
    r = _Reader(data, start, end)
    for _ in range(r.uleb()):          # local declarations: count and type
        r.uleb()
        r.valtype()
    found = []
    while r.pos < end:
        at = r.pos
        op = r.byte()
        if op == 0x40:
            memory = r.uleb()
            if memory in memories:
                found.append((at, r.pos, memory))
            continue
        table: dict[int, str] = _OPS
        if op in _PREFIXED:
            table = _PREFIXED[op]
            op = r.uleb()
        kind = table.get(op)
        if kind is None:
            raise WasmFormatError(f"unknown opcode {data[at]:#x}"
                                  + (f" {op}" if data[at] in _PREFIXED else "")
                                  + f" at offset {at:#x}")
        if kind:
            _immediates(r, kind)
    return found


def _immediates(r: _Reader, kind: str) -> None:
    """Skip an instruction's immediates of this kind (see ``_OPS``)."""
    if kind == "u":
        r.uleb()
    elif kind == "uu":
        r.uleb()
        r.uleb()
    elif kind == "s":
        _skip_leb(r)
    elif kind == "memarg":
        if r.uleb() & 0x40:        # the memory index follows (multi-memory)
            r.uleb()
        r.uleb(64)
    elif kind == "memarg_lane":
        _immediates(r, "memarg")
        r.byte()
    elif kind == "bt":
        code = r.byte()
        if code in (0x63, 0x64):
            _skip_leb(r)
        elif code & 0x80:          # a type index: a positive signed LEB
            _skip_leb(r)
        # else 0x40 (empty) or a one-byte value type
    elif kind == "br_table":
        for _ in range(r.uleb() + 1):
            r.uleb()
    elif kind == "select":
        for _ in range(r.uleb()):
            r.valtype()
    elif kind == "try_table":
        _immediates(r, "bt")
        for _ in range(r.uleb()):
            catch = r.byte()
            if catch in (0, 1):
                r.uleb()
            elif catch not in (2, 3):
                raise WasmFormatError(f"unknown catch kind {catch} at offset {r.pos - 1:#x}")
            r.uleb()
    elif kind == "f4":
        r.bytes(4)
    elif kind == "f8":
        r.bytes(8)
    elif kind == "v128":
        r.bytes(16)
    elif kind == "lane":
        r.byte()
    else:   # pragma: no cover - the tables name only the kinds above
        raise AssertionError(kind)


def _skip_leb(r: _Reader) -> None:
    while r.byte() & 0x80:
        pass


def _functypes(data: bytes, payload: dict[int, tuple[int, int]]) -> list[int]:
    """The number of parameters of each type in the type section."""
    if 1 not in payload:
        return []
    r = _Reader(data, *payload[1])
    counts = []
    for _ in range(r.uleb()):
        form = r.byte()
        if form != 0x60:
            raise WasmFormatError(f"type form {form:#x} (GC proposal types) is not supported")
        params = r.uleb()
        for _ in range(params):
            r.valtype()
        for _ in range(r.uleb()):
            r.valtype()
        counts.append(params)
    return counts


def _append(data: bytes, span: tuple[int, int] | None, count: int, entries: bytes) -> bytes:
    """A vector section's payload with ``count`` more ``entries`` at its end."""
    if span is None:
        return _uleb(count) + entries
    r = _Reader(data, *span)
    old = r.uleb()
    return _uleb(old + count) + data[r.pos:span[1]] + entries


def _sized(body: bytes) -> bytes:
    return _uleb(len(body)) + body


def _assemble(data: bytes, sections: list[tuple[int, int, int, int]], new: dict[int, bytes],
              tracked: dict[int, list[tuple[int, int, bool]]]
              ) -> tuple[bytes, list[tuple[int, int, bool]]]:
    """``data`` with the payloads of the sections in ``new`` replaced (or inserted in their
    place in the canonical order); for a section in ``tracked``, whose moves are given as
    offsets in its payload, also those moves as offsets in the result."""
    out = bytearray(data[:8])
    pending = sorted(new, key=_ORDER.index)
    present = {sid for sid, _, _, _ in sections}
    moves: list[tuple[int, int, bool]] = []

    def emit(sid: int) -> None:
        body = new[sid]
        out.append(sid)
        out.extend(_uleb(len(body)))
        base = len(out)
        moves.extend((base + rel, old, collapse) for rel, old, collapse in tracked.get(sid, ()))
        out.extend(body)

    for sid, header, _, end in sections:
        if sid:
            while pending and pending[0] not in present and \
                    _ORDER.index(pending[0]) < _ORDER.index(sid):
                emit(pending.pop(0))
        if sid in new:
            pending.remove(sid)
            emit(sid)
        else:
            out += data[header:end]
    for sid in pending:       # missing sections that come after all those present
        emit(sid)
    return bytes(out), moves


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)
