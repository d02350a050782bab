"""Shipping: each sample package is a pure `py3-none-any` wheel that installs and runs where
there is no C toolchain at all (issue 7, part 1).

Real wheels (`pip wheel`), a real fresh virtual environment whose PATH holds nothing but its
own `bin/`, and imports from an unrelated working directory.  wasmimport itself comes from
a wheel built here too, as users get it from PyPI; wasmtime from the package index.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from test_install import source_tree

from conftest import ROOT

SAMPLES = {"textkit": "_textkit", "numkit": "_numkit"}
CHECK = """
import numkit, textkit
print(textkit.upper("wheel ü"), textkit.word_count("a b c"), numkit.crc32(b"hello"),
      numkit.gcd(12, 18), textkit.__file__.startswith(__import__("sys").prefix))
"""


def pip(python: Path | str, *args: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True,
                          env=env)
    assert done.returncode == 0, done.stdout + done.stderr


def bare_venv(directory: Path) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment's Python, and an environment to run it in as a user's
    machine would: PATH holds only the venv's bin/ (no C toolchain), and no WASMIMPORT_PURE*
    or PYTHON* variable (PYTHONPATH could reach this checkout) is passed on."""
    venv.create(directory, with_pip=True)
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("WASMIMPORT_PURE",
                                                                     "PYTHON"))}
    bare["PATH"] = str(directory / "bin")         # no cc, gcc, clang, wasm-ld, make
    for tool in ("cc", "gcc", "clang", "wasm-ld"):
        assert shutil.which(tool, path=bare["PATH"]) is None
    return directory / "bin" / "python", bare


def requires(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        (metadata,) = (n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(zf.read(metadata)).get_all("Requires-Dist", [])


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of wheels: wasmimport's and each sample package's."""
    dist = tmp_path_factory.mktemp("dist")
    source = source_tree(tmp_path_factory.mktemp("src"))
    pip(sys.executable, "wheel", "-q", "--no-deps", "-w", str(dist), str(source))
    for name in SAMPLES:
        sample = tmp_path_factory.mktemp(name)
        shutil.copytree(ROOT / "sample_pkgs" / name, sample, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("build", "*.egg-info"))
        pip(sys.executable, "wheel", "-q", "--no-deps", "-w", str(dist), str(sample))
    return dist


@pytest.mark.parametrize("name", SAMPLES)
def test_a_sample_wheel_is_pure_carries_module_manifest_and_stub_needs_only_wasmimport(
        wheels: Path, name: str) -> None:
    (wheel,) = wheels.glob(f"{name}-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    module = SAMPLES[name]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {f"{name}/__init__.py", f"{name}/{module}.wasm", f"{name}/{module}.wasm.toml",
            f"{name}/{module}.pyi", f"{name}/py.typed"} <= names, names
    assert requires(wheel) == ["wasmimport"]     # any platform: Pyodide's micropip too


def test_the_wheels_install_and_run_without_any_c_toolchain(wheels: Path,
                                                            tmp_path: Path) -> None:
    python, bare = bare_venv(tmp_path / "venv")
    # the wheels by path: PyPI has unrelated projects called textkit and numkit.  (The
    # wasmer extra installs wasmer where it has wheels: this run's backend is there.)
    (wasmimport_wheel,) = wheels.glob("wasmimport-*.whl")
    samples = [str(next(wheels.glob(f"{name}-*.whl"))) for name in SAMPLES]
    pip(python, "install", "-q", f"{wasmimport_wheel}[wasmer]", *samples, env=bare)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True,
                          cwd=elsewhere, env=bare)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"WHEEL ü 3 {0x3610A686} 6 True\n"     # (upper() is ASCII only)
    assert list(elsewhere.iterdir()) == []


HATCH = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "textkit"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["wasmimport"]

[tool.hatch.build.targets.wheel]
packages = ["src/textkit"]
"""


def test_hatchling_needs_artifacts_for_git_ignored_modules(tmp_path: Path) -> None:
    """docs/packaging.md's hatchling configuration, for real: without ``artifacts`` the
    git-ignored module and stub are left out of the wheel; with it they are in."""
    contents = {}
    for variant, extra in (("plain", ""), ("artifacts", 'artifacts = ["*.wasm", "*.pyi"]\n')):
        project = tmp_path / variant
        shutil.copytree(ROOT / "sample_pkgs" / "textkit" / "src", project / "src",
                        ignore=shutil.ignore_patterns("*.egg-info"))
        (project / "pyproject.toml").write_text(HATCH + extra)
        (project / ".gitignore").write_text("*.wasm\n*.pyi\n")
        pip(sys.executable, "wheel", "-q", "--no-deps", "-w", str(tmp_path / variant / "dist"),
            str(project))
        (wheel,) = (project / "dist").glob("textkit-*.whl")
        assert wheel.name.endswith("-py3-none-any.whl")
        with zipfile.ZipFile(wheel) as zf:
            contents[variant] = {n for n in zf.namelist() if n.startswith("textkit/")}
    shipped = {"textkit/_textkit.wasm", "textkit/_textkit.pyi"}
    assert not shipped & contents["plain"]
    assert shipped | {"textkit/_textkit.wasm.toml", "textkit/py.typed",
                      "textkit/__init__.py"} <= contents["artifacts"]
