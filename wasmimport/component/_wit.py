"""The WIT types of a component, as its binary declares them (see ``_decode``).

Types are plain objects compared by identity: a named type (a record, an enum...) gets its
WIT name from the export that names it, so ``point`` in a function's signature and the
``point`` an interface exports are the same object.
"""

from __future__ import annotations

import keyword


def snake(name: str) -> str:
    """A WIT name (kebab-case) as a Python name: ``parse-int`` -> ``parse_int``."""
    py = name.replace("-", "_")
    return py + "_" if keyword.iskeyword(py) else py


def camel(name: str) -> str:
    """A WIT type name as a Python class name: ``http-request`` -> ``HttpRequest``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


PRIMITIVES = {0x7F: "bool", 0x7E: "s8", 0x7D: "u8", 0x7C: "s16", 0x7B: "u16", 0x7A: "s32",
              0x79: "u32", 0x78: "s64", 0x77: "u64", 0x76: "f32", 0x75: "f64", 0x74: "char",
              0x73: "string", 0x64: "error-context"}


class WitType:
    """A WIT type; ``name`` is its WIT name when an export names it."""

    __slots__ = ("name",)
    kind = "?"

    def __init__(self) -> None:
        self.name: str | None = None

    def wit(self) -> str:
        """The type as WIT writes it where it is used."""
        return self.name or self.body()

    def body(self) -> str:
        return self.kind


class Primitive(WitType):
    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind


class Record(WitType):
    __slots__ = ("fields",)
    kind = "record"

    def __init__(self, fields: tuple[tuple[str, WitType], ...]) -> None:
        super().__init__()
        self.fields = fields

    def body(self) -> str:
        return "record { " + ", ".join(f"{n}: {t.wit()}" for n, t in self.fields) + " }"


class Variant(WitType):
    __slots__ = ("cases",)
    kind = "variant"

    def __init__(self, cases: tuple[tuple[str, WitType | None], ...]) -> None:
        super().__init__()
        self.cases = cases

    def body(self) -> str:
        return "variant { " + ", ".join(n if t is None else f"{n}({t.wit()})"
                                        for n, t in self.cases) + " }"


class Labels(WitType):
    """An enum or flags: a list of names."""

    __slots__ = ("kind", "names")

    def __init__(self, kind: str, names: tuple[str, ...]) -> None:
        super().__init__()
        self.kind = kind
        self.names = names

    def body(self) -> str:
        return f"{self.kind} {{ " + ", ".join(self.names) + " }"


class Wrapper(WitType):
    """list<T>, option<T>, own<R>, borrow<R>: one type inside."""

    __slots__ = ("kind", "inner")

    def __init__(self, kind: str, inner: WitType) -> None:
        super().__init__()
        self.kind = kind
        self.inner = inner

    def body(self) -> str:
        if self.kind == "own":
            return self.inner.wit()
        return f"{self.kind}<{self.inner.wit()}>"


class Tuple(WitType):
    __slots__ = ("items",)
    kind = "tuple"

    def __init__(self, items: tuple[WitType, ...]) -> None:
        super().__init__()
        self.items = items

    def body(self) -> str:
        return "tuple<" + ", ".join(t.wit() for t in self.items) + ">"


class Result(WitType):
    __slots__ = ("ok", "err")
    kind = "result"

    def __init__(self, ok: WitType | None, err: WitType | None) -> None:
        super().__init__()
        self.ok, self.err = ok, err

    def body(self) -> str:
        if self.ok is None and self.err is None:
            return "result"
        return f"result<{self.ok.wit() if self.ok else '_'}" + (
            f", {self.err.wit()}>" if self.err else ">")


class Resource(WitType):
    """A resource type; ``dtor`` is the core function its definition names, if any."""

    __slots__ = ("dtor",)
    kind = "resource"

    def __init__(self, dtor: object = None) -> None:
        super().__init__()
        self.dtor = dtor


class Unsupported(WitType):
    """A type this version does not map (stream, future, map, fixed-size list...)."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind


class FuncType:
    """A component function's type: named parameters and at most one result."""

    __slots__ = ("params", "result")

    def __init__(self, params: tuple[tuple[str, WitType], ...], result: WitType | None):
        self.params = params
        self.result = result

    def wit(self) -> str:
        params = ", ".join(f"{n}: {t.wit()}" for n, t in self.params)
        return f"func({params})" + (f" -> {self.result.wit()}" if self.result else "")
