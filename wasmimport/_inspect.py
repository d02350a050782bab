"""Describe a wasm module file without instantiating it: for ``inspect`` and ``stub``.

Runs the same steps as an import (read, manifest lookup, validation, planning) but collects
every problem instead of stopping at the first, and never runs guest code.
"""

from __future__ import annotations

import os

from ._compound import CasesType, EnumType, FlagsType, RecordType
from ._errors import ManifestError, WasmImportError
from ._facts import prepare, read_manifest
from ._loader import SIDECAR_SUFFIX
from ._manifest import Manifest, parse_manifest
from ._module import COMPONENT_HEADER
from ._plan import ModulePlan, plan_module
from ._resource import HostResourceType, ResourceType
from .backends import BackendError, get_backend

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._wasmbin import ModuleInfo
    from .component import Arrangement
    from .component._decode import Component


class Description:
    """What ``describe`` found out about one file."""

    def __init__(self, path: str):
        self.path = path
        self.size = 0
        self.info: ModuleInfo | None = None
        self.manifest: Manifest | None = None
        self.manifest_from = "none"          # "sidecar <path>", "embedded" or "none"
        self.plan: ModulePlan | None = None
        self.problems: list[str] = []
        self.world: list[str] = []          # a component's WIT world, one line each
        self.layout: Arrangement | None = None  # and where its functions and types go
        self.runtime: str | None = None     # why it runs on wasmtime's component runtime
        self.component: Component | None = None   # and the component, decoded


def describe(path: str, backend_name: str | None = None) -> Description:
    """Read, validate and plan the module at ``path``; problems are collected, not raised."""
    found = Description(path)
    backend = get_backend(backend_name)
    sidecar = path + SIDECAR_SUFFIX
    has_sidecar = os.path.exists(sidecar)
    try:
        with open(path, "rb") as f:
            data = f.read()
        found.size = len(data)
        manifest: Manifest | None = None
        if data[4:8] == COMPONENT_HEADER:
            core = _component(data, path, sidecar if has_sidecar else None, found)
            if core is None:         # it runs on wasmtime's component runtime
                return found
            data, manifest = core
        wasm, found.info, _ = prepare(data, path, backend)
    except (OSError, WasmImportError) as exc:
        found.problems.append(str(exc))
        return found
    try:
        backend.validate(wasm)
    except BackendError as exc:
        found.problems.append(f"{path}: not a valid wasm module: {exc}")
    try:
        if manifest is not None:
            found.manifest = manifest
            found.manifest_from = "the component's WIT" + (
                f", with sidecar {sidecar}" if has_sidecar else "")
        elif has_sidecar:
            with open(sidecar, "rb") as f:
                found.manifest = parse_manifest(f.read(), sidecar)
            found.manifest_from = f"sidecar {sidecar}"
        else:
            found.manifest = read_manifest(found.info, path)
            found.manifest_from = "embedded" if found.manifest else "none"
        found.plan = plan_module(found.info, found.manifest, path)
    except ManifestError as exc:
        found.problems.extend(exc.problems or [str(exc)])
    # what nobody provides: the plan knows (WASI, resources' tables); else the manifest's list
    missing = set(found.plan.missing) if found.plan is not None else None
    declared = {(i.module, i.name) for i in found.manifest.imports} if found.manifest else set()
    for imp in found.info.imports:
        if (imp.module, imp.name) in declared if missing is None else \
                f"{imp.module}.{imp.name}: {imp.functype or imp.kind}" not in missing:
            continue
        found.problems.append(f"{path}: imports {imp.module}.{imp.name} "
                              f"({imp.functype or imp.kind}), which the manifest does not "
                              "provide")
    return found


def _component(data: bytes, path: str, sidecar: str | None, found: Description
               ) -> tuple[bytes, Manifest] | None:
    """The core module and manifest of the component ``data``, with its ``sidecar``
    manifest's [imports], [wasi] and [limits] as import reads them (None if it is not one
    core module: ``found.runtime`` then says why); its world in ``found``."""
    from .component import RuntimeNeeded, as_core, parse_component_manifest
    from .component._decode import decode
    from .component._world import world_text

    try:
        found.world = world_text(decode(data))
    except ValueError:
        pass               # as_core reports it
    given = None
    if sidecar is not None:
        with open(sidecar, "rb") as f:
            given = parse_component_manifest(f.read(), sidecar)
    try:
        core, manifest, found.layout = as_core(data, path, given)
    except RuntimeNeeded as needed:
        found.runtime, found.component = needed.reason, needed.component
        return None
    return core, manifest


def report(found: Description) -> str:
    """The text ``python -m wasmimport inspect`` prints."""
    lines = [f"{found.path}: {found.size} bytes"]
    if found.world:
        lines += ["a WebAssembly component; its WIT:", *(f"  {w}" for w in found.world),
                  f"it runs on wasmtime's component runtime ({found.runtime})"
                  if found.runtime else "it runs as its core module:"]
    info, plan = found.info, found.plan
    if info is not None:
        lines.append(f"manifest: {found.manifest_from}")
        if found.manifest and found.manifest.doc:
            lines.append(f"doc: {found.manifest.doc.splitlines()[0]}")
        lines.append(f"imports ({len(info.imports)}):")
        lines += [f"  {imp.kind:7} {imp.module}.{imp.name}  {imp.functype or ''}".rstrip()
                  for imp in info.imports]
        lines.append(f"exports ({len(info.exports)}):")
        width = max((len(e.name) for e in info.exports), default=0)
        lines += [f"  {e.kind:7} {e.name:{width}}  {e.functype or ''}".rstrip()
                  for e in info.exports]
    if plan is not None:
        names = sorted(plan.names(), key=lambda n: (n not in plan.public, n))
        # exports the manifest does not list and the ABI calls (allocator, post-returns...)
        abi = {name: role for name in names
               if name in plan.core_exports and (role := plan.abi_role(name)) is not None}
        lines.append("python functions:")
        for name in names:
            planned = plan.lookup(name)
            assert planned is not None
            if name in abi:
                continue
            where = "" if planned.export == name else f"  [export {planned.export!r}]"
            if planned.release_gil:
                where += "  [releases the GIL]"
            lines.append(f"  {name}{planned.signature.text}{where}")
        if abi:
            lines.append("abi (called by wasmimport, not in __all__):")
            width = max(len(name) for name in abi)
            lines += [f"  {name:{width}}  {plan.functypes[plan.core_exports[name]]}  {role}"
                      for name, role in sorted(abi.items())]
        if plan.memories:
            lines.append(f"memories: {', '.join(plan.memories)}")
        if plan.types.declared:
            lines.append("python types (the C layout: size / alignment in bytes):")
            lines += [f"  {_declared(t)}" for t in plan.types.declared.values()]
    if info is not None:
        lines.append(f"debug info: {debug_info(info)}")
    lines.append(f"problems ({len(found.problems)}):" if found.problems else "problems: none")
    lines += [f"  {problem}" for problem in found.problems]
    return "\n".join(lines)


def debug_info(info: ModuleInfo) -> str:
    """What a module's tracebacks can show, and what its debug sections cost in size."""
    dwarf = [(name, len(data)) for name, data in info.custom_sections
             if name.startswith(".debug_")]
    if any(name == ".debug_line" for name, _ in dwarf):
        size = sum(n for _, n in dwarf)
        return (f"DWARF, {size / 1024:.1f} KiB in {len(dwarf)} sections (tracebacks show "
                "source files and lines)")
    if info.custom("name"):
        return "names only (tracebacks show function names; build with -g for source lines)"
    return "none (tracebacks show wasm-function[N]; keep the name section, or build with -g)"


def _declared(t: RecordType | EnumType | FlagsType | CasesType | ResourceType |
              HostResourceType) -> str:
    """One [types] entry as a C author needs it: what it is and how it is laid out."""
    if isinstance(t, RecordType):
        fields = ", ".join(f"{f}: {ft.name} @{offset}"
                           for f, ft, offset in zip(t.fields, t.types, t.offsets))
        what = f"record ({fields})"
    elif isinstance(t, CasesType):
        cases = ", ".join(f"{label}: {case.name if case else None}"
                          for label, case in zip(t.labels, t.cases))
        what = f"variant ({cases}; payload @{t.payload_offset})"
    elif isinstance(t, HostResourceType):
        what = f"resource the host implements (imported from {t.builtins[0]})"
    elif isinstance(t, ResourceType):
        what = f"resource (a handle: drop export {t.drop_export!r})" if t.drop_export \
            else "resource (a handle, no drop export)"
    else:
        labels = t.labels if len(t.labels) <= 8 else \
            (*t.labels[:3], "...", t.labels[-1], f"{len(t.labels)} in all")
        what = f"{'enum' if isinstance(t, EnumType) else 'flags'} ({', '.join(labels)})"
    return f"{t.name}: {what}, {t.size} / {t.align}"
