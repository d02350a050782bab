"""Run Brotli's own Python test suite against brotli-wasm (sample_pkgs/brotli-wasm).

The pinned brotli sdist (the same one the package is built from) is downloaded with pip
into tests/real/ and its sha256 checked; its ``python/tests`` (with ``python/bro.py``, the
command-line tool its bro_test runs, and ``tests/testdata``) run unchanged in a fresh
virtual environment holding only wasmimport, brotli-wasm and pytest, once on each call path.
Any failure, error or skip fails the run; so does a suite that imported another ``brotli``.
Run by `make brotli-suite` (part of `make test`).

    python tools/brotli_suite.py [--python PYTHON] [--venv DIR] [--paths compiled,pure]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import sdists

ROOT = sdists.ROOT
VERSION = "1.2.1"
SHA256 = "02b2f7b5a83485efe448a44ddf7983def05c3bb1dcf917d4f7154070260e13de"
# run by the fresh venv's Python: which brotli the suite will test, on which call path
WHICH = ("import brotli, sys; kind = type(brotli._brotli.decompress).__name__; "
         "print(brotli.__file__, kind); sys.exit(0 if kind == sys.argv[1] else 1)")


def tests_tree(into: Path) -> Path:
    """The sdist's python/tests, python/bro.py and tests/ (its test data) below ``into``;
    not python/brotli.py, the original package, which would shadow the one under test."""
    archive = sdists.sdist("brotli", VERSION, SHA256)
    prefix = f"brotli-{VERSION}/"
    sdists.extract(archive, prefix + "python/tests/", into / "python" / "tests")
    sdists.extract(archive, prefix + "python/bro.py", into / "python" / "bro.py")
    sdists.extract(archive, prefix + "tests/", into / "tests")
    return into


def suite(venv_python: Path, tree: Path, pure: bool) -> tuple[int, str]:
    """Run the suite on one call path; (passed, summary line); exits on anything else."""
    env = {**os.environ, "WASMIMPORT_PURE": "1" if pure else "0",
           "BROTLI_TESTS_PATH": str(tree / "tests")}
    env.pop("PYTHONPATH", None)
    which = sdists.run([str(venv_python), "-c", WHICH, "function" if pure else "Function"],
                       env=env, cwd=tree, capture_output=True)
    print(f"brotli under test: {which.stdout.strip()}")
    result = subprocess.run([str(venv_python), "-m", "pytest", "-p", "no:cacheprovider",
                             "-q", "-rfEs", "python/tests"], env=env, cwd=tree, text=True,
                            capture_output=True)
    print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
    where = "pure" if pure else "compiled"
    return sdists.judged(result, f"brotli_suite: brotli {VERSION}'s suite against "
                                 f"brotli-wasm ({where} path)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter to make the fresh venv with")
    parser.add_argument("--venv", default=str(ROOT / ".venv-brotli"),
                        help="where to make it (replaced)")
    parser.add_argument("--paths", default="compiled,pure",
                        help="the call paths to run it on (default: both)")
    args = parser.parse_args()
    venv_python = sdists.fresh_venv(args.python, Path(args.venv),
                                    [str(ROOT / "sample_pkgs" / "brotli-wasm")])
    with tempfile.TemporaryDirectory(prefix="brotli-suite-") as tmp:
        tree = tests_tree(Path(tmp))
        results = [(path, *suite(venv_python, tree, path == "pure"))
                   for path in args.paths.split(",")]
    for path, passed, summary in results:
        print(f"brotli {VERSION}'s own suite against brotli-wasm, {path} path: {passed} "
              f"passed, 0 not applicable ({summary})")


if __name__ == "__main__":
    main()
