"""A component's WIT world as text, for ``python -m wasmimport inspect``."""

from __future__ import annotations

from ._decode import Component, Export
from ._wit import FuncType, Resource, WitType


def world_text(component: Component) -> list[str]:
    """The component's imports and exports in WIT syntax, one line each."""
    lines = ["world {"]
    lines += [f"  {_typedef(name, t)}" for name, t in component.types if isinstance(t, WitType)]
    for imported in component.imports:
        lines += _item("import", imported.name, imported.kind, imported.type)
    for export in component.exports:
        item = export.item if export.kind == "instance" else export.type
        lines += _item("export", export.name, export.kind, item)
    lines.append("}")
    return lines


def _item(direction: str, name: str, kind: str, item: object) -> list[str]:
    if kind == "func" and isinstance(item, FuncType):
        return [f"  {direction} {name}: {item.wit()};"]
    if kind == "type" and isinstance(item, WitType):
        return [f"  {_typedef(name, item)}"]
    if kind == "instance" and isinstance(item, dict):
        lines = [f"  {direction} {name}: interface {{"]
        for export in item.values():
            lines += [f"  {line}" for line in _member(export)]
        return [*lines, "  }"]
    return [f"  {direction} {name}: {kind};"]


def _member(export: Export) -> list[str]:
    if export.kind == "func" and isinstance(export.type, FuncType):
        return [f"  {export.name}: {export.type.wit()};"]
    if export.kind == "type" and isinstance(export.item, WitType):
        return [f"  {_typedef(export.name, export.item)}"]
    return [f"  {export.name}: {export.kind};"]


def _typedef(name: str, t: WitType) -> str:
    if isinstance(t, Resource):
        return f"resource {name};"
    if t.kind in ("record", "variant", "enum", "flags"):
        return f"{t.kind} {name} {t.body().partition(' ')[2]}"
    return f"type {name} = {t.body()};"
