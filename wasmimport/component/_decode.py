"""Read a component binary: its exports, their WIT types, and how each exported function
is made (a ``canon lift`` of which core function, with which options).

Only what an import needs is evaluated: index spaces are filled section by section, nested
components are evaluated when they are instantiated (wit-component wraps every exported
interface in one), and core modules are kept as byte ranges.
"""

from __future__ import annotations

from typing import Any

from .._wasmbin import WASM_MAGIC, WasmFormatError, _Reader
from ._wit import (
    PRIMITIVES,
    FuncType,
    Labels,
    Primitive,
    Record,
    Resource,
    Result,
    Tuple,
    Unsupported,
    Variant,
    WitType,
    Wrapper,
)

COMPONENT_VERSION = b"\x0d\x00\x01\x00"   # version 0xd, layer 1


def is_component(data: bytes | memoryview) -> bool:
    """True when ``data`` is a component binary (the header's layer field is 1)."""
    return bytes(data[:4]) == WASM_MAGIC and bytes(data[6:8]) == b"\x01\x00"


class Lift:
    """A function made by ``canon lift``: the core function and the ABI options."""

    __slots__ = ("core", "options", "type")

    def __init__(self, core: Any, options: dict[str, Any], type: FuncType):
        self.core, self.options, self.type = core, options, type


class Imported:
    """Something the component imports (a function, an instance, a type)."""

    __slots__ = ("name", "kind", "type")

    def __init__(self, name: str, kind: str, type: Any):
        self.name, self.kind, self.type = name, kind, type


class CoreExport:
    """``alias core export``: item ``name`` of a core instance."""

    __slots__ = ("instance", "name")

    def __init__(self, instance: Any, name: str):
        self.instance, self.name = instance, name


class CoreInstance:
    """A core instance: ``module`` instantiated with ``args``, or inline ``exports``."""

    __slots__ = ("module", "args", "exports")

    def __init__(self, module: tuple[int, int] | None, args: dict[str, Any],
                 exports: dict[str, Any]):
        self.module, self.args, self.exports = module, args, exports


class Builtin:
    """A core function the component provides itself (``canon lower``, ``resource.new``...)."""

    __slots__ = ("what", "target", "options")

    def __init__(self, what: str, target: Any, options: dict[str, Any] | None = None):
        self.what, self.target, self.options = what, target, options or {}


class Export:
    """One export of a component or instance: its name, kind, item and (for a function)
    its type as the exporter declares it."""

    __slots__ = ("name", "kind", "item", "type")

    def __init__(self, name: str, kind: str, item: Any, type: Any):
        self.name, self.kind, self.item, self.type = name, kind, item, type


class Component:
    """What a component binary is made of, evaluated: its exports, imports, core modules
    (byte ranges into the binary), core instances and custom sections."""

    def __init__(self) -> None:
        self.exports: list[Export] = []
        self.imports: list[Imported] = []
        self.modules: list[tuple[int, int]] = []
        self.core_instances: list[CoreInstance] = []
        self.custom: dict[str, bytes] = {}
        self.types: list[tuple[str, Any]] = []     # the world's own types (type imports)


_SORTS = {0x01: "func", 0x02: "value", 0x03: "type", 0x04: "component", 0x05: "instance"}
_CORE_SORTS = {0x00: "core func", 0x01: "core table", 0x02: "core memory",
               0x03: "core global", 0x10: "core type", 0x11: "core module",
               0x12: "core instance"}


class _Scope:
    """The index spaces of one component (or one component/instance type)."""

    def __init__(self, parent: _Scope | None, data: bytes | memoryview):
        self.parent = parent
        self.data = data
        self.spaces: dict[str, list[Any]] = {k: [] for k in (*_SORTS.values(),
                                                            *_CORE_SORTS.values())}
        self.result = Component()

    def get(self, sort: str, index: int) -> Any:
        space = self.spaces[sort]
        if index >= len(space):
            raise WasmFormatError(f"{sort} index {index} out of range")
        return space[index]

    def outer(self, count: int) -> _Scope:
        scope: _Scope = self
        for _ in range(count):
            if scope.parent is None:
                raise WasmFormatError("outer alias past the outermost component")
            scope = scope.parent
        return scope


def decode(data: bytes | memoryview) -> Component:
    """Evaluate the component in ``data``; raise WasmFormatError if it is malformed."""
    if bytes(data[:8]) != WASM_MAGIC + COMPONENT_VERSION:
        raise WasmFormatError("not a component binary of a known version")
    scope = _Scope(None, data)
    _body(scope, _Reader(data, 8), {})
    return scope.result


def _body(scope: _Scope, r: _Reader, args: dict[str, Any]) -> None:
    """Read the sections of a component body from ``r`` into ``scope``."""
    while r.pos < r.end:
        section = r.byte()
        size = r.uleb()
        end = r.pos + size
        if end > r.end:
            raise WasmFormatError(f"section {section} runs past the end of the component")
        s = _Reader(r.data, r.pos, end)
        if section == 0:
            name = s.name()
            scope.result.custom[name] = bytes(r.data[s.pos:end])
        elif section == 1:
            scope.spaces["core module"].append((r.pos, end))
            scope.result.modules.append((r.pos, end))
        elif section == 2:
            for _ in range(s.uleb()):
                _core_instance(scope, s)
        elif section == 3:
            for _ in range(s.uleb()):
                _skip_core_type(s)
                scope.spaces["core type"].append(None)
        elif section == 4:
            scope.spaces["component"].append((scope, r.pos, end))
        elif section == 5:
            for _ in range(s.uleb()):
                scope.spaces["instance"].append(_instance(scope, s))
        elif section == 6:
            for _ in range(s.uleb()):
                _alias(scope, s)
        elif section == 7:
            for _ in range(s.uleb()):
                scope.spaces["type"].append(_deftype(scope, s))
        elif section == 8:
            for _ in range(s.uleb()):
                _canon(scope, s)
        elif section == 10:
            for _ in range(s.uleb()):
                name = _extern_name(s)
                sort, desc = _externdesc(scope, s)
                item = args.get(name)
                if item is None and sort == "type":
                    item = desc      # its bound: (eq T), or an abstract resource; a world's
                    if isinstance(item, WitType) and item.name is None:   # own types
                        item.name = name                                  # are imports
                    scope.result.types.append((name, item))
                elif item is None:
                    item = Imported(name, sort, desc)
                    scope.result.imports.append(item)
                scope.spaces[sort].append(item)
        elif section == 11:
            for _ in range(s.uleb()):
                name = _extern_name(s)
                sort, index = _sortidx(s)
                item = scope.get(sort, index)
                declared = _externdesc(scope, s)[1] if s.byte() == 0x01 else None
                if sort == "type" and isinstance(item, WitType) and item.name is None:
                    item.name = name
                if sort == "func":
                    declared = declared or _func_type(item)
                scope.result.exports.append(Export(name, sort, item, declared))
                scope.spaces[sort].append(item)   # an export adds to its index space
        else:   # 9 start, 12 value: not in any component a WIT world describes
            raise WasmFormatError(f"component section {section} is not supported")
        r.pos = end


def _func_type(item: Any) -> FuncType | None:
    if isinstance(item, Lift):
        return item.type
    if isinstance(item, Imported) and isinstance(item.type, FuncType):
        return item.type
    return None


def _extern_name(r: _Reader) -> str:
    tag = r.byte()
    if tag not in (0x00, 0x01):
        raise WasmFormatError(f"unknown extern name encoding {tag:#x}")
    return r.name()


def _sort(r: _Reader) -> str:
    code = r.byte()
    if code == 0x00:
        core = r.byte()
        if core not in _CORE_SORTS:
            raise WasmFormatError(f"unknown core sort {core:#x}")
        return _CORE_SORTS[core]
    if code not in _SORTS:
        raise WasmFormatError(f"unknown sort {code:#x}")
    return _SORTS[code]


def _sortidx(r: _Reader) -> tuple[str, int]:
    sort = _sort(r)
    return sort, r.uleb()


def _core_instance(scope: _Scope, r: _Reader) -> None:
    tag = r.byte()
    if tag == 0x00:
        module = scope.get("core module", r.uleb())
        args = {}
        for _ in range(r.uleb()):
            name = r.name()
            if r.byte() != 0x12:
                raise WasmFormatError("core instantiate argument is not an instance")
            args[name] = scope.get("core instance", r.uleb())
        instance = CoreInstance(module, args, {})
    elif tag == 0x01:
        exports = {}
        for _ in range(r.uleb()):
            name = r.name()
            sort = _CORE_SORTS.get(r.byte())
            if sort is None:
                raise WasmFormatError("unknown core sort in an inline instance")
            exports[name] = scope.get(sort, r.uleb())
        instance = CoreInstance(None, {}, exports)
    else:
        raise WasmFormatError(f"unknown core instance form {tag:#x}")
    scope.spaces["core instance"].append(instance)
    scope.result.core_instances.append(instance)


def _instance(scope: _Scope, r: _Reader) -> dict[str, Export]:
    """A component instance: its exports by name."""
    tag = r.byte()
    if tag == 0x00:
        outer, start, end = scope.get("component", r.uleb())
        args = {}
        for _ in range(r.uleb()):
            name = r.name()
            sort, index = _sortidx(r)
            args[name] = scope.get(sort, index)
        if bytes(scope.data[start:start + 8]) != WASM_MAGIC + COMPONENT_VERSION:
            raise WasmFormatError("nested component of an unknown version")
        inner = _Scope(outer, scope.data)
        _body(inner, _Reader(scope.data, start + 8, end), args)
        return {e.name: e for e in inner.result.exports}
    if tag == 0x01:
        exports = {}
        for _ in range(r.uleb()):
            name = _extern_name(r)
            sort, index = _sortidx(r)
            item = scope.get(sort, index)
            exports[name] = Export(name, sort, item, _func_type(item) if sort == "func"
                                   else None)
        return exports
    raise WasmFormatError(f"unknown instance form {tag:#x}")


def _alias(scope: _Scope, r: _Reader) -> None:
    sort = _sort(r)
    target = r.byte()
    if target == 0x00:        # an export of a component instance
        instance = scope.get("instance", r.uleb())
        name = r.name()
        if isinstance(instance, Imported):
            exports = instance.type if isinstance(instance.type, dict) else {}
            export = exports.get(name)
            if export is None:
                raise WasmFormatError(f"imported instance {instance.name!r} has no export "
                                      f"{name!r}")
            item: Any = export.item if sort == "type" else Imported(
                f"{instance.name}#{name}", sort, export.type)
        else:
            export = instance.get(name)
            if export is None:
                raise WasmFormatError(f"instance has no export {name!r}")
            item = export.item
            if sort == "func" and export.type is not None and isinstance(item, Lift):
                item = Lift(item.core, item.options, export.type)
        scope.spaces[sort].append(item)
    elif target == 0x01:      # an export of a core instance
        scope.spaces[sort].append(CoreExport(scope.get("core instance", r.uleb()), r.name()))
    elif target == 0x02:      # outer
        count, index = r.uleb(), r.uleb()
        scope.spaces[sort].append(scope.outer(count).get(sort, index))
    else:
        raise WasmFormatError(f"unknown alias target {target:#x}")


def _canon(scope: _Scope, r: _Reader) -> None:
    tag = r.byte()
    if tag == 0x00:           # lift
        if r.byte() != 0x00:
            raise WasmFormatError("canon lift of a non-function")
        core = scope.get("core func", r.uleb())
        options = _canon_options(scope, r)
        functype = scope.get("type", r.uleb())
        if not isinstance(functype, FuncType):
            raise WasmFormatError("canon lift with a type that is not a function type")
        scope.spaces["func"].append(Lift(core, options, functype))
        return
    if tag == 0x01:           # lower
        if r.byte() != 0x00:
            raise WasmFormatError("canon lower of a non-function")
        func = scope.get("func", r.uleb())
        scope.spaces["core func"].append(Builtin("lower", func, _canon_options(scope, r)))
        return
    names = {0x02: "resource.new", 0x03: "resource.drop", 0x04: "resource.rep"}
    if tag in names:
        scope.spaces["core func"].append(Builtin(names[tag], scope.get("type", r.uleb())))
        return
    raise WasmFormatError(f"canonical built-in {tag:#x} is not supported (async?)")


def _canon_options(scope: _Scope, r: _Reader) -> dict[str, Any]:
    options: dict[str, Any] = {"string-encoding": "utf8"}
    for _ in range(r.uleb()):
        code = r.byte()
        if code in (0x00, 0x01, 0x02):
            options["string-encoding"] = ("utf8", "utf16", "latin1+utf16")[code]
        elif code == 0x03:
            options["memory"] = scope.get("core memory", r.uleb())
        elif code == 0x04:
            options["realloc"] = scope.get("core func", r.uleb())
        elif code == 0x05:
            options["post-return"] = scope.get("core func", r.uleb())
        elif code == 0x06:
            options["async"] = True
        elif code == 0x07:
            options["callback"] = scope.get("core func", r.uleb())
        else:
            raise WasmFormatError(f"unknown canonical option {code:#x}")
    return options


def _skip_core_type(r: _Reader) -> None:
    """Skip one core type definition (function or module type)."""
    form = r.byte()
    if form == 0x60:
        for _ in range(2):
            for _ in range(r.uleb()):
                r.valtype()
    elif form == 0x50:
        for _ in range(r.uleb()):
            kind = r.byte()
            if kind == 0x00:      # import: module name, name, importdesc
                r.name(), r.name()
                _skip_core_importdesc(r)
            elif kind == 0x01:
                _skip_core_type(r)
            elif kind == 0x02:    # outer alias
                r.byte(), r.byte(), r.uleb(), r.uleb()
            elif kind == 0x03:    # export: name, importdesc
                r.name()
                _skip_core_importdesc(r)
            else:
                raise WasmFormatError(f"unknown core module type declaration {kind:#x}")
    else:
        raise WasmFormatError(f"unknown core type form {form:#x}")


def _skip_core_importdesc(r: _Reader) -> None:
    kind = r.byte()
    if kind == 0x00:
        r.uleb()
    elif kind == 0x01:
        r.valtype()
        r.limits()
    elif kind == 0x02:
        r.limits()
    elif kind == 0x03:
        r.valtype()
        r.byte()
    elif kind == 0x04:
        r.byte()
        r.uleb()
    else:
        raise WasmFormatError(f"unknown core import kind {kind:#x}")


def _valtype(scope: _Scope, r: _Reader) -> WitType:
    code = r.data[r.pos] if r.pos < r.end else -1
    if code in PRIMITIVES:
        r.pos += 1
        return Primitive(PRIMITIVES[code])
    item = scope.get("type", _sleb33(r))
    if not isinstance(item, WitType):
        raise WasmFormatError(f"a value type refers to a type that is not a value type: {item!r}")
    return item


def _sleb33(r: _Reader) -> int:
    result = shift = 0
    while True:
        b = r.byte()
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    if b & 0x40:
        raise WasmFormatError("negative type index")
    return result


def _optional(scope: _Scope, r: _Reader) -> WitType | None:
    return _valtype(scope, r) if r.byte() == 0x01 else None


def _deftype(scope: _Scope, r: _Reader) -> Any:
    code = r.byte()
    if code in PRIMITIVES:
        return Primitive(PRIMITIVES[code])
    if code == 0x72:
        return Record(tuple((r.name(), _valtype(scope, r)) for _ in range(r.uleb())))
    if code == 0x71:
        cases = []
        for _ in range(r.uleb()):
            label = r.name()
            payload = _optional(scope, r)
            if r.byte() != 0x00:
                raise WasmFormatError("variant case refinement is not supported")
            cases.append((label, payload))
        return Variant(tuple(cases))
    if code == 0x70:
        return Wrapper("list", _valtype(scope, r))
    if code == 0x6F:
        return Tuple(tuple(_valtype(scope, r) for _ in range(r.uleb())))
    if code in (0x6E, 0x6D):
        return Labels("flags" if code == 0x6E else "enum",
                      tuple(r.name() for _ in range(r.uleb())))
    if code == 0x6B:
        return Wrapper("option", _valtype(scope, r))
    if code == 0x6A:
        return Result(_optional(scope, r), _optional(scope, r))
    if code in (0x69, 0x68):
        return Wrapper("own" if code == 0x69 else "borrow", scope.get("type", r.uleb()))
    if code == 0x67:
        _valtype(scope, r)
        r.uleb()
        return Unsupported("fixed-size list")
    if code in (0x66, 0x65):
        _optional(scope, r)
        return Unsupported("stream" if code == 0x66 else "future")
    if code == 0x63:
        _valtype(scope, r), _valtype(scope, r)
        return Unsupported("map")
    if code in (0x40, 0x43):
        params = tuple((r.name(), _valtype(scope, r)) for _ in range(r.uleb()))
        tag = r.byte()
        if tag == 0x00:
            result: WitType | None = _valtype(scope, r)
        elif tag == 0x01 and r.byte() == 0x00:
            result = None
        else:
            raise WasmFormatError("function type with named results is not supported")
        return FuncType(params, result)
    if code in (0x41, 0x42):          # component / instance type: its exports by name
        inner = _Scope(scope, scope.data)
        exports: dict[str, Export] = {}
        for _ in range(r.uleb()):
            kind = r.byte()
            if kind == 0x00:
                _skip_core_type(r)
                inner.spaces["core type"].append(None)
            elif kind == 0x01:
                inner.spaces["type"].append(_deftype(inner, r))
            elif kind == 0x02:
                _alias(inner, r)
            elif kind in (0x03, 0x04):
                name = _extern_name(r)
                sort, desc = _externdesc(inner, r)
                if sort == "type" and isinstance(desc, WitType) and desc.name is None:
                    desc.name = name
                inner.spaces[sort].append(desc)
                if kind == 0x04:
                    exports[name] = Export(name, sort, desc, desc)
            else:
                raise WasmFormatError(f"unknown type declaration {kind:#x}")
        return exports
    if code == 0x3F:                  # resource (rep i32) (dtor?)
        if r.byte() != 0x7F:
            raise WasmFormatError("resource representation is not i32")
        return Resource(scope.get("core func", r.uleb()) if r.byte() == 0x01 else None)
    raise WasmFormatError(f"unknown type form {code:#x}")


def _externdesc(scope: _Scope, r: _Reader) -> tuple[str, Any]:
    kind = r.byte()
    if kind == 0x00:
        r.byte()
        return "core module", scope.get("core type", r.uleb())
    if kind == 0x01:
        return "func", scope.get("type", r.uleb())
    if kind == 0x02:
        raise WasmFormatError("value imports and exports are not supported")
    if kind == 0x03:
        bound = r.byte()
        if bound == 0x00:
            return "type", scope.get("type", r.uleb())
        return "type", Resource()
    if kind == 0x04:
        return "component", scope.get("type", r.uleb())
    if kind == 0x05:
        return "instance", scope.get("type", r.uleb())
    raise WasmFormatError(f"unknown extern kind {kind:#x}")
