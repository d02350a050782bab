"""The README quickstart, for real: build examples/quickstart/greet.c both ways (with
`python -m wasmimport build`), import it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

QUICKSTART = ROOT / "examples" / "quickstart"
MODES = {"freestanding": [], "wasi": ["--wasi"]}


@pytest.mark.parametrize("mode", MODES)
def test_quickstart_builds_and_imports(tmp_path: Path, mode: str) -> None:
    subprocess.run([sys.executable, "-m", "wasmimport", "build", *MODES[mode], "--werror",
                    str(QUICKSTART / "greet.c"), "-o", str(tmp_path / "greet.wasm")],
                   check=True)
    shutil.copy(QUICKSTART / "greet.wasm.toml", tmp_path)
    script = ("import wasmimport; wasmimport.install(); import greet; "
              "print(greet.greet('wörld'), greet.add(2, 3), greet.mean([1.0, 2.0, 4.5])); "
              "help(greet.greet)")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, check=True)
    assert result.stdout.startswith("Hello, wörld! 5 2.5\n")
    assert "greet(name: str) -> str" in result.stdout and "Greet someone." in result.stdout
