"""`make dist`: wasmimport's sdist, its platform wheel (with the compiled ``_speedups``), its
pure ``py3-none-any`` wheel (the one micropip installs in Pyodide), and the sample packages'
wheels in OUT/samples/.

Both of wasmimport's wheels are built from the sdist, each from a fresh unpacking of it: so
the sdist is known to be complete, and nothing built in the checkout (the editable install's
in-place extension, build/) can slip into a wheel.  The sample wheels are kept apart from
what would be published (PyPI has unrelated projects called textkit and numkit).
tests/test_dist.py builds the pure wheel with these same functions.

    python tools/dist.py [OUT]     (default: dist/)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ("textkit", "numkit", "mmh3-wasm")
COMPILED = (".so", ".pyd", ".dylib", ".dll")


def build(source: Path, out: Path, kind: str, *, pure: bool = False) -> Path:
    """``python -m build --KIND`` (``sdist`` or ``wheel``) of ``source``, the file made moved
    into ``out``.  WASMIMPORT_PURE_WHEEL is always set, so the caller's environment cannot
    leave the extension's sources out of an sdist or the extension out of a wheel."""
    env = {**os.environ, "WASMIMPORT_PURE_WHEEL": "1" if pure else "0"}
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "build", f"--{kind}", "--outdir", scratch,
                        str(source)], check=True, env=env)
        (made,) = Path(scratch).iterdir()
        out.mkdir(parents=True, exist_ok=True)
        return Path(shutil.move(made, out / made.name))


def wheel(sdist: Path, out: Path, *, pure: bool) -> Path:
    """wasmimport's wheel built from a fresh unpacking of ``sdist``: for this platform, or
    pure (no extension)."""
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(sdist) as tar:
            tar.extractall(scratch, filter="data")
        (tree,) = Path(scratch).iterdir()
        return build(tree, out, "wheel", pure=pure)


def compiled(archive: Path) -> list[str]:
    """The compiled files in a wheel."""
    with zipfile.ZipFile(archive) as zf:
        return [name for name in zf.namelist() if name.endswith(COMPILED)]


def main(out: Path) -> None:
    sdist = build(ROOT, out, "sdist")
    platform = wheel(sdist, out, pure=False)
    if not compiled(platform):     # the extension is optional: a failed compile only warns
        sys.exit(f"dist: {platform.name} has no compiled _speedups: see the compiler's "
                 "errors above")
    wheel(sdist, out, pure=True)
    for name in SAMPLES:
        build(ROOT / "sample_pkgs" / name, out / "samples", "wheel")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist")
