"""Guest code offsets to source locations, from the DWARF a module carries (clang ``-g``).

Only tracebacks use this, so nothing here runs at import or on a call: a ``SourceMap`` is made
the first time a trap or a host function's exception passes through a module's code, and each
compile unit's line table and functions are read the first time an offset falls in it.
pyelftools (the ``debug`` extra) parses the ``.debug_*`` custom sections, which wasm
toolchains fill exactly as for ELF except that addresses are offsets into the code section's
payload.
"""

from __future__ import annotations

import bisect
import io
import os
from typing import Any

from ._wasmbin import WasmFormatError, _Reader, _sections

Location = tuple[str, str, int]     # (function, source file, line): one frame of source

# pyelftools' DWARFInfo parameter for each section it reads
_SECTIONS = {
    ".debug_info": "debug_info_sec", ".debug_abbrev": "debug_abbrev_sec",
    ".debug_line": "debug_line_sec", ".debug_str": "debug_str_sec",
    ".debug_line_str": "debug_line_str_sec", ".debug_ranges": "debug_ranges_sec",
    ".debug_rnglists": "debug_rnglists_sec", ".debug_addr": "debug_addr_sec",
    ".debug_str_offsets": "debug_str_offsets_sec", ".debug_aranges": "debug_aranges_sec",
    ".debug_loc": "debug_loc_sec", ".debug_loclists": "debug_loclists_sec",
}
_CODE_SECTION = 10
_SCOPES = ("DW_TAG_lexical_block", "DW_TAG_inlined_subroutine")
_CONTAINERS = ("DW_TAG_namespace", "DW_TAG_class_type", "DW_TAG_structure_type")


def debug_sections(wasm: bytes) -> tuple[int | None, dict[str, bytes]]:
    """(start of the code section's payload, the ``.debug_*`` custom sections by name)."""
    code = None
    found: dict[str, bytes] = {}
    try:
        for section_id, _header, start, end in _sections(wasm):
            if section_id == _CODE_SECTION:
                code = start
            elif section_id == 0:
                r = _Reader(wasm, start, end)
                name = r.name()
                if name.startswith(".debug_"):
                    found[name] = bytes(wasm[r.pos:end])
    except WasmFormatError:
        pass      # a module that loaded is well formed; a damaged copy only loses its lines
    return code, found


class SourceMap:
    """One module's DWARF: ``locate(offset)`` gives the source frames of a code offset."""

    def __init__(self, wasm: bytes):
        self.code_start, sections = debug_sections(wasm)
        self.has_dwarf = ".debug_info" in sections and ".debug_line" in sections
        self._info: Any = _dwarf_info(sections) if self.has_dwarf else None
        self._units: list[tuple[int, int, Any]] | None = None   # (low, high, CU), by low
        # per compile unit: its row starts, (end, file index, line) rows, and file table
        self._lines: dict[int, tuple[list[int], list[tuple[int, int, int]], list[str]]] = {}
        self._found: dict[int, list[Location]] = {}

    def locate(self, offset: int) -> list[Location]:
        """The source frames at module offset ``offset``, innermost first (an inlined call
        is a frame of its own); [] where the DWARF says nothing."""
        if self._info is None or self.code_start is None or offset < self.code_start:
            return []
        found = self._found.get(offset)
        if found is None:
            found = self._found[offset] = self._locate(offset - self.code_start)
        return found

    def _locate(self, address: int) -> list[Location]:
        unit = self._unit_at(address)
        if unit is None:
            return []
        chain = _scopes_at(unit, address)
        if not chain:
            return []
        files, (row_file, row_line) = self._files_and_row(unit, address)

        def file_of(index: int | None) -> str:
            return files[index] if index is not None and 0 <= index < len(files) else "<unknown>"

        frames: list[Location] = []
        file, line = file_of(row_file), row_line
        for scope in reversed(chain):           # innermost scope first
            if line == 0:                        # code the compiler gave no line
                line = _attribute(_origin(scope), "DW_AT_decl_line", 0)
            frames.append((_name(scope), file, line))
            file = file_of(_attribute(scope, "DW_AT_call_file", None))
            line = _attribute(scope, "DW_AT_call_line", 0)
        return frames

    def _unit_at(self, address: int) -> Any:
        if self._units is None:
            units = []
            for cu in self._info.iter_CUs():
                for low, high in _ranges(self._info, cu, cu.get_top_DIE()):
                    units.append((low, high, cu))
            units.sort(key=lambda u: u[0])
            self._units = units
        at = bisect.bisect_right([u[0] for u in self._units], address) - 1
        while at >= 0:
            low, high, cu = self._units[at]
            if low <= address < high:
                return cu
            at -= 1
        return None

    def _files_and_row(self, cu: Any, address: int) -> tuple[list[str], tuple[int | None, int]]:
        """The unit's file table (paths made absolute) and its line-table row at ``address``."""
        key = cu.cu_offset
        if key not in self._lines:
            self._lines[key] = (*_line_table(self._info, cu), _files(self._info, cu))
        starts, rows, files = self._lines[key]
        at = bisect.bisect_right(starts, address) - 1
        if at < 0 or address >= rows[at][0]:
            return files, (None, 0)
        _end, file, line = rows[at]
        return files, (file, line)


def _dwarf_info(sections: dict[str, bytes]) -> Any:
    from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DwarfConfig, DWARFInfo
    arguments: dict[str, Any] = {keyword: None for keyword in _SECTIONS.values()}
    arguments.update(debug_frame_sec=None, eh_frame_sec=None, debug_pubtypes_sec=None,
                     debug_pubnames_sec=None, debug_sup_sec=None, gnu_debugaltlink_sec=None,
                     debug_types_sec=None)
    for name, payload in sections.items():
        if name in _SECTIONS:
            arguments[_SECTIONS[name]] = DebugSectionDescriptor(
                io.BytesIO(payload), name, None, len(payload), 0)
    config = DwarfConfig(little_endian=True, machine_arch="wasm32", default_address_size=4)
    return DWARFInfo(config=config, **arguments)


def _attribute(die: Any, name: str, default: Any) -> Any:
    attribute = die.attributes.get(name)
    return default if attribute is None else attribute.value


def _ranges(info: Any, cu: Any, die: Any) -> list[tuple[int, int]]:
    """The [low, high) address ranges ``die`` covers."""
    attributes = die.attributes
    if "DW_AT_ranges" in attributes:
        base = _attribute(cu.get_top_DIE(), "DW_AT_low_pc", 0)
        out = []
        for entry in info.range_lists().get_range_list_at_offset(
                attributes["DW_AT_ranges"].value, cu=cu):
            if hasattr(entry, "base_address"):
                base = entry.base_address
            elif entry.is_absolute:
                out.append((entry.begin_offset, entry.end_offset))
            else:
                out.append((base + entry.begin_offset, base + entry.end_offset))
        return out
    if "DW_AT_low_pc" in attributes and "DW_AT_high_pc" in attributes:
        low = attributes["DW_AT_low_pc"].value
        high = attributes["DW_AT_high_pc"]
        end = high.value if high.form == "DW_FORM_addr" else low + high.value
        return [(low, end)]
    return []


def _covers(info: Any, cu: Any, die: Any, address: int) -> bool:
    return any(low <= address < high for low, high in _ranges(info, cu, die))


def _scopes_at(cu: Any, address: int) -> list[Any]:
    """The function holding ``address`` and the inlined calls within it, outermost first."""
    info = cu.dwarfinfo
    chain: list[Any] = []
    level = list(cu.get_top_DIE().iter_children())
    while level:
        die = level.pop(0)
        tag = die.tag
        if tag in _CONTAINERS and not chain:
            level.extend(die.iter_children())
        elif tag == "DW_TAG_subprogram" and not chain and _covers(info, cu, die, address):
            chain.append(die)
            level = list(die.iter_children())
        elif chain and tag in _SCOPES and _covers(info, cu, die, address):
            if tag == "DW_TAG_inlined_subroutine":
                chain.append(die)
            level = list(die.iter_children())
    return chain


def _origin(die: Any) -> Any:
    """The DIE that names a function: through the abstract origin (an inlined or
    out-of-line copy) and the declaration it specifies."""
    for _ in range(8):
        if "DW_AT_name" in die.attributes:
            break
        for link in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if link in die.attributes:
                die = die.get_DIE_from_attribute(link)
                break
        else:
            break
    return die


def _name(die: Any) -> str:
    name = _origin(die).attributes.get("DW_AT_name")
    return "<unnamed>" if name is None else _text(name.value)


def _line_table(info: Any, cu: Any) -> tuple[list[int], list[tuple[int, int, int]]]:
    """The unit's line table as sorted row starts and (end, file index, line) per row."""
    program = info.line_program_for_CU(cu)
    spans: list[tuple[int, int, int, int]] = []
    previous = None
    for entry in program.get_entries() if program is not None else ():
        state = entry.state
        if state is None:
            continue
        if previous is not None and state.address > previous.address:
            spans.append((previous.address, state.address, previous.file, previous.line))
        previous = None if state.end_sequence else state
    spans.sort()
    return [s[0] for s in spans], [(s[1], s[2], s[3]) for s in spans]


def _files(info: Any, cu: Any) -> list[str]:
    """The unit's file table indexed as its line program and DW_AT_call_file index it."""
    program = info.line_program_for_CU(cu)
    if program is None:
        return []
    top = cu.get_top_DIE()
    comp_dir = _text(_attribute(top, "DW_AT_comp_dir", b""))
    header = program.header
    directories = [_text(d) for d in header.include_directory]
    version = header.version
    files = [] if version >= 5 else ["<unknown>"]     # DWARF 4 counts files from 1
    for entry in header.file_entry:
        index = entry.dir_index
        if version < 5:
            folder = comp_dir if index == 0 else directories[index - 1]
        else:
            folder = directories[index] if index < len(directories) else comp_dir
        path = os.path.join(comp_dir, folder, _text(entry.name))
        files.append(os.path.normpath(path))
    return files


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
