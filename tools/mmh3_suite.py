"""Run mmh3's own test suite against mmh3-wasm, the wasm drop-in in sample_pkgs/mmh3-wasm.

The pinned mmh3 source distribution is downloaded with pip into tests/real/ (test data,
git-ignored, its sha256 checked); its tests/ folder runs, unchanged, in a fresh virtual
environment holding only wasmimport, mmh3-wasm and pytest, once on each call path
(compiled, then WASMIMPORT_PURE=1).  Any failure, error or skip fails the run; so does a
suite that imported some other ``mmh3``.  Run by `make mmh3-suite` (part of `make test`).

The sdist's tests import ``u32_to_s32`` from a ``tests/helper.py`` that the sdist does not
ship; this script writes that two-line helper (see docs/drop-in.md).

    python tools/mmh3_suite.py [--python PYTHON] [--venv DIR]
    python tools/mmh3_suite.py --pyodide        (inside Pyodide, on the js backend)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import sdists

ROOT = sdists.ROOT
VERSION = "5.3.1"
SHA256 = "bd86d0c86b52332319d981d03781ff77811a29db544a69902dc06b5506bb3e19"
HELPER = '''"""u32_to_s32, which mmh3's tests import but its sdist does not ship (written here)."""


def u32_to_s32(value: int) -> int:
    return value - 2**32 if value >= 2**31 else value
'''
# run by the fresh venv's Python: which mmh3 the suite will test, on which call path
WHICH = ("import mmh3, sys; print(mmh3.__file__, type(mmh3._murmur.hash).__name__); "
         "sys.exit(0 if type(mmh3._murmur.hash).__name__ == sys.argv[1] else 1)")


def sdist() -> Path:
    """The pinned sdist, downloaded once and checked."""
    return sdists.sdist("mmh3", VERSION, SHA256)


def tests_folder(archive: Path, into: Path) -> Path:
    """mmh3's tests/ folder from the sdist, plus the helper it lacks."""
    sdists.extract(archive, f"mmh3-{VERSION}/tests/", into / "tests")
    helper = into / "tests" / "helper.py"
    if helper.exists():
        sys.exit("mmh3_suite: the sdist now ships tests/helper.py: drop ours")
    helper.write_text(HELPER)
    return into / "tests"


def suite(venv_python: Path, tests: Path, pure: bool) -> tuple[int, str]:
    """Run the suite on one call path; (passed, summary line); exits on anything else."""
    env = {**os.environ, "WASMIMPORT_PURE": "1" if pure else "0"}
    env.pop("PYTHONPATH", None)
    which = sdists.run([str(venv_python), "-c", WHICH, "function" if pure else "Function"],
                       env=env, cwd=tests.parent, capture_output=True)
    print(f"mmh3 under test: {which.stdout.strip()}")
    result = subprocess.run([str(venv_python), "-m", "pytest", "-p", "no:cacheprovider",
                             "-q", "-rfEs", str(tests)], env=env, cwd=tests.parent,
                            text=True, capture_output=True)
    print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
    return judged(result, f"{'pure' if pure else 'compiled'} path")


THREADED = "test_free_threading.py"     # its 3 tests start threads: none in Pyodide


def pyodide_suite() -> tuple[int, str]:
    """The suite inside Pyodide under Node, on the js backend, against the mmh3-wasm wheel of
    `make dist` installed with micropip (tools/web/pyodide_suite.mjs; the tests are put in
    .cache/ so that the checkout's mount shows them); exits on anything but a pass."""
    folder = ROOT / ".cache" / "mmh3-suite"
    shutil.rmtree(folder, ignore_errors=True)
    tests = tests_folder(sdist(), folder)
    inside = "/repo/" + str(tests.relative_to(ROOT))
    # its thread tests start threads, which Pyodide cannot: not applicable there
    result = subprocess.run(["node", str(ROOT / "tools" / "web" / "pyodide_suite.mjs"),
                             "-q", "-rfEs", "--rootdir", inside,
                             "--ignore", f"{inside}/{THREADED}", inside],
                            text=True, capture_output=True)
    print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
    return judged(result, "js backend, in Pyodide")


def judged(result: subprocess.CompletedProcess[str], where: str) -> tuple[int, str]:
    return sdists.judged(result, f"mmh3_suite: mmh3 {VERSION}'s suite against mmh3-wasm "
                                 f"({where})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter to make the fresh venv with")
    parser.add_argument("--venv", default=str(ROOT / ".venv-mmh3"),
                        help="where to make it (replaced)")
    parser.add_argument("--pyodide", action="store_true",
                        help="run it inside Pyodide under Node instead (after `make dist "
                             "web-deps`)")
    args = parser.parse_args()
    if args.pyodide:
        passed, summary = pyodide_suite()
        print(f"mmh3 {VERSION}'s own suite against mmh3-wasm, js backend in Pyodide: "
              f"{passed} passed, {THREADED} not applicable: no threads ({summary})")
        return
    venv_python = sdists.fresh_venv(args.python, Path(args.venv),
                                    [str(ROOT / "sample_pkgs" / "mmh3-wasm")])
    with tempfile.TemporaryDirectory(prefix="mmh3-suite-") as tmp:
        tests = tests_folder(sdist(), Path(tmp))
        results = [(path, *suite(venv_python, tests, path == "pure"))
                   for path in ("compiled", "pure")]
    for path, passed, summary in results:
        print(f"mmh3 {VERSION}'s own suite against mmh3-wasm, {path} path: {passed} passed, "
              f"0 not applicable ({summary})")


if __name__ == "__main__":
    main()
