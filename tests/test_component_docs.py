"""A component's WIT doc comments as its docstrings (SPEC section 8): ``build --wit`` keeps
them (jco's embed drops them) and the import shows them, from its own section or from the
``package-docs`` section wit-component defines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import wasmimport
from conftest import guest_path
from wasmimport._wasmbin import custom_section
from wasmimport.component._witdocs import extract, read_wit, section

COMPONENTS = Path(guest_path("components/calc")).parent

WIT = """\
package demo:docs@1.0.0;

/// Shapes.
interface shapes {
  /// A point.
  record point {
    /// Across.
    x: s32,
    y: s32,
  }
  /// Kinds
  /// of things.
  enum kind { a, b }
  // not a doc comment
  norm: func(p: point) -> s64;
  /// A counter.
  resource counter {
    /// Made at `start`.
    constructor(start: u32);
    /// Where it is.
    value: func() -> u32;
    /// At zero.
    zero: static func() -> counter;
  }
}

/// The world.
world docs {
  /// Adds.
  export add: func(a: s32,
                   b: s32) -> s32;
  /// Inline.
  export inline: interface {
    /// Inside.
    f: func();
  }
  export shapes;
}
"""


def test_doc_comments_are_read_from_the_wit() -> None:
    assert extract(WIT) == {
        "interfaces": {"shapes": {
            "docs": "Shapes.",
            "types": {"point": {"docs": "A point.", "items": {"x": "Across."}},
                      "kind": {"docs": "Kinds\nof things."},
                      "counter": {"docs": "A counter."}},
            "funcs": {"[constructor]counter": "Made at `start`.",
                      "[method]counter.value": "Where it is.",
                      "[static]counter.zero": "At zero."}}},
        "worlds": {"docs": {
            "docs": "The world.",
            "funcs": {"add": "Adds."},
            "interfaces": {"inline": {"docs": "Inline.", "funcs": {"f": "Inside."}}}}}}


def test_doc_comments_become_docstrings(compiled: None) -> None:
    """(``compiled``: the counter's handle tables are host functions, which need the
    compiled extension on wasmtime.)"""
    calc = wasmimport.load(COMPONENTS / "calc.wasm", "calc")
    assert calc.__doc__ == "Every kind of value the Canonical ABI has, in small functions."
    assert calc.add.__doc__ == "add: func(a: s32, b: s32) -> s32\n\nAdds two numbers (wrapping)."
    assert calc.shapes.__doc__ == "Geometry on integer points."
    assert calc.shapes.norm.__doc__.endswith("\n\nThe squared length of `p`: x*x + y*y.")
    assert calc.shapes.Point.__doc__.endswith("\n\nA point of the integer plane.")
    assert calc.Point.__doc__.endswith("\n\nA point (the world's own type; shapes has another).")
    assert calc.Shape.__doc__.endswith("a rectangle of x by y, or nothing.")
    counters = wasmimport.load(COMPONENTS / "counter.wasm", "counter").counters
    assert counters.Counter.__doc__.endswith("\n\nA counter, starting where its constructor says.")
    assert counters.Counter.value.__doc__.endswith("\n\nWhere it is.")
    assert counters.Counter.zero.__doc__.endswith("\n\nA counter at 0.")


def _without_docs(name: str) -> bytes:
    """The component as jco made it: without the section ``build --wit`` appended."""
    data = (COMPONENTS / f"{name}.wasm").read_bytes()
    ours = section(extract(read_wit(str(COMPONENTS / f"{name}.wit"))))
    assert data.endswith(ours)
    return data[:-len(ours)]


def test_a_component_without_docs_has_its_signatures(tmp_path: Path) -> None:
    (tmp_path / "calc.wasm").write_bytes(_without_docs("calc"))
    calc = wasmimport.load(tmp_path / "calc.wasm", "calc")
    assert calc.add.__doc__ == "add: func(a: s32, b: s32) -> s32"
    assert calc.shapes.Point.__doc__ == "ShapesPoint(x: i32, y: i32): a record."


@pytest.mark.parametrize("contents", [b"\x01{}", b"\x00{not json", b"\x00[1]",
                                      b'\x00{"worlds": {"root": 5}}', b""])
def test_unreadable_docs_are_no_docs(tmp_path: Path, contents: bytes) -> None:
    """Docs are never a reason to refuse an import."""
    (tmp_path / "calc.wasm").write_bytes(_without_docs("calc")
                                         + custom_section("package-docs", contents))
    assert wasmimport.load(tmp_path / "calc.wasm", "calc").add.__doc__ == \
        "add: func(a: s32, b: s32) -> s32"


def test_wit_components_package_docs_are_read(tmp_path: Path) -> None:
    """wit-component's own section, as wasm-tools writes it for a component's world (which
    decodes as ``root``)."""
    docs = b"\x00" + json.dumps({"worlds": {"root": {"docs": "Root.",
                                                      "funcs": {"add": "Sums."}}}}).encode()
    (tmp_path / "calc.wasm").write_bytes(_without_docs("calc")
                                         + custom_section("package-docs", docs))
    calc = wasmimport.load(tmp_path / "calc.wasm", "calc")
    assert calc.__doc__ == "Root."
    assert calc.add.__doc__ == "add: func(a: s32, b: s32) -> s32\n\nSums."
