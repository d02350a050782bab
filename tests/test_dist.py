"""`make dist`'s pure wheel: ``wasmimport-<version>-py3-none-any.whl``, the one micropip
installs in Pyodide (issue 18, point 9).

Built for real, by the functions `make dist` runs (tools/dist.py), from a copy of the source
tree: the sdist first, then the wheel from it with ``WASMIMPORT_PURE_WHEEL=1``.  Installed
into a fresh virtual environment, where it imports a wasm module on the pure call path.
"""

from __future__ import annotations

import importlib.util
import subprocess
import tarfile
import types
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from test_install import source_tree
from test_wheels import bare_venv, pip, requires

import wasmimport
from conftest import ROOT, guest_path

# Pyodide's environment markers (its CPython 3.14 build): what micropip evaluates
PYODIDE = {"sys_platform": "emscripten", "platform_system": "Emscripten",
           "platform_machine": "wasm32", "python_version": "3.14",
           "python_full_version": "3.14.0", "implementation_name": "cpython"}
CHECK = """
import sys
import wasmimport
from wasmimport import _extension
wasmimport.install()
sys.path.insert(0, sys.argv[1])
import edges
print(_extension.extension() is None, wasmimport.__file__.startswith(sys.prefix),
      type(edges.echo_i32).__name__, edges.echo_i32(-5), edges.echo_str("héllo"))
"""


def dist_tool() -> types.ModuleType:
    """tools/dist.py, the script behind `make dist` (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("wasmimport_dist", ROOT / "tools" / "dist.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DIST = dist_tool()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """wasmimport's sdist and its pure wheel, as `make dist` makes them."""
    out = tmp_path_factory.mktemp("dist")
    sdist = DIST.build(source_tree(tmp_path_factory.mktemp("src")), out, "sdist")
    return sdist, DIST.wheel(sdist, out, pure=True)


def test_the_sdist_carries_the_extensions_sources_and_nothing_compiled(
        built: tuple[Path, Path]) -> None:
    sdist, _ = built
    with tarfile.open(sdist) as tar:
        names = {name.partition("/")[2] for name in tar.getnames()}
    assert {"setup.py", "wasmimport/_speedups.c", "wasmimport/_speedups_compound.h"} <= names
    assert not [name for name in names if name.endswith(DIST.COMPILED)]


def test_the_pure_wheel_is_py3_none_any_without_the_extension(built: tuple[Path, Path]) -> None:
    _, wheel = built
    assert wheel.name == "wasmimport-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        tags = zf.read("wasmimport-0.1.0.dist-info/WHEEL").decode().splitlines()
    assert {"Root-Is-Purelib: true", "Tag: py3-none-any"} <= set(tags)
    assert not [name for name in names if name.endswith((*DIST.COMPILED, ".c"))]
    assert [name for name in names if "_speedups" in name] == ["wasmimport/_speedups.pyi"]
    assert {"wasmimport/backends/__init__.py", "wasmimport/backends/_wasmtime.py"} <= set(names)
    # every module of the package, subpackages included (a subpackage missing from
    # pyproject's list would be left out silently)
    source = Path(wasmimport.__file__).parent
    modules = {f"wasmimport/{p.relative_to(source).as_posix()}" for p in source.rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules <= set(names), sorted(modules - set(names))


def test_wasmtime_is_required_everywhere_but_emscripten(built: tuple[Path, Path]) -> None:
    _, wheel = built
    needs = {(req := Requirement(line)).name: req for line in requires(wheel)}
    wasmtime, tomli = needs["wasmtime"], needs["tomli"]
    assert wasmtime.marker is not None and tomli.marker is not None
    assert str(wasmtime.marker) == 'sys_platform != "emscripten"'
    assert not wasmtime.marker.evaluate(PYODIDE)
    assert wasmtime.marker.evaluate({"sys_platform": "linux"})
    assert wasmtime.marker.evaluate()                       # this machine
    assert tomli.marker.evaluate({"python_version": "3.10"})
    # in Pyodide nothing else is needed: micropip installs the wheel offline
    assert [name for name, req in needs.items()
            if req.marker is None or req.marker.evaluate(PYODIDE)] == []


def test_the_pure_wheel_installs_and_imports_wasm_on_the_pure_path(built: tuple[Path, Path],
                                                                   tmp_path: Path) -> None:
    _, wheel = built
    python, bare = bare_venv(tmp_path / "venv")
    # wasmtime (and tomli, on 3.10) resolved by pip; the wasmer extra installs wasmer where
    # it has wheels, so this run's backend is there
    pip(python, "install", "-q", f"{wheel}[wasmer]", env=bare)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([str(python), "-c", CHECK, str(guest_path("edges").parent)],
                          capture_output=True, text=True, cwd=elsewhere, env=bare)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True True function -5 héllo\n"
