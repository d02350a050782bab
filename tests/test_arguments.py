"""C-extension argument rules in the manifest, so that no Python facade is needed:
wrapping integers, bytes that take str, positional-only and keyword-only parameters, and a
TypeError worded by the manifest.  On both call paths (the suite runs compiled and pure)."""

from __future__ import annotations

import types

import pytest

import wasmimport
from conftest import guest_path

MANIFEST = {"functions": {
    "echo_u64": "(x: wrap[u64]) -> u64",
    "echo_i8": "(x: wrap[i8]) -> i8",
    "echo_u32": "(x: wrap[u32], /) -> u32",
    "echo_i32": "(*, x: i32 = 3) -> i32",
    "echo_bytes": {"signature": "(data: bytes | str) -> bytes",
                   "type_errors": {"data": "Strings must be encoded before hashing"}},
    "echo_u16": "(xs: wrap[u16]) -> u16",
    "echo_u8": {"signature": "(seed: u8 = 0) -> u8",
                "value_errors": {"seed": "seed is out of range"},
                "type_errors": {"seed": "seed must be an int"}},
}}


@pytest.fixture(scope="module")
def edges() -> types.ModuleType:
    return wasmimport.load(guest_path("edges"), "edges_args", manifest=MANIFEST)


@pytest.mark.parametrize(("value", "expected"), [
    (0, 0), (2**64, 0), (2**64 + 5, 5), (-1, 2**64 - 1), (2**63, 2**63), (-(2**200), 0),
    (True, 1)])
def test_wrapping_integers_mask_like_pylong_asunsignedlonglongmask(
        edges: types.ModuleType, value: int, expected: int) -> None:
    assert edges.echo_u64(value) == expected


def test_wrapping_small_and_signed_types(edges: types.ModuleType) -> None:
    assert [edges.echo_i8(v) for v in (127, 128, 255, 256, -129)] == [127, -128, -1, 0, 127]
    assert edges.echo_u32(2**32 + 7) == 7 and edges.echo_u32(-1) == 2**32 - 1
    assert edges.echo_u16(70000) == 70000 - 65536
    with pytest.raises(TypeError, match=r"edges_args.echo_u64\(\) argument 'x' must be int, "
                                        "not float"):
        edges.echo_u64(1.0)


def test_bytes_that_take_str_as_utf8(edges: types.ModuleType) -> None:
    assert edges.echo_bytes("héllo") == "héllo".encode()
    assert edges.echo_bytes(b"raw") == b"raw" and edges.echo_bytes(bytearray(b"x")) == b"x"
    assert edges.echo_bytes(memoryview(b"abc")) == b"abc"
    with pytest.raises(TypeError) as caught:
        edges.echo_bytes(5)
    assert str(caught.value) == "Strings must be encoded before hashing"   # as worded


def test_positional_and_keyword_only(edges: types.ModuleType) -> None:
    with pytest.raises(TypeError, match="positional-only"):
        edges.echo_u32(x=1)
    assert edges.echo_i32(x=5) == 5 and edges.echo_i32() == 3
    with pytest.raises(TypeError, match="takes 0 positional arguments but 1 was given"):
        edges.echo_i32(1)


def test_type_errors_must_name_parameters() -> None:
    manifest = {"functions": {"echo_i32": {"signature": "(x: i32) -> i32",
                                           "type_errors": {"y": "no"}}}}
    with pytest.raises(wasmimport.ManifestError, match=r"type_errors: the signature has no "
                                                       r"parameter 'y'"):
        wasmimport.load(guest_path("edges"), "e", manifest=manifest)
    bad = {"functions": {"echo_i32": {"signature": "(x: wrap[f64]) -> i32"}}}
    with pytest.raises(wasmimport.ManifestError, match=r"wrap takes one integer type"):
        wasmimport.load(guest_path("edges"), "e", manifest=bad)


class OddError(ValueError):
    """What res_half's error case raises with `raises` (an API's own exception class)."""


def test_raises_names_the_exception_of_a_result_error() -> None:
    manifest = {"functions": {
        "res_half": {"signature": "(x: u32) -> result[u32, str]",
                     "raises": "test_arguments:OddError"},
        "res_bad": {"signature": "() -> result[u32, str]", "raises": "test_arguments:OddError"},
        "res_nonzero": "(x: u32) -> result[None, str]"}}
    rich = wasmimport.load(guest_path("rich"), "rich_raises", manifest=manifest)
    assert rich.res_half(8) == 4
    with pytest.raises(OddError) as caught:
        rich.res_half(3)
    assert caught.value.args == ("odd number",)            # the error value, as itself
    with pytest.raises(wasmimport.Trap, match="invalid discriminant|discriminant"):
        rich.res_bad()                                     # a broken result stays a Trap
    with pytest.raises(wasmimport.GuestError):
        rich.res_nonzero(0)                                # without `raises`: GuestError


@pytest.mark.parametrize(("entry", "message"), [
    ({"signature": "(x: u32) -> u32", "raises": "test_arguments:OddError"},
     r"raises must name an exception class .* whose result is a result\[T, E\]"),
    ({"signature": "(x: u32) -> result[u32, str]", "raises": "no colon"},
     r"raises must name an exception class"),
])
def test_raises_is_checked(entry: dict[str, str], message: str) -> None:
    with pytest.raises(wasmimport.ManifestError, match=message):
        wasmimport.load(guest_path("rich"), "r", manifest={"functions": {"res_half": entry}})


@pytest.mark.parametrize(("target", "error", "message"), [
    ("MANIFEST", wasmimport.WasmImportError,
     r"r2.res_half\(\): raises: cannot import|is a dict, not a callable"),
    ("test_raises_is_checked", TypeError,
     r"r2.res_half\(\): raises = 'test_arguments:test_raises_is_checked' is not an "
     "exception class"),
])
def test_raises_must_be_an_exception_class(target: str, error: type[Exception],
                                           message: str) -> None:
    manifest = {"functions": {"res_half": {"signature": "(x: u32) -> result[u32, str]",
                                           "raises": f"test_arguments:{target}"}}}
    rich = wasmimport.load(guest_path("rich"), "r2", manifest=manifest)
    with pytest.raises(error, match=message):
        rich.res_half(1)          # (resolved when the function is made, on first use)


def test_value_errors_word_an_out_of_range_argument(edges: types.ModuleType) -> None:
    """mmh3's seeds: ValueError("seed is out of range"), where wasmimport says OverflowError."""
    assert edges.echo_u8(255) == 255 and edges.echo_u8() == 0
    for bad in (-1, 256, 2**64):
        with pytest.raises(ValueError) as caught:
            edges.echo_u8(bad)
        assert str(caught.value) == "seed is out of range"
    with pytest.raises(TypeError) as wrong:
        edges.echo_u8("1")
    assert str(wrong.value) == "seed must be an int"
