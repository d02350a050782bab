"""wasmimport.load(): the same module building without the import hook."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import wasmimport
from conftest import has, refused, tagged_wat, wat_binary


def test_load_path_uses_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "lp.wasm"
    path.write_bytes(wat_binary(tagged_wat(4)))
    (tmp_path / "lp.wasm.toml").write_text('doc = "from sidecar"\n')
    mod = wasmimport.load(path)
    assert mod.__name__ == "lp" and mod.__doc__ == "from sidecar"
    assert mod.__file__ == str(path)
    assert "lp" not in sys.modules
    assert wasmimport.load(str(path), name="renamed").__name__ == "renamed"


def test_load_bytes(tmp_path: Path) -> None:
    mod = wasmimport.load(wat_binary(tagged_wat(9)), name="frombytes")
    assert mod.which() == 9
    assert mod.__name__ == "frombytes"
    assert not hasattr(mod, "__file__")
    assert wasmimport.load(bytearray(wat_binary(tagged_wat(1)))).__name__ == "wasm_module"
    if has("wat"):
        assert wasmimport.load(tagged_wat(2).encode()).which() == 2     # wat text as bytes
    else:
        with pytest.raises(wasmimport.WasmImportError, match=r"^<wasm_module>: not a wasm "
                           r"binary; text \(wat\) " + refused("wat")):
            wasmimport.load(tagged_wat(2).encode())


@pytest.mark.parametrize("kind", ["dict", "text", "path"])
def test_load_with_explicit_manifest(tmp_path: Path, kind: str) -> None:
    text = '[functions]\nadd = "(a: u8, b: u8) -> u8"\n'
    toml = tmp_path / "explicit.toml"
    toml.write_text(text)
    manifest = {"dict": {"functions": {"add": "(a: u8, b: u8) -> u8"}}, "text": text,
                "path": toml}[kind]
    mod = wasmimport.load(wat_binary(tagged_wat(0)), manifest=manifest)
    with pytest.raises(OverflowError, match="u8"):
        mod.add(300, 0)


def test_explicit_manifest_wins_over_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "both.wasm"
    path.write_bytes(wat_binary(tagged_wat(0)))
    (tmp_path / "both.wasm.toml").write_text('doc = "sidecar"\n')
    assert wasmimport.load(path, manifest={"doc": "explicit"}).__doc__ == "explicit"


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="source must be a path or bytes, not int"):
        wasmimport.load(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="manifest must be a dict"):
        wasmimport.load(wat_binary(tagged_wat(0)), manifest=3)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        wasmimport.load(tmp_path / "nope.wasm")
    with pytest.raises(wasmimport.ManifestError, match="<manifest argument>: invalid TOML"):
        wasmimport.load(wat_binary(tagged_wat(0)), manifest="doc = ")
    with pytest.raises(wasmimport.WasmImportError, match="not a valid module name"):
        wasmimport.load(wat_binary(tagged_wat(0)), name="no such name")


def test_unknown_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(wasmimport.WasmImportError, match=r"unknown wasmimport backend 'v8'"):
        wasmimport.load(wat_binary(tagged_wat(0)), backend="v8")
    monkeypatch.setenv("WASMIMPORT_BACKEND", "nope")
    with pytest.raises(wasmimport.WasmImportError, match=r"backend 'nope' \(available: wasmtime"):
        wasmimport.load(wat_binary(tagged_wat(0)))
