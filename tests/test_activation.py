"""`python -m wasmimport enable/disable/status`: the hook installed at interpreter start.

A real fresh virtual environment (wasmimport and its dependencies reach it through a
``.pth`` of paths), and a script that imports a wasm module without calling ``install()``,
as a third-party package would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

from conftest import ROOT, guest_path

USE = """
import sys
sys.path.insert(0, sys.argv[1])
import edges
print(edges.echo_i32(-4))
"""
DEPS = f"{ROOT}\n{sysconfig.get_path('purelib')}\n"    # wasmimport, and what it needs


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), *args], capture_output=True, text=True, cwd=cwd,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})


def fresh_env(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A new venv reaching wasmimport and its dependencies through ``deps.pth``: its
    python, its site-packages and that file."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site_packages = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path("
                                           "'purelib'))", cwd=tmp_path).stdout.strip())
    deps = site_packages / "deps.pth"
    deps.write_text(DEPS)
    return python, site_packages, deps


def test_enable_installs_the_hook_at_start_up_and_disable_removes_it(tmp_path: Path) -> None:
    python, site_packages, deps = fresh_env(tmp_path)
    mods = tmp_path / "mods"
    mods.mkdir()
    for suffix in (".wasm", ".wasm.toml"):
        shutil.copy(guest_path("edges").with_suffix(suffix), mods / f"edges{suffix}")
    (tmp_path / "use.py").write_text(USE)

    before = run(python, "use.py", str(mods), cwd=tmp_path)
    assert before.returncode == 1 and "No module named 'edges'" in before.stderr
    assert run(python, "-m", "wasmimport", "status", cwd=tmp_path).stdout.startswith(
        f"disabled: no wasmimport-hook.pth in {site_packages}")

    enabled = run(python, "-m", "wasmimport", "enable", cwd=tmp_path)
    pth = site_packages / "wasmimport-hook.pth"
    assert enabled.returncode == 0 and enabled.stdout.startswith(f"enabled: {pth} ")
    after = run(python, "use.py", str(mods), cwd=tmp_path)
    assert (after.returncode, after.stdout, after.stderr) == (0, "-4\n", "")
    status = run(python, "-m", "wasmimport", "status", cwd=tmp_path).stdout.splitlines()
    assert status == [f"enabled: the import hook is installed at start-up by {pth}",
                      "in this process the hook is installed"]

    # wasmimport gone (uninstalled) but the file left behind: start-up is untouched
    deps.unlink()
    stale = run(python, "-c", "import sys; print('wasmimport' in sys.modules)", cwd=tmp_path)
    assert (stale.returncode, stale.stdout, stale.stderr) == (0, "False\n", "")
    deps.write_text(DEPS)

    disabled = run(python, "-m", "wasmimport", "disable", cwd=tmp_path)
    assert disabled.stdout == f"disabled: removed {pth}\n" and not pth.exists()
    again = run(python, "use.py", str(mods), cwd=tmp_path)
    assert again.returncode == 1 and "No module named 'edges'" in again.stderr
    assert run(python, "-m", "wasmimport", "disable", cwd=tmp_path).stdout.startswith(
        "already disabled: no wasmimport-hook.pth in ")


MODULES = "import sys; print(' '.join(sorted(sys.modules)))"


def test_an_enabled_start_up_imports_only_the_finder_until_a_wasm_file_is_found(
        tmp_path: Path) -> None:
    python, _, _ = fresh_env(tmp_path)
    plain = run(python, "-c", MODULES, cwd=tmp_path).stdout.split()
    assert run(python, "-m", "wasmimport", "enable", cwd=tmp_path).returncode == 0
    enabled = run(python, "-c", MODULES, cwd=tmp_path).stdout.split()
    assert set(enabled) - set(plain) == {"wasmimport", "wasmimport._finder"}
    assert set(plain) - set(enabled) == set()
    # importing Python modules (stdlib and not) loads nothing more of wasmimport
    (tmp_path / "plainpy.py").write_text("VALUE = 1\n")
    code = ("import json, plainpy, sys; from wasmimport import _finder; "
            "assert _finder.is_installed(); "
            "print(' '.join(m for m in sys.modules if m.startswith(('wasmimport', 'ctypes', "
            "'_hashlib'))))")
    done = run(python, "-c", code, cwd=tmp_path)
    assert (done.stdout.split(), done.stderr) == (["wasmimport", "wasmimport._finder"], "")
    # and a wasm file found brings in the rest
    mods = tmp_path / "mods"
    mods.mkdir()
    for suffix in (".wasm", ".wasm.toml"):
        shutil.copy(guest_path("edges").with_suffix(suffix), mods / f"edges{suffix}")
    (tmp_path / "use.py").write_text(USE + "print('wasmimport._loader' in sys.modules)\n")
    used = run(python, "use.py", str(mods), cwd=tmp_path)
    assert (used.returncode, used.stdout, used.stderr) == (0, "-4\nTrue\n", "")


def test_enable_into_a_folder_it_cannot_write_says_what_to_do(tmp_path: Path) -> None:
    python, site_packages, _ = fresh_env(tmp_path)
    site_packages.chmod(0o555)
    try:
        if os.access(site_packages, os.W_OK):      # root ignores the mode: a file in the way
            site_packages.chmod(0o755)
            (site_packages / "wasmimport-hook.pth").mkdir()
        done = run(python, "-m", "wasmimport", "enable", cwd=tmp_path)
    finally:
        site_packages.chmod(0o755)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot write wasmimport-hook.pth into "
                                  f"{site_packages}: ")
    assert done.stderr.rstrip().endswith("use a virtual environment, or --user")
    assert [p.name for p in site_packages.glob("*.tmp")] == []
