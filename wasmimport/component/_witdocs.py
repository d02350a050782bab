"""A WIT package's doc comments, in a component's custom section.

A component's types say nothing of its ``///`` comments.  wit-component keeps them in a
``package-docs`` custom section (a version byte, 0, then JSON: the package's docs, and per
world and per interface the docs of it, its functions and its types with their fields or
cases), but only for the package being encoded: a runnable component decodes as a world
``root`` of a package ``root:component``, whose ``package-docs`` cannot name the interfaces
it exports from its own package (wasm-tools then refuses to decode it).  jco 1.35's
``embed`` drops the docs altogether.  So ``build --wit`` reads them from the WIT source
(``extract``) and appends them in the same JSON, keyed by the source's names, as a section
of wasmimport's own name (``section``), which other tools skip; the import reads that
section, else a ``package-docs`` one (``PackageDocs``), for docstrings.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any

from .._wasmbin import custom_section
from ._wit import camel

SECTION_NAME = "wasmimport-wit-docs"
STANDARD_NAME = "package-docs"
_VERSION = 0

_TYPE_DEF = re.compile(r"(record|variant|enum|flags|resource|type)\s+%?([a-z][\w-]*)")
_WORLD_FUNC = re.compile(r"(?:export|import)\s+%?([a-z][\w-]*)\s*:\s*(?:async\s+)?func\b")
_WORLD_INTERFACE = re.compile(r"(?:export|import)\s+%?([a-z][\w-]*)\s*:\s*interface\b")
_FUNC = re.compile(r"%?([a-z][\w-]*)\s*:\s*(static\s+)?(?:async\s+)?func\b")
_SCOPE = re.compile(r"(world|interface)\s+%?([a-z][\w-]*)")
_ITEM = re.compile(r"%?([a-z][\w-]*)")


def _put(table: dict[str, Any], key: str, value: Any) -> None:
    if value:
        table[key] = value


class _Scope:
    """A ``{ ... }`` being read: a world, an interface, a type's body or a resource's."""

    def __init__(self, kind: str, name: str, docs: dict[str, Any], parent: _Scope | None):
        self.kind, self.name, self.docs, self.parent = kind, name, docs, parent

    def interface(self) -> _Scope | None:
        """The world or interface this scope is in (itself, if it is one)."""
        scope: _Scope | None = self
        while scope is not None and scope.kind not in ("world", "interface"):
            scope = scope.parent
        return scope


def extract(text: str) -> dict[str, Any]:
    """The package-docs of one WIT source text (a file's, or a folder's files joined)."""
    package: dict[str, Any] = {}
    stack: list[_Scope] = []
    pending: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("///"):
            text_line = line[3:]
            pending.append(text_line[1:] if text_line.startswith(" ") else text_line)
            continue
        line = line.split("//", 1)[0].strip()
        if not line:
            continue
        doc = "\n".join(pending)
        pending = []
        opened = _item(line, doc, package, stack[-1] if stack else None)
        depth = line.count("{") - line.count("}")
        if depth > 0:
            stack.append(opened or _Scope("block", "", {}, stack[-1] if stack else None))
        for _ in range(-depth):
            if stack:
                stack.pop()
    return _pruned(package)


def _item(line: str, doc: str, package: dict[str, Any], scope: _Scope | None
          ) -> _Scope | None:
    """Note ``doc`` for the item ``line`` begins; the scope it opens, if it opens one."""
    if scope is None:
        if line.startswith("package "):
            _put(package, "docs", doc)
            return None
        match = _SCOPE.match(line)
        if match is None:
            return None
        kind, name = match.groups()
        table = package.setdefault(f"{kind}s", {}).setdefault(name, {})
        _put(table, "docs", doc)
        return _Scope(kind, name, table, None)
    if scope.kind in ("record", "variant", "enum", "flags"):
        match = _ITEM.match(line)
        if match is not None and doc:
            scope.docs.setdefault("items", {})[match.group(1)] = doc
        return None
    home = scope.interface()
    if home is None:
        return None
    if scope.kind == "resource":
        name = None
        if line.startswith("constructor"):
            name = f"[constructor]{scope.name}"
        elif (match := _FUNC.match(line)) is not None:
            static = "static" if match.group(2) else "method"
            name = f"[{static}]{scope.name}.{match.group(1)}"
        if name is not None and doc:
            home.docs.setdefault("funcs", {})[name] = doc
        return None
    if home.kind == "world":
        if (match := _WORLD_INTERFACE.match(line)) is not None:
            table = home.docs.setdefault("interfaces", {}).setdefault(match.group(1), {})
            _put(table, "docs", doc)
            return _Scope("interface", match.group(1), table, scope)
        match = _WORLD_FUNC.match(line)
    else:
        match = _FUNC.match(line)
    if match is not None:
        if doc:
            home.docs.setdefault("funcs", {})[match.group(1)] = doc
        return None
    if (match := _TYPE_DEF.match(line)) is not None:
        kind, name = match.groups()
        table = home.docs.setdefault("types", {}).setdefault(name, {})
        _put(table, "docs", doc)
        return _Scope(kind, name, table, scope)
    return None


def _pruned(table: dict[str, Any]) -> dict[str, Any]:
    """``table`` without its empty tables (wit-component leaves them out)."""
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            value = _pruned(value)
        if value:
            out[key] = value
    return out


def read_wit(path: str) -> str:
    """The WIT source at ``path``: the file, or a folder's ``.wit`` files (not its deps)."""
    if not os.path.isdir(path):
        with open(path, encoding="utf-8") as f:
            return f.read()
    parts = []
    for name in sorted(os.listdir(path)):
        if name.endswith(".wit"):
            with open(os.path.join(path, name), encoding="utf-8") as f:
                parts.append(f.read())
    return "\n".join(parts)


def section(docs: dict[str, Any]) -> bytes:
    """``docs`` as a whole custom section to append to a component."""
    return custom_section(SECTION_NAME, bytes([_VERSION]) + json.dumps(
        docs, ensure_ascii=False, separators=(",", ":")).encode())


class PackageDocs:
    """The doc comments of a component's WIT, looked up by where its exports are; empty
    for a component without a (readable) package-docs section: docs are never a reason to
    refuse an import."""

    def __init__(self, contents: bytes | None):
        data: Any = {}
        if contents and contents[0] == _VERSION:
            try:
                data = json.loads(contents[1:])
            except ValueError:
                data = {}
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        worlds = self._tables(self.data, "worlds")
        # a component has one world, whatever name its decoder gives it
        self.world: dict[str, Any] = next(iter(worlds.values()), {})

    @staticmethod
    def _tables(table: Any, key: str) -> dict[str, Any]:
        value = table.get(key) if isinstance(table, dict) else None
        return {k: v for k, v in value.items() if isinstance(v, dict)} \
            if isinstance(value, dict) else {}

    def scope(self, interface: str | None) -> dict[str, Any]:
        """The docs of the world (None) or of an exported interface, by its WIT name
        (``demo:calc/shapes@0.1.0``, or a world's own ``shapes``)."""
        if interface is None:
            return self.world
        return (self._tables(self.world, "interfaces").get(interface)
                or self._tables(self.data, "interfaces").get(self._short(interface)) or {})

    @staticmethod
    def _short(interface: str) -> str:
        """``demo:calc/shapes@0.1.0`` -> ``shapes``, the package docs' key."""
        return interface.rpartition("/")[2].partition("@")[0]

    def module(self) -> str:
        """The module's docstring: the world's docs, else the package's."""
        return self._text(self.world.get("docs")) or self._text(self.data.get("docs"))

    def interface(self, interface: str) -> str:
        """The docs of an exported interface itself."""
        return self._text(self.scope(interface).get("docs"))

    def function(self, interface: str | None, name: str) -> str:
        """The doc comment of function ``name`` (``[method]counter.value`` for a method)."""
        funcs = self.scope(interface).get("funcs")
        return self._text(funcs.get(name)) if isinstance(funcs, dict) else ""

    def type(self, interface: str | None, matches: Any) -> str:
        """The docs of the type whose WIT name ``matches`` accepts, with its fields' or
        cases' docs as ``name: doc`` lines."""
        for name, table in self._tables(self.scope(interface), "types").items():
            if matches(name):
                text = self._text(table.get("docs"))
                items = table.get("items")
                if isinstance(items, dict) and items:
                    lines = "\n".join(f"{k}: {self._text(v)}" for k, v in items.items())
                    text = f"{text}\n\n{lines}" if text else lines
                return text
        return ""

    def annotate(self, cls: Any, interface: str | None, cls_name: str,
                 exported: Iterable[str] = ()) -> None:
        """Add the docs of the type that is the class ``cls_name`` to its docstring.  A
        class at the top is the world's type or an imported interface's (one the component
        does not export: ``exported``, by WIT name)."""
        def matches(wit_name: str) -> bool:
            return camel(wit_name) == cls_name
        doc = self.type(interface, matches)
        if not doc and interface is None:
            skip = {self._short(name) for name in exported}
            doc = next((found for short in self._tables(self.data, "interfaces")
                        if short not in skip and (found := self.type(short, matches))), "")
        if doc:
            cls.__doc__ = f"{cls.__doc__}\n\n{doc}" if cls.__doc__ else doc

    @staticmethod
    def _text(value: Any) -> str:
        return value.strip() if isinstance(value, str) else ""
