"""Installing wasmimport on a machine without a C compiler: the pure-Python fallback.

A real `pip install` of this source tree into a fresh virtual environment, with the C
compiler replaced by one that always fails; the extension is optional, so the install
succeeds and modules run on the pure call path.  The install asks for the ``wasmer`` extra,
which installs wasmer where it has wheels (CPython 3.10) and nothing elsewhere, so the
child runs this run's backend.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from conftest import ROOT, guest_path, has, refused

CHECK = """
import sys, wasmimport
try:
    import wasmimport._speedups
except ImportError:
    print("no extension")
mod = wasmimport.load(sys.argv[1])
print(type(mod.echo_i32).__name__, mod.echo_i32(-5), mod.echo_str("héllo"))
try:
    wasmimport.load(sys.argv[1], manifest={"limits": {"timeout": "1s"}})
except ImportError as exc:
    print(exc)
"""


def source_tree(target: Path) -> Path:
    """The project's files (tracked, or new and not ignored), without anything built."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and source.suffix not in (".so", ".pyd", ".wasm"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_without_a_compiler_the_install_falls_back_to_pure_python(tmp_path: Path) -> None:
    source = source_tree(tmp_path / "src")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    env = {**os.environ, "CC": "false", "CXX": "false", "PIP_NO_CACHE_DIR": "1"}
    env.pop("WASMIMPORT_PURE", None)
    done = subprocess.run([str(python), "-m", "pip", "install", f"{source}[wasmer]"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    checked = subprocess.run([str(python), "-c", CHECK, str(guest_path("edges"))],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[:2] == ["no extension", "function -5 héllo"]
    if has("limits-timeout"):
        assert lines[2].endswith("[limits] timeout needs wasmimport's compiled extension "
                                 "(wasmimport._speedups), and it is not built: reinstall "
                                 "wasmimport on a machine with a C compiler")
    else:
        assert re.search(r"\[limits\] timeout " + refused("limits-timeout"), lines[2])
