"""python -m wasmimport: include and embed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import wasmimport
from conftest import ROOT, guest_path
from wasmimport._wasmbin import read_module


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmimport", *args], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_help_everywhere() -> None:
    for args in ([], ["include"], ["embed"]):
        result = cli(*args, "--help")
        assert result.returncode == 0 and "usage: python -m wasmimport" in result.stdout
    assert cli().returncode == 2


def test_include_prints_the_header_folder() -> None:
    result = cli("include")
    assert result.returncode == 0
    folder = Path(result.stdout.strip())
    assert folder == Path(wasmimport.get_include())
    assert (folder / "wasmimport.h").is_file()


def test_embed_makes_a_one_file_module_equal_to_the_sidecar_pair(tmp_path: Path) -> None:
    edges = guest_path("edges")
    manifest = edges.with_suffix(".wasm.toml")
    out = tmp_path / "onefile.wasm"
    result = cli("embed", str(edges), str(manifest), "-o", str(out))
    assert result.returncode == 0, result.stderr
    onefile = wasmimport.load(out)
    pair = wasmimport.load(edges)
    assert onefile.__doc__ == pair.__doc__
    assert onefile.__all__ == pair.__all__
    assert onefile.echo_str("ü") == "ü" and onefile.echo_u64(2**64 - 1) == 2**64 - 1
    # embedding again replaces the section instead of adding a second one
    shutil.copy(out, tmp_path / "again_in.wasm")
    (tmp_path / "doc.toml").write_text('doc = "replaced"\n')
    assert cli("embed", str(tmp_path / "again_in.wasm"), str(tmp_path / "doc.toml"),
               "-o", str(out)).returncode == 0
    assert len(read_module(out.read_bytes()).custom("wasmimport")) == 1
    assert wasmimport.load(out).__doc__ == "replaced"


def test_embed_refuses_a_manifest_that_does_not_fit(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[functions]\nnope = "(a: i32) -> i32"\n')
    out = tmp_path / "out.wasm"
    result = cli("embed", str(guest_path("plain")), str(tmp_path / "bad.toml"), "-o", str(out))
    assert result.returncode == 1
    assert "bad.toml: [functions] nope: the module has no export 'nope'" in result.stderr
    assert not out.exists()
