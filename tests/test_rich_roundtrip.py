"""Property tests: random values of random nested tier-2 types survive a trip into the guest
and back, on both call paths.

Two round trips, neither needing per-type guest code:

* through memory: rich.wasm's ``echo_mem`` returns its i32 argument.  Declared as
  ``(x: T, pad: tuple[u64 * 16]) -> tuple[T, tuple[u64 * 16]]`` its parameters flatten to more
  than 16 values, so the host stores them in a block it allocates and passes the block's
  address; the result, of the same layout, is loaded back from that address.  The host's
  store and load must agree for every T (the guest only hands the pointer back);
* flat (compiled path only, as host functions need the extension): a WAT module generated per
  T passes its export's flat parameters unchanged to a host import taking the same T, so the
  export's flat lowering meets the host import's flat lifting.  The test computes T's core
  types itself (CanonicalABI.md flatten_type), so planning also checks the host's flattening.

Types are built from every scalar, char, str, bytes, cstr, list[...], tuple[...], ``T | None`` (no
option of an option or of a cstr), and records, variants, enums and flags declared in
``[types]`` (variants through memory only: the flat trip's independent flattening does not
join their cases).
"""

from __future__ import annotations

import math
import os
import struct
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wasmimport
from conftest import load_on_path, wat_binary

PATHS = ["compiled", "pure"]
INTS = {"i8": (8, True), "i16": (16, True), "i32": (32, True), "i64": (64, True),
        "u8": (8, False), "u16": (16, False), "u32": (32, False), "u64": (64, False)}
LEAVES = [*INTS, "f32", "f64", "bool", "char", "str", "bytes", "cstr"]
PAD = "tuple[" + ", ".join(["u64"] * 16) + "]"
ENUM_SIZES = [1, 2, 3, 255, 256, 257, 300]
FLAG_SIZES = [1, 3, 8, 9, 16, 17, 31, 32]


class T:
    """A manifest type: ``kind`` is a leaf name or list/tuple/option/record/variant/enum/flags
    (a variant's cases: one per item, with it as the payload, and a last one without).

    Compared by identity: each record, enum and flags node is one declaration.
    """

    def __init__(self, kind: str, items: tuple[T, ...] = (), cases: int = 0):
        self.kind = kind
        self.items = items
        self.cases = cases          # enum cases / flag count

    def __repr__(self) -> str:
        if self.kind in ("enum", "flags"):
            return f"{self.kind}({self.cases})"
        if self.items:
            return f"{self.kind}[{', '.join(map(repr, self.items))}]"
        return self.kind


# ---- types --------------------------------------------------------------------------------


def _optionable(t: T) -> bool:
    return t.kind not in ("option", "cstr")


def _compound(children: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    some = st.lists(children, min_size=1, max_size=4).map(tuple)
    return st.one_of(
        children.map(lambda c: T("list", (c,))),
        some.map(lambda cs: T("tuple", cs)),
        children.filter(_optionable).map(lambda c: T("option", (c,))),
        some.map(lambda cs: T("record", cs)),
        some.map(lambda cs: T("variant", cs)),
    )


leaf_types = st.one_of(
    st.sampled_from(LEAVES).map(T),
    st.sampled_from(ENUM_SIZES).map(lambda n: T("enum", cases=n)),
    st.sampled_from(FLAG_SIZES).map(lambda n: T("flags", cases=n)),
)
rich_types: st.SearchStrategy[T] = st.recursive(leaf_types, _compound, max_leaves=10)


class Declarations:
    """Manifest text for types: the ``[types]`` table, names in order of first use."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.tables: list[str] = []

    def text(self, t: T) -> str:
        if not t.items and t.kind not in ("enum", "flags"):
            return t.kind
        if t.kind == "list":
            return f"list[{self.text(t.items[0])}]"
        if t.kind == "tuple":
            return f"tuple[{', '.join(self.text(i) for i in t.items)}]"
        if t.kind == "option":
            return f"{self.text(t.items[0])} | None"
        name = self.names.get(id(t))
        if name is None:
            name = self.names[id(t)] = f"{t.kind.capitalize()}{len(self.names)}"
            if t.kind == "record":
                fields = [f'f{i} = "{self.text(f)}"' for i, f in enumerate(t.items)]
                self.tables.append(f"[types.{name}]\n" + "\n".join(fields))
            elif t.kind == "variant":
                cases = [f'c{i} = "{self.text(c)}"' for i, c in enumerate(t.items)]
                cases.append(f'c{len(t.items)} = "None"')
                self.tables.append(f"[types.{name}]\nvariant = {{{', '.join(cases)}}}")
            else:
                labels = ", ".join(f'"{t.kind[0]}{i}"' for i in range(t.cases))
                self.tables.append(f"[types.{name}]\n{t.kind} = [{labels}]")
        return name

    def manifest(self, functions: str) -> str:
        return "\n\n".join([*self.tables, functions]) + "\n"


# ---- values -------------------------------------------------------------------------------


def _text() -> st.SearchStrategy[str]:
    return st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


class Case(tuple):  # type: ignore[type-arg]
    """A variant's argument before the module exists: (case index, payload); ``argument``
    makes it the case class's instance."""


def values(t: T) -> st.SearchStrategy[Any]:
    """Arguments of type ``t``: what a caller may pass (records as tuples or mappings, enums
    as names, flags as ints, variants as ``Case``)."""
    kind = t.kind
    if kind in INTS:
        bits, signed = INTS[kind]
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return st.integers(lo, hi)
    if kind == "f32":
        return st.floats(width=32)
    if kind == "f64":
        return st.floats()
    if kind == "bool":
        return st.booleans()
    if kind == "char":
        return st.characters(exclude_categories=["Cs"])
    if kind == "str":
        return _text()
    if kind == "bytes":
        return st.binary(max_size=12)
    if kind == "cstr":
        return st.none() | _text().filter(lambda s: "\0" not in s)
    if kind == "list":
        return st.lists(values(t.items[0]), max_size=4)
    if kind == "tuple":
        return st.tuples(*(values(i) for i in t.items))
    if kind == "option":
        return st.none() | values(t.items[0])
    if kind == "record":
        fields = [values(i) for i in t.items]
        return st.tuples(*fields) | st.fixed_dictionaries(
            {f"f{i}": f for i, f in enumerate(fields)})
    if kind == "variant":
        return st.one_of(*(values(c).map(lambda v, i=i: Case((i, v)))
                           for i, c in enumerate(t.items)), st.just(Case((len(t.items), None))))
    if kind == "enum":
        return st.integers(0, t.cases - 1).map(lambda i: f"e{i}")
    assert kind == "flags", kind
    return st.integers(0, (1 << t.cases) - 1)


def argument(t: T, value: Any, mod: types.ModuleType, decl: Declarations) -> Any:
    """The argument ``value`` stands for, its variants made case instances of ``mod``."""
    kind = t.kind
    if kind == "variant":
        i, payload = value
        case = getattr(getattr(mod, decl.names[id(t)]), f"C{i}")
        return case(None if i == len(t.items) else argument(t.items[i], payload, mod, decl))
    if kind == "list":
        return [argument(t.items[0], v, mod, decl) for v in value]
    if kind == "option":
        return None if value is None else argument(t.items[0], value, mod, decl)
    if kind == "record" and isinstance(value, dict):
        return {f"f{i}": argument(f, value[f"f{i}"], mod, decl) for i, f in enumerate(t.items)}
    if kind in ("tuple", "record"):
        return tuple(argument(i, v, mod, decl) for i, v in zip(t.items, value))
    return value


def expected(t: T, value: Any, mod: types.ModuleType, decl: Declarations) -> Any:
    """What the guest hands back for the argument ``value``: records as their class, enums
    and flags as members, floats as the f32 the guest sees."""
    kind = t.kind
    if kind == "f32":
        return struct.unpack("<f", struct.pack("<f", value))[0]
    if kind == "list":
        return [expected(t.items[0], v, mod, decl) for v in value]
    if kind == "tuple":
        return tuple(expected(i, v, mod, decl) for i, v in zip(t.items, value))
    if kind == "option":
        return None if value is None else expected(t.items[0], value, mod, decl)
    if kind == "variant":
        i, payload = value
        case = getattr(getattr(mod, decl.names[id(t)]), f"C{i}")
        return case(None if i == len(t.items) else expected(t.items[i], payload, mod, decl))
    if kind in ("record", "enum", "flags"):
        cls = getattr(mod, decl.names[id(t)])
        if kind == "enum":
            return cls[value]
        if kind == "flags":
            return cls(value)
        items = [value[f"f{i}"] for i in range(len(t.items))] if isinstance(value, dict) \
            else value
        return cls(*(expected(i, v, mod, decl) for i, v in zip(t.items, items)))
    return value


def same(got: Any, want: Any) -> bool:
    """Equal, of the same type all the way down; NaN equals NaN, -0.0 is not 0.0."""
    if type(got) is not type(want):
        return False
    if isinstance(want, float):
        if math.isnan(want):
            return math.isnan(got)
        return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)
    if isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    if hasattr(want, "__match_args__"):      # a variant's case: its payload, as exactly
        return same(got.value, want.value)
    return bool(got == want)


# ---- through memory -----------------------------------------------------------------------


def echo_manifest(t: T) -> tuple[str, Declarations]:
    decl = Declarations()
    text = decl.text(t)
    functions = (f'[functions.echo]\nexport = "echo_mem"\n'
                 f'signature = "(x: {text}, pad: {PAD}) -> tuple[{text}, {PAD}]"')
    return decl.manifest(functions), decl


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[T, list[Any]]:
    t = draw(rich_types)
    return t, draw(st.lists(values(t), min_size=1, max_size=4))


ROUND_TRIP = settings(max_examples=250, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("path", PATHS)
def test_values_round_trip_through_memory(path: str) -> None:
    @ROUND_TRIP
    @given(typed_values(), st.lists(st.integers(0, 2**64 - 1), min_size=16, max_size=16))
    def check(case: tuple[T, list[Any]], pad: list[int]) -> None:
        t, xs = case
        manifest, decl = echo_manifest(t)
        mod = load_on_path("rich", path, name="echo_rt", manifest=manifest)
        for x in xs:
            got = mod.echo(argument(t, x, mod, decl), tuple(pad))
            want = (expected(t, x, mod, decl), tuple(pad))
            assert same(got, want), f"{t!r}: echo({x!r}) gave {got!r}, expected {want!r}"
    check()


def test_the_echo_manifest_spills() -> None:
    """The trick above relies on spilling: the export's core type is (i32) -> i32."""
    t = T("record", (T("u8"), T("option", (T("str"),)), T("enum", cases=300)))
    manifest, decl = echo_manifest(t)
    mod = load_on_path("rich", "pure", name="echo_rt", manifest=manifest)
    (entry,) = mod.__wasmimport__.manifest.functions
    assert entry.signature.spills()
    assert mod.echo((7, "s", "e299"), tuple(range(16))) == \
        (mod.Record0(7, "s", mod.Enum1.e299), tuple(range(16)))
    assert decl.names[id(t)] == "Record0"


# ---- flat, through a host import ----------------------------------------------------------


def core_types(t: T) -> list[str]:
    """The flat core types of ``t`` (CanonicalABI.md flatten_type), computed independently."""
    kind = t.kind
    if kind in ("i64", "u64"):
        return ["i64"]
    if kind in ("f32", "f64"):
        return [kind]
    if kind in ("str", "bytes", "list"):
        return ["i32", "i32"]
    if kind in ("tuple", "record"):
        return [core for i in t.items for core in core_types(i)]
    if kind == "option":                 # one case: its slots need no join
        return ["i32", *core_types(t.items[0])]
    return ["i32"]                       # small ints, bool, char, cstr, enums, flags


SINK = "rich_roundtrip_sink"
_BUMP_REALLOC = """
  (global $bump (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get 2))))
    (local.set $end (i32.add (local.get $p) (local.get 3)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.div_u (i32.add (i32.sub (local.get $end)
                    (i32.mul (memory.size) (i32.const 65536))) (i32.const 65535))
                    (i32.const 65536))))))
    (global.set $bump (local.get $end))
    (local.get $p))"""


def pass_through_module(flat: list[str]) -> bytes:
    """A module whose export ``run`` hands its parameters, unchanged, to the import
    ``sink.take``."""
    params = " ".join(flat)
    gets = " ".join(f"(local.get {i})" for i in range(len(flat)))
    return wat_binary(f"""(module
      (import "sink" "take" (func $take (param {params})))
      (memory (export "memory") 1)
      {_BUMP_REALLOC}
      (func (export "run") (param {params}) {gets} (call $take)))""")


@contextmanager
def compiled_path() -> Iterator[None]:
    saved = os.environ.get("WASMIMPORT_PURE")
    os.environ["WASMIMPORT_PURE"] = "0"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["WASMIMPORT_PURE"]
        else:
            os.environ["WASMIMPORT_PURE"] = saved


@contextmanager
def sink() -> Iterator[list[Any]]:
    """The Python module the host import calls: it records what it is given."""
    received: list[Any] = []
    module = types.ModuleType(SINK)
    take: Callable[[Any], None] = received.append
    module.take = take  # type: ignore[attr-defined]
    sys.modules[SINK] = module
    try:
        yield received
    finally:
        del sys.modules[SINK]


def _has_variant(t: T) -> bool:
    return t.kind == "variant" or any(_has_variant(i) for i in t.items)


@st.composite
def flat_typed_values(draw: st.DrawFn) -> tuple[T, list[Any]]:
    t = draw(rich_types.filter(lambda t: not _has_variant(t) and len(core_types(t)) <= 16))
    return t, draw(st.lists(values(t), min_size=1, max_size=4))


def test_values_round_trip_flat_through_a_host_import() -> None:

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(flat_typed_values())
    def check(case: tuple[T, list[Any]]) -> None:
        t, xs = case
        decl = Declarations()
        text = decl.text(t)
        manifest = decl.manifest(
            f'[functions]\nrun = "(x: {text}) -> None"\n\n'
            f'[imports.sink.take]\npython = "{SINK}:take"\nsignature = "(x: {text}) -> None"')
        with compiled_path(), sink() as received:
            mod = wasmimport.load(pass_through_module(core_types(t)), name="flat_rt",
                                  manifest=manifest)
            for x in xs:
                assert mod.run(x) is None
                (got,) = received
                received.clear()
                want = expected(t, x, mod, decl)
                assert same(got, want), f"{t!r}: run({x!r}) passed {got!r}, expected {want!r}"
    check()


def test_the_flat_module_has_the_computed_core_type() -> None:
    """The independent flattening agrees with the host's on a few fixed types."""
    cases = [T("record", (T("u8"), T("u64"), T("u16"), T("str"))),
             T("option", (T("f32"),)), T("option", (T("tuple", (T("f64"), T("bytes"))),)),
             T("list", (T("option", (T("u32"),)),)), T("flags", cases=32)]
    for t in cases:
        decl = Declarations()
        text = decl.text(t)
        manifest = decl.manifest(
            f'[functions]\nrun = "(x: {text}) -> None"\n\n'
            f'[imports.sink.take]\npython = "{SINK}:take"\nsignature = "(x: {text}) -> None"')
        with compiled_path(), sink():
            wasmimport.load(pass_through_module(core_types(t)), name="flat_rt",
                            manifest=manifest)     # planning checks both core types
    assert core_types(cases[0]) == ["i32", "i64", "i32", "i32", "i32"]
    assert core_types(cases[1]) == ["i32", "f32"]
