"""The manifest's type grammar: type expressions, the ``[types]`` table, and plain forms.

Type expressions are Python annotations (``list[Point]``, ``tuple[u32, str]``, ``str | None``,
``result[u32, str]``) read with Python's own parser, so they look exactly like the stub
annotations they become.  Where a type may appear is checked here (``None`` and ``result``
only as results, ``buffer`` only as an export's own parameter), so a manifest that cannot
work is refused when it is read, naming the entry.

The plain form of a type (nested tuples of str) lets a remembered manifest skip ``ast``.
"""

from __future__ import annotations

import keyword

from ._compound import (
    CasesType,
    EnumType,
    FlagsType,
    ListOfType,
    OptionType,
    RecordType,
    ResultType,
    TupleType,
)
from ._errors import ManifestError
from ._resource import BorrowType, HostBorrowType, HostResourceType, ResourceType
from ._types import BUFFER, BY_NAME, CSTR, LISTS, TEXT_BYTES, WRAPS, ListType, WasmType, WrapType

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ast
    from collections.abc import Callable
    from typing import Any

    Fail = Callable[[str], ManifestError]

# where a type expression stands: what it may be
PARAM = "parameter"            # an export's own parameter: anything but None and result
RESULT = "result"              # an export's or host function's result: None and result too
HOST_PARAM = "host parameter"  # a host function's parameter: no buffer
INNER = "inner"                # inside another type: no None, result or buffer
CASE = "case"                  # a result's ok or error type: None too, no result
_GENERICS = ("list", "tuple", "result", "own", "borrow", "wrap")
MAX_FLAGS = 32


def list_of(elem: WasmType) -> ListType | ListOfType:
    """``list[elem]``: a number list (which the compiled path copies in one go) for a plain
    numeric element, a list of anything otherwise (a ``wrap[u8]`` too: it masks)."""
    plain = elem.name in LISTS and elem is BY_NAME.get(elem.name)
    return LISTS[elem.name] if plain else ListOfType(elem)


def type_names(space: TypeSpace | None = None) -> str:
    """The types a manifest may use, for error messages."""
    declared = list(space.declared) if space else []
    return ", ".join([*BY_NAME, *declared, "list[T]", "tuple[T, ...]", "T | None",
                      "result[T, E]", "wrap[INT]"])


class TypeSpace:
    """The types one manifest declares in ``[types]``, by name, in dependency order."""

    def __init__(self) -> None:
        self.declared: dict[str, RecordType | EnumType | FlagsType | CasesType |
                            ResourceType | HostResourceType] = {}

    def resources(self) -> list[ResourceType]:
        """The declared resource types."""
        return [t for t in self.declared.values() if isinstance(t, ResourceType)]

    def tables(self) -> list[ResourceType | HostResourceType]:
        """The resource types whose handle tables serve built-in imports of a component's
        core module (``[resource-new]`` and the like)."""
        return [t for t in self.declared.values() if isinstance(t, HostResourceType) or
                isinstance(t, ResourceType) and t.builtins is not None]

    def method_of(self, function: str) -> tuple[ResourceType, str] | None:
        """(resource, method) when the function name ``[iface.]R.method`` is a method (or
        the constructor, ``__init__``) of a declared resource ``R``."""
        owner, _, method = function.rpartition(".")
        found = self.declared.get(owner.rpartition(".")[2]) if owner else None
        return (found, method) if isinstance(found, ResourceType) else None

    def classes(self) -> dict[str, Any]:
        """The Python classes to put on the module: name -> class."""
        return {name: t.cls for name, t in self.declared.items()
                if not isinstance(t, HostResourceType)}    # (the host's class is its own)

    def to_plain(self) -> tuple[Any, ...]:
        plain: list[Any] = []
        for name, t in self.declared.items():
            if isinstance(t, RecordType):
                plain.append(("record", name, tuple((f, to_form(ft))
                                                    for f, ft in zip(t.fields, t.types))))
            elif isinstance(t, CasesType):
                plain.append(("variant", name, tuple((label, to_form(case)) for label, case
                                                     in zip(t.labels, t.cases))))
            elif isinstance(t, ResourceType):
                plain.append(("resource", name, (t.drop_export, t.builtins)))
            elif isinstance(t, HostResourceType):
                plain.append(("host resource", name, t.builtins))
            else:
                plain.append(("enum" if isinstance(t, EnumType) else "flags", name, t.labels))
        return tuple(plain)

    @classmethod
    def from_plain(cls, plain: tuple[Any, ...]) -> TypeSpace:
        space = cls()
        for kind, name, body in plain:
            if kind == "record":
                space.declared[name] = RecordType(name, tuple(
                    (f, space.from_form(form)) for f, form in body))
            elif kind == "variant":
                space.declared[name] = CasesType(name, tuple(
                    (label, space.from_form(form)) for label, form in body))
            elif kind == "resource":
                space.declared[name] = ResourceType(name, *body)
            elif kind == "host resource":
                space.declared[name] = HostResourceType(name, (body[0], body[1]))
            else:
                space.declared[name] = (EnumType if kind == "enum" else FlagsType)(name, body)
        return space

    def from_form(self, form: Any) -> Any:
        """The type (or None) that ``to_form`` described."""
        if form is None or isinstance(form, str):
            return None if form is None else BY_NAME[form]
        kind = form[0]
        if kind == "ref":
            return self.declared[form[1]]
        if kind == "borrow":
            return self.declared[form[1]].borrow  # type: ignore[union-attr]
        if kind == "wrap":
            return WRAPS[form[1]]
        if kind == "list":
            elem = self.from_form(form[1])
            return list_of(elem)
        if kind == "tuple":
            return TupleType(tuple(self.from_form(f) for f in form[1]))
        if kind == "option":
            return OptionType(self.from_form(form[1]))
        return ResultType(self.from_form(form[1]), self.from_form(form[2]))


def to_form(t: WasmType | None) -> Any:
    """A type as nested tuples of str (``marshal`` can store it)."""
    if t is TEXT_BYTES:
        return TEXT_BYTES.hint
    if isinstance(t, WrapType):
        return ("wrap", t.name)
    if t is None or t.name in BY_NAME:
        return None if t is None else t.name
    if isinstance(t, (RecordType, EnumType, FlagsType, CasesType, ResourceType,
                      HostResourceType)):
        return ("ref", t.name)
    if isinstance(t, (BorrowType, HostBorrowType)):
        return ("borrow", t.resource.name)
    if isinstance(t, (ListType, ListOfType)):
        return ("list", to_form(t.elem))
    if isinstance(t, TupleType):
        return ("tuple", tuple(to_form(f) for f in t.types))
    if isinstance(t, OptionType):
        return ("option", to_form(t.payload))
    assert isinstance(t, ResultType), t
    return ("result", to_form(t.ok), to_form(t.error))


def parse_type(node: ast.expr, space: TypeSpace, where: str, fail: Fail) -> WasmType | None:
    """The type an annotation names; ``where`` (PARAM, RESULT...) says what it may be."""
    import ast

    text = ast.unparse(node)
    if isinstance(node, ast.Constant) and node.value is None:
        if where not in (RESULT, CASE):
            raise fail(f"None is only a result type, not {_what(where)}")
        return None
    if isinstance(node, ast.Name):
        found: WasmType | None = BY_NAME.get(node.id) or space.declared.get(node.id)
        if found is BUFFER and where != PARAM:
            raise fail(f"buffer is only a type for an exported function's own parameters, "
                       f"not {_what(where)}")
        if found is not None:
            return found
        if node.id in _GENERICS:
            raise fail(f"{node.id} needs its item types, like {node.id}[...]")
        raise fail(f"unknown type {text!r} (expected one of {type_names(space)})")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [node.left, node.right]
        names = {s.id for s in sides if isinstance(s, ast.Name)}
        if names == {"bytes", "str"}:
            return TEXT_BYTES               # bytes that take a str too, as UTF-8
        nones = [s for s in sides if isinstance(s, ast.Constant) and s.value is None]
        if len(nones) != 1:
            raise fail(f"unsupported union {text!r} (only 'T | None' and 'bytes | str' "
                       "are)")
        inner = sides[0] if sides[1] in nones else sides[1]
        payload = parse_type(inner, space, INNER, fail)
        assert payload is not None
        if isinstance(payload, OptionType):
            raise fail(f"{text!r}: an option of an option cannot be told apart from None "
                       "in Python")
        if payload is CSTR:
            raise fail("cstr already accepts and returns None (the NULL pointer); "
                       "write cstr, not 'cstr | None'")
        return OptionType(payload)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
            and node.value.id in _GENERICS:
        generic = node.value.id
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if generic in ("own", "borrow"):
            return _handle(generic, items, space, where, fail)
        if generic == "wrap":
            named = items[0] if len(items) == 1 else None
            if not isinstance(named, ast.Name) or named.id not in WRAPS:
                raise fail(f"wrap takes one integer type ({', '.join(WRAPS)})")
            return WRAPS[named.id]
        if generic == "list":
            if len(items) != 1:
                raise fail(f"list takes one item type, not {len(items)}")
            elem = parse_type(items[0], space, INNER, fail)
            assert elem is not None
            return list_of(elem)
        if generic == "tuple":
            if not items:
                raise fail(f"{text} has no items (the Canonical ABI has no empty tuples, and "
                           "a list of them would be unbounded); use None")
            return TupleType(tuple(_inner(item, space, fail) for item in items))
        if where != RESULT:
            raise fail(f"result is only a function's result type, not {_what(where)}")
        if len(items) != 2:
            raise fail(f"result takes two types (ok, error), not {len(items)}")
        ok, error = (parse_type(item, space, CASE, fail) for item in items)
        return ResultType(ok, error)
    raise fail(f"unknown type {text!r} (expected one of {type_names(space)})")


def _handle(generic: str, items: list[ast.expr], space: TypeSpace, where: str,
            fail: Fail) -> WasmType:
    """``own[R]`` (the same as ``R``) or ``borrow[R]`` of a declared resource ``R``."""
    import ast

    named = items[0] if len(items) == 1 else None
    resource = space.declared.get(named.id) if isinstance(named, ast.Name) else None
    if not isinstance(resource, (ResourceType, HostResourceType)):
        raise fail(f"{generic}[...] takes one resource type declared in [types]")
    if generic == "own":
        return resource
    allowed = (PARAM,) if isinstance(resource, ResourceType) else (PARAM, HOST_PARAM)
    if where not in allowed:
        whose = "an exported" if len(allowed) == 1 else "a"
        raise fail(f"borrow[{resource.name}] is only a type for {whose} function's own "
                   f"parameters, not {_what(where)}")
    return resource.borrow


def _inner(node: ast.expr, space: TypeSpace, fail: Fail) -> WasmType:
    t = parse_type(node, space, INNER, fail)
    assert t is not None
    return t


def _what(where: str) -> str:
    return {PARAM: "a parameter type", HOST_PARAM: "a host function's parameter type",
            INNER: "an item or field type", RESULT: "a result type",
            CASE: "a result's ok or error type"}[where]


def declare_types(table: Any, source: str) -> TypeSpace:
    """Read the ``[types]`` table: records (``x = "f64"``), ``enum = [...]``, ``flags = [...]``.

    Records and variants may use types declared later in the table; one that contains
    itself is an error, since the Canonical ABI has no recursive types.
    """

    if not isinstance(table, dict):
        raise ManifestError(f"{source}: [types] must be a table of type declarations")
    space = TypeSpace()
    resolving: list[str] = []
    reserved = {*BY_NAME, *_GENERICS, "None"}

    def declare(name: str) -> None:
        where = f"{source}: [types.{name}]"
        if name in resolving:
            cycle = " -> ".join([*resolving[resolving.index(name):], name])
            kind = "variant" if set(table[name]) == {"variant"} else "record"
            raise ManifestError(f"{where}: a {kind} cannot contain itself ({cycle})")
        if not _field_name_ok(name) or name in reserved:
            raise ManifestError(f"{where}: type names must be identifiers that are not "
                                f"keywords, start with no underscore and are not built-in "
                                f"types ({', '.join(sorted(reserved))})")
        body = table[name]
        if not isinstance(body, dict) or not body:
            raise ManifestError(f"{where} must be a table of fields, or enum = [...], "
                                "flags = [...], variant = {...} or resource = {...}")
        if set(body) == {"enum"} or set(body) == {"flags"}:
            kind = next(iter(body))
            space.declared[name] = (EnumType if kind == "enum" else FlagsType)(
                name, _labels(body[kind], f"{where} {kind}"))
            return
        if set(body) == {"variant"}:
            resolving.append(name)
            space.declared[name] = _variant(name, body["variant"], where, space, declare, table)
            resolving.pop()
            return
        if set(body) == {"resource"}:
            space.declared[name] = _resource(name, body["resource"], where)
            return
        resolving.append(name)
        fields = []
        for field, text in body.items():
            spot = f"{where} {field}"
            if not _field_name_ok(field):
                raise ManifestError(f"{spot}: field names must be identifiers that are not "
                                    "keywords and start with no underscore")
            if not isinstance(text, str):
                raise ManifestError(f"{spot} must be a type string like \"f64\", not "
                                    f"{type(text).__name__}")
            field_type = _type_string(text, spot, INNER, space, declare, table)
            assert field_type is not None
            fields.append((field, field_type))
        resolving.pop()
        space.declared[name] = RecordType(name, tuple(fields))

    for name in table:
        if name not in space.declared:
            declare(name)
    return space


def _type_string(text: str, spot: str, where: str, space: TypeSpace, declare: Any,
                 table: dict[str, Any]) -> WasmType | None:
    """The type a record field's or variant case's string names; the [types] entries it
    uses are declared first (they may come later in the table)."""
    import ast

    def fail(message: str) -> ManifestError:
        return ManifestError(f"{spot}: {message} in type {text!r}")
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError) as exc:
        raise fail(f"invalid syntax ({getattr(exc, 'msg', exc)})") from None
    for used in ast.walk(node):
        if isinstance(used, ast.Name) and used.id in table and used.id not in space.declared:
            declare(used.id)
    return parse_type(node, space, where, fail)


def _variant(name: str, cases: Any, where: str, space: TypeSpace, declare: Any,
             table: dict[str, Any]) -> CasesType:
    """``variant = {case = "T", other = "None"}``: each case's payload type, or None."""
    if not isinstance(cases, dict) or not cases:
        raise ManifestError(f"{where} variant must be a table of cases, like "
                            "{circle = \"f64\", empty = \"None\"}")
    parsed: list[tuple[str, WasmType | None]] = []
    for case, text in cases.items():
        spot = f"{where} variant {case}"
        if not _field_name_ok(case) or not isinstance(text, str):
            raise ManifestError(f"{spot}: a case is an identifier with a type string "
                                "(\"None\" for no payload)")
        parsed.append((case, _type_string(text, spot, CASE, space, declare, table)))
    return CasesType(name, tuple(parsed))


def _resource(name: str, body: Any, where: str) -> ResourceType | HostResourceType:
    """``resource = {drop = "export"}`` (``drop`` optional); a component's lowering also
    names its handle table's built-ins: ``builtins = {module = "...", name = "..."}``, or
    for a resource the component imports, ``imported = {module = ..., name = ...}``."""
    if not isinstance(body, dict) or not set(body) <= {"drop", "builtins"} and \
            set(body) != {"imported"}:
        raise ManifestError(f"{where} resource must be a table with an optional drop "
                            "export, like {drop = \"hasher_free\"}")
    if "imported" in body:        # a component's import: the host implements it
        return HostResourceType(name, _builtins(body["imported"], f"{where} resource imported"))
    drop = body.get("drop")
    if drop is not None and (not isinstance(drop, str) or not drop):
        raise ManifestError(f"{where} resource drop must be the name of an export")
    builtins = body.get("builtins")
    if builtins is not None:
        return ResourceType(name, drop, _builtins(builtins, f"{where} resource builtins"))
    return ResourceType(name, drop)


def _builtins(table: Any, where: str) -> tuple[str, str]:
    """``{module = "...", name = "..."}``: where a component's core module imports a
    resource type's built-ins from, and the type's WIT name."""
    if not isinstance(table, dict) or set(table) != {"module", "name"} or not all(
            isinstance(v, str) for v in table.values()):
        raise ManifestError(f"{where} must be {{module = \"...\", name = \"...\"}}")
    return table["module"], table["name"]


def _field_name_ok(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")


def _labels(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and _field_name_ok(v) for v in value):
        raise ManifestError(f"{where} must be a non-empty list of names (identifiers that are "
                            f"not keywords and start with no underscore), not {value!r}")
    if len(set(value)) != len(value):
        duplicate = next(v for v in value if value.count(v) > 1)
        raise ManifestError(f"{where} names {duplicate!r} twice")
    if where.endswith("flags") and len(value) > MAX_FLAGS:
        raise ManifestError(f"{where} has {len(value)} flags; at most {MAX_FLAGS} are "
                            "supported")
    return tuple(value)
