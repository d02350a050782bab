"""Run a component on the core-module path: its main core module with a manifest made from
its WIT.

A component that wit-component made from one core module (``wasm-tools component new``,
``jco new``, wit-bindgen guests) is that module plus types: every exported function is a
``canon lift`` of one of its exports, with UTF-8 strings, its memory and ``cabi_realloc``.
The Canonical ABI is the ABI wasmimport's core path already speaks, so such a component
runs as its core module with a manifest written from the WIT: the same call path, cache,
backends and limits as a hand-written module.  A component of any other shape is refused
here with the reason (see ``Unlowerable``).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

from .._wasmbin import read_module
from ._decode import Builtin, Component, CoreExport, CoreInstance, Export, Imported, Lift
from ._wit import (
    FuncType,
    Labels,
    Primitive,
    Record,
    Resource,
    Result,
    Tuple,
    Variant,
    WitType,
    Wrapper,
    camel,
    snake,
)
from ._witdocs import SECTION_NAME, STANDARD_NAME, PackageDocs

_SCALARS = {"bool": "bool", "s8": "i8", "u8": "u8", "s16": "i16", "u16": "u16",
            "s32": "i32", "u32": "u32", "s64": "i64", "u64": "u64", "f32": "f32",
            "f64": "f64", "string": "str", "char": "char"}


# the core module's WASI imports: wit-component serves them by the preview-1 adapter, which
# turns them into WASI 0.2 calls; the core path serves them itself, with the same grants
WASI_P1 = "wasi_snapshot_preview1"


class Unlowerable(Exception):
    """The component cannot run as its core module; the message says what stands in the
    way."""


def interface_attribute(name: str) -> str:
    """The module attribute of an exported interface: ``demo:calc/shapes@0.1.0`` -> ``shapes``."""
    return snake(name.rpartition("/")[2].partition("@")[0])


class Lowered:
    """The core module to run and the manifest table that describes it, plus where each
    function and type goes: (interface attribute or None, Python name)."""

    def __init__(self, core: bytes, table: dict[str, Any],
                 functions: dict[str, tuple[str | None, str]],
                 types: dict[str, tuple[str | None, str]], interfaces: dict[str, str],
                 imports: list[tuple[str, str, str, str, str]], wasi: bool,
                 docs: PackageDocs):
        self.core = core
        self.docs = docs               # the WIT's doc comments, for the types' docstrings
        # (core module, core name, WIT import, Python attribute, WIT type) of each import
        self.imports = imports
        self.wasi = wasi             # the core module imports WASI preview 1
        self.table = table
        self.functions = functions     # manifest name -> (interface, Python name)
        self.types = types             # manifest type name -> (interface, class name)
        self.interfaces = interfaces   # interface attribute -> WIT name


def exported_functions(component: Component
                       ) -> tuple[list[tuple[str | None, str, Export]], dict[str, str]]:
    """Each exported function as (interface attribute or None, WIT name, export), and the
    exported interfaces (attribute -> WIT name)."""
    lifts: list[tuple[str | None, str, Export]] = []
    interfaces: dict[str, str] = {}
    for export in component.exports:
        if export.kind == "func":
            lifts.append((None, export.name, export))
        elif export.kind == "instance":
            attribute = interface_attribute(export.name)
            if attribute in interfaces:
                raise Unlowerable(f"two exported interfaces are both called {attribute!r}")
            interfaces[attribute] = export.name
            lifts += [(attribute, e.name, e) for e in export.item.values() if e.kind == "func"]
        elif export.kind != "type":
            raise Unlowerable(f"it exports a {export.kind} ({export.name!r})")
    if not lifts:
        raise Unlowerable("it exports no functions")
    return lifts, interfaces


def learn_types(types: TypeNames, lifts: list[tuple[str | None, str, Export]]) -> None:
    """Let ``types`` know the named types the functions of ``lifts`` use."""
    for space, _, export in lifts:
        if isinstance(export.type, FuncType):
            for t in (t for _param, t in export.type.params):
                types.learn(t, space)
            types.learn(export.type.result, space)


def function_key(space: str | None, wit_name: str) -> str:
    """The manifest name of an exported function: ``shapes.norm``, or ``add`` at the top."""
    return f"{space}.{snake(wit_name)}" if space else snake(wit_name)


def function_doc(wit_name: str, functype: FuncType, docs: PackageDocs,
                 interface: str | None) -> str:
    """A function's docstring: its WIT signature, then its WIT doc comment if it has one."""
    doc = docs.function(interface, wit_name)
    return f"{wit_name}: {functype.wit()}" + (f"\n\n{doc}" if doc else "")


def place_types(module: ModuleType, classes: dict[str, Any],
                placed: dict[str, tuple[str | None, str]], interfaces: dict[str, str],
                docs: PackageDocs) -> set[str]:
    """Put each type class (``classes``, by manifest name) under its WIT name, at the top
    or in its interface (``placed``), with the WIT's docs, as are the interfaces; return
    the names put at the top."""
    namespace = module.__dict__
    for attribute, wit_name in interfaces.items():
        doc = docs.interface(wit_name)
        if doc:
            namespace[attribute].__doc__ = doc
    top = set()
    for key, (space, cls_name) in placed.items():
        cls = classes[key]
        docs.annotate(cls, interfaces.get(space) if space else None, cls_name,
                      interfaces.values())
        cls.__name__ = cls_name
        cls.__qualname__ = f"{space}.{cls_name}" if space else cls_name
        if space is None:
            namespace[cls_name] = cls
            top.add(cls_name)
        else:
            setattr(namespace[space], cls_name, cls)
        for case in cls.__subclasses__():         # a variant's cases: Shape.Circle
            case.__qualname__ = f"{cls.__qualname__}.{case.__name__}"
    return top


def docs_of(component: Component) -> PackageDocs:
    """The doc comments the component carries (see ``_witdocs``)."""
    return PackageDocs(component.custom.get(SECTION_NAME, component.custom.get(STANDARD_NAME)))


def lower(component: Component, data: bytes) -> Lowered:
    """The core module and manifest that run ``component``; Unlowerable if there are none."""
    lifts, interfaces = exported_functions(component)
    main = _main_instance(component, data, [e.item for _, _, e in lifts])
    docs = docs_of(component)
    filled = _filled(component, main)
    types = TypeNames(_resources(component, main, filled, interfaces))
    functions: dict[str, Any] = {}
    placed: dict[str, tuple[str | None, str]] = {}
    abi: dict[str, str] = {}
    learn_types(types, lifts)
    for space, wit_name, export in lifts:
        lift = export.item
        if not isinstance(lift, Lift):
            raise Unlowerable(f"{wit_name!r} is not a lifted core function")
        functype = export.type if isinstance(export.type, FuncType) else lift.type
        method = method_key(wit_name, space, types)
        key = method or function_key(space, wit_name)
        core = _core_export(lift.core, main, wit_name)
        _options(lift, main, wit_name, core, abi)
        functions[key] = {"signature": signature_text(functype, types, space), "export": core,
                          "doc": function_doc(wit_name, functype, docs,
                                              interfaces.get(space) if space else None)}
        if method is None:
            placed[key] = (space, snake(wit_name))
    imports: list[tuple[str, str, str, str, str]] = []
    table: dict[str, Any] = {"functions": functions, "types": types.table, "imports": {}}
    if docs.module():
        table["doc"] = docs.module()
    for module, name, builtin in _lowered_imports(main, filled):
        if builtin.what != "lower":
            continue        # a resource's handle table: the resource type serves it
        func = builtin.target
        if not isinstance(func, Imported) or not isinstance(func.type, FuncType):
            raise Unlowerable(f"core import {module}.{name} is not an imported function")
        _lower_options(builtin.options, main, func.name, abi)
        wit_name, _, member = func.name.rpartition("#")
        imports.append((module, name, wit_name or member, python_member(member),
                        func.type.wit()))
        table["imports"].setdefault(module, {})[name] = {
            "signature": signature_text(func.type, types, None), "python": "-:-"}
    start, end = main.module  # type: ignore[misc]
    if abi:
        table["abi"] = abi
    return Lowered(bytes(data[start:end]), table, placed, types.placed, interfaces, imports,
                   WASI_P1 in main.args, docs)


def _filled(component: Component, main: CoreInstance) -> dict[tuple[int, str], Any]:
    """What wit-component's fixup puts in its shims' tables: (shim instance, slot) -> item.

    wit-component lowers a function that needs the main module's memory through a shim:
    the main module imports a trampoline that calls through a table, and a fixup module
    fills the table with the real ``canon lower`` once the memory exists.  A resource's
    destructor reaches the main module's export the same way.
    """
    filled: dict[tuple[int, str], Any] = {}
    for instance in component.core_instances:
        if instance is main or instance.module is None:
            continue
        shims = [a for a in instance.args.values() if a is not main and a.module is not None]
        for actual in instance.args.values():
            if actual.module is None:
                for slot, item in actual.exports.items():
                    for shim in shims:
                        filled[id(shim), slot] = item
    return filled


def _lowered_imports(main: CoreInstance, filled: dict[tuple[int, str], Any]
                     ) -> list[tuple[str, str, Builtin]]:
    """(core module, core name, canon lower) of each import of the main core module (a
    shim's trampoline followed to its ``canon lower``), and the ``resource.new/rep/drop``
    built-ins of the resources it exports (from ``[export]<interface>``)."""
    found = []
    for module, arg in main.args.items():
        if module == WASI_P1:
            continue        # served by the core path's WASI; the adapter is not run
        if arg.module is not None:
            raise Unlowerable(f"its core module imports {module!r} from another core module")
        for name, item in arg.exports.items():
            if isinstance(item, CoreExport):
                item = filled.get((id(item.instance), item.name))
            if isinstance(item, Builtin) and item.what.startswith("resource."):
                if not module.startswith("[export]") and item.what != "resource.drop":
                    raise Unlowerable(f"core import {module}.{name} is a {item.what} of an "
                                      "imported resource")
            elif not isinstance(item, Builtin) or item.what != "lower":
                raise Unlowerable(f"core import {module}.{name} is not a lowered import")
            found.append((module, name, item))
    return found


def python_member(wit_name: str) -> str:
    """The Python attribute that serves an imported function: ``log`` -> ``log``, a
    resource's ``[constructor]tally`` -> ``Tally`` (the class), ``[method]tally.add`` and
    ``[static]tally.big`` -> ``Tally.add``, ``Tally.big``."""
    if not wit_name.startswith("["):
        return snake(wit_name)
    kind, _, rest = wit_name[1:].partition("]")
    resource, _, method = rest.partition(".")
    return camel(resource) if kind == "constructor" else f"{camel(resource)}.{snake(method)}"


def method_key(wit_name: str, space: str | None, types: TypeNames) -> str | None:
    """The manifest name of a resource's constructor, method or static function:
    ``[method]counter.value`` -> ``Counter.value``, ``[constructor]counter`` ->
    ``Counter.__init__``; None for a plain function."""
    if not wit_name.startswith("["):
        return None
    kind, _, rest = wit_name[1:].partition("]")
    resource, _, method = rest.partition(".")
    key = types.resource_key(space, resource)
    if space is not None:
        key = f"{space}.{key}"      # the label of its errors: mod.shapes.Counter.value()
    if kind == "constructor":
        return f"{key}.__init__"
    if kind not in ("method", "static"):
        raise Unlowerable(f"{wit_name!r} is an async or unknown kind of function")
    return f"{key}.{snake(method)}"


def _lower_options(options: dict[str, Any], main: CoreInstance, wit_name: str,
                   abi: dict[str, str]) -> None:
    if options.get("string-encoding") != "utf8" or options.get("async"):
        raise Unlowerable(f"import {wit_name!r} is async or does not use UTF-8")
    for key in ("memory", "realloc"):
        item = options.get(key)
        if item is not None:
            name = _core_export(item, main, wit_name)
            if abi.setdefault(key, name) != name:
                raise Unlowerable(f"its functions use different {key} exports")


def _main_instance(component: Component, data: bytes, lifts: list[Any]) -> CoreInstance:
    """The one core instance whose exports the component lifts; any other core module may
    only be wit-component's fixup, which calls ``_initialize`` (the core path runs it)."""
    mains = {id(lift.core.instance): lift.core.instance for lift in lifts
             if isinstance(lift, Lift) and isinstance(lift.core, CoreExport)}
    if len(mains) != 1:
        raise Unlowerable("its functions do not all come from one core module")
    main: CoreInstance = next(iter(mains.values()))
    if main.module is None:
        raise Unlowerable("its functions are not exports of a core module")
    adapters = _adapters(component, main)
    for instance in component.core_instances:
        if instance is not main and instance.module is not None and \
                instance not in adapters and not _plumbing(instance, main, data):
            raise Unlowerable("it instantiates more than one core module")
    return main


def _adapters(component: Component, main: CoreInstance) -> list[CoreInstance]:
    """The instances of the WASI preview-1 adapter that the main module's WASI imports
    reach, directly or through a shim's table that a fixup fills: they are not run."""
    wasi = main.args.get(WASI_P1)
    if wasi is None:
        return []
    reached = [item.instance for item in wasi.exports.values() if isinstance(item, CoreExport)]
    shims = {id(i) for i in reached}
    adapters = [i for i in reached if i.args]
    for instance in component.core_instances:
        if any(id(arg) in shims for arg in instance.args.values()):
            adapters += [item.instance for actual in instance.args.values()
                         if actual.module is None for item in actual.exports.values()
                         if isinstance(item, CoreExport) and item.instance is not main]
    return adapters


def _plumbing(instance: CoreInstance, main: CoreInstance, data: bytes) -> bool:
    """Whether ``instance`` is one of wit-component's helpers, which the core path does
    without: a shim (trampolines through its ``$imports`` table) or the fixup (fills the
    table, runs ``_initialize``)."""
    start, end = instance.module  # type: ignore[misc]
    info = read_module(data[start:end])
    if not instance.args:
        return all(e.name == "$imports" if e.kind == "table" else
                   e.kind == "func" and e.name.isdigit() for e in info.exports)
    for imp in info.imports:
        source = instance.args.get(imp.module)
        if source is main and imp.name != "_initialize" or source is None:
            return False
    return not info.exports


def _core_export(core: Any, main: CoreInstance, wit_name: str) -> str:
    if not isinstance(core, CoreExport) or core.instance is not main:
        raise Unlowerable(f"{wit_name!r} is not an export of the core module")
    return core.name


def _options(lift: Lift, main: CoreInstance, wit_name: str, core: str,
             abi: dict[str, str]) -> None:
    """Check that the lift's options are the ones the core path uses."""
    options = lift.options
    _lower_options(options, main, wit_name, abi)
    post = options.get("post-return")
    if post is not None and _core_export(post, main, wit_name) != f"cabi_post_{core}":
        raise Unlowerable(f"{wit_name!r}'s post-return is not cabi_post_{core}")


def _resources(component: Component, main: CoreInstance,
                        filled: dict[tuple[int, str], Any], interfaces: dict[str, str]
                        ) -> dict[int, tuple[str | None, str, dict[str, Any]]]:
    """The resources the component's interfaces define, by id: (interface attribute, WIT
    name, manifest ``resource`` table): an exported interface's with its destructor export
    and its handle table's built-ins; an imported interface's (the host implements them)
    with the module its core module imports their built-ins from."""
    found: dict[int, tuple[str | None, str, dict[str, Any]]] = {}
    for attribute, wit_interface, name, resource in exported_resources(component, interfaces):
        body: dict[str, Any] = {"builtins": {"module": f"[export]{wit_interface}",
                                             "name": name}}
        dtor = resource.dtor
        if isinstance(dtor, CoreExport) and dtor.instance is not main:
            dtor = filled.get((id(dtor.instance), dtor.name))
        if dtor is not None:
            body["drop"] = _core_export(dtor, main, f"{name}'s destructor")
        found[id(resource)] = (attribute, name, body)
    found.update(imported_resources(component))
    return found


def imported_resources(component: Component
                       ) -> Iterator[tuple[int, tuple[None, str, dict[str, Any]]]]:
    """The resources the host implements (the component's imported interfaces define
    them), as ``TypeNames`` takes them: id -> (no attribute, WIT name, ``resource`` table)."""
    for imported in component.imports:
        if imported.kind != "instance" or not isinstance(imported.type, dict):
            continue
        for e in imported.type.values():
            if e.kind == "type" and isinstance(e.item, Resource):
                yield id(e.item), (None, e.name, {"imported": {"module": imported.name,
                                                               "name": e.name}})


def exported_resources(component: Component, interfaces: dict[str, str]
                       ) -> Iterator[tuple[str, str, str, Resource]]:
    """The resources the component's exported interfaces define: (interface attribute,
    interface WIT name, resource WIT name, resource)."""
    for attribute, wit_interface in interfaces.items():
        export = next(e for e in component.exports if e.name == wit_interface)
        for e in export.item.values():
            if e.kind == "type" and isinstance(e.item, Resource):
                yield attribute, wit_interface, e.name, e.item


class TypeNames:
    """The manifest's ``[types]`` table for the WIT's named types; ``resources`` are the
    component's resources (see ``_resources``)."""

    def __init__(self, resources: dict[int, tuple[str | None, str, dict[str, Any]]]) -> None:
        self.resources = resources
        self.table: dict[str, Any] = {}
        self.placed: dict[str, tuple[str | None, str]] = {}
        self._names: dict[int, str] = {}
        self._shapes: dict[tuple[str | None, str], WitType] = {}

    def learn(self, t: WitType | None, attribute: str | None) -> None:
        """Note the named types inside ``t`` by their shape: wit-component passes an
        interface's types into its shim by structure, so a field's type may be an
        unnamed copy of a named one."""
        if t is None:
            return
        if t.name is not None:
            self._shapes.setdefault((attribute, t.body()), t)
        for inner in _children(t):
            self.learn(inner, attribute)

    def resource_key(self, attribute: str | None, wit_name: str) -> str:
        """The manifest name of the resource ``wit_name`` that ``attribute`` exports."""
        for rid, (space, name, _) in self.resources.items():
            if space == attribute and name == wit_name:
                known = self._names.get(rid)
                body = self.resources[rid][2]
                return known if known is not None else self._declare(
                    rid, camel(name), attribute, {"resource": body},
                    place="imported" not in body)   # the host's class is the user's
        raise Unlowerable(f"its interface {attribute!r} has no resource {wit_name!r}")

    def _declare(self, tid: int, cls: str, attribute: str | None, body: Any,
                 place: bool = True) -> str:
        """Put a named type into the table under a name no other type has (and, if
        ``place``, its class into the module)."""
        key = cls if cls not in self.table else f"{camel(attribute or '')}{cls}"
        if key in self.table:
            raise Unlowerable(f"two types are both called {cls!r}")
        self._names[tid] = key
        if place:
            self.placed[key] = (attribute, cls)
        self.table[key] = body
        return key

    def name(self, t: WitType, attribute: str | None) -> str:
        known = self._names.get(id(t))
        if known is not None:
            return known
        if isinstance(t, Resource):
            defined = self.resources.get(id(t))
            if defined is None:
                raise Unlowerable(f"it uses resource {t.wit()}, which neither an exported "
                                  "nor an imported interface defines")
            return self.resource_key(defined[0], defined[1])
        if t.name is None:
            named = self._shapes.get((attribute, t.body()))
            if named is None:
                raise Unlowerable(f"an anonymous {t.kind} type")
            key = self.name(named, attribute)
            self._names[id(t)] = key
            return key
        key = self._declare(id(t), camel(t.name), attribute, {})
        if isinstance(t, Record):
            self.table[key] = {snake(n): self.text(ft, attribute) for n, ft in t.fields}
        elif isinstance(t, Variant):
            self.table[key] = {"variant": {snake(n): self.text(ct, attribute) if ct else "None"
                                           for n, ct in t.cases}}
        else:
            assert isinstance(t, Labels)
            self.table[key] = {t.kind: [snake(n) for n in t.names]}
        return key

    def text(self, t: WitType, attribute: str | None, result: bool = False) -> str:
        """``t`` as a manifest type string."""
        if isinstance(t, Primitive):
            if t.kind not in _SCALARS:
                raise Unlowerable(f"WIT type {t.kind} is not supported yet")
            return _SCALARS[t.kind]
        if isinstance(t, (Record, Labels, Variant)):
            return self.name(t, attribute)
        if isinstance(t, Wrapper) and t.kind == "list":
            if isinstance(t.inner, Primitive) and t.inner.kind == "u8":
                return "bytes"
            return f"list[{self.text(t.inner, attribute)}]"
        if isinstance(t, Wrapper) and t.kind == "option":
            if isinstance(t.inner, Wrapper) and t.inner.kind == "option":
                raise Unlowerable("option<option<T>> is not supported yet")
            return f"{self.text(t.inner, attribute)} | None"
        if isinstance(t, Wrapper) and t.kind in ("own", "borrow"):
            key = self.name(t.inner, attribute)
            return key if t.kind == "own" else f"borrow[{key}]"
        if isinstance(t, Tuple):
            return "tuple[" + ", ".join(self.text(i, attribute) for i in t.items) + "]"
        if isinstance(t, Result) and result:
            ok = self.text(t.ok, attribute) if t.ok else "None"
            err = self.text(t.err, attribute) if t.err else "None"
            return f"result[{ok}, {err}]"
        raise Unlowerable(f"WIT type {t.wit()} is not supported yet")


def _children(t: WitType) -> tuple[WitType | None, ...]:
    if isinstance(t, Record):
        return tuple(ft for _, ft in t.fields)
    if isinstance(t, Variant):
        return tuple(ct for _, ct in t.cases)
    if isinstance(t, Tuple):
        return t.items
    if isinstance(t, Result):
        return (t.ok, t.err)
    if isinstance(t, Wrapper):
        return (t.inner,)
    return ()


def signature_text(functype: FuncType, types: TypeNames, attribute: str | None) -> str:
    params = ", ".join(f"{snake(n)}: {types.text(t, attribute)}" for n, t in functype.params)
    result = types.text(functype.result, attribute, result=True) if functype.result else "None"
    return f"({params}) -> {result}"
