"""A CPython whose standard library is a zip (Pyodide's ``/lib/python314.zip``, Windows'
embeddable Python, frozen apps): with the hook installed, stdlib submodules and wasm modules
in zips import, and the finder never recurses into itself (issue 18, point 8).

The layout is real: a home (``PYTHONHOME``) whose standard library is only the zip of the
running interpreter's ``.py`` files, next to a link to its compiled modules (lib-dynload),
so even ``encodings`` comes from the zip at start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, guest_path, tagged_wat, wat_binary
from wasmimport import _finder

# what the child needs of the standard library does not include these (nor tests)
SKIPPED = {"site-packages", "dist-packages", "test", "tests", "idle_test", "idlelib", "tkinter",
           "turtledemo", "lib2to3", "ensurepip", "pydoc_data", "lib-dynload", "__pycache__"}


def zipped_home(home: Path) -> Path:
    """``home`` laid out as the running interpreter's prefix with its stdlib zipped; returns
    the zip (at the path this interpreter's ``sys.path`` names for it)."""
    [entry] = [p for p in sys.path if p.endswith(".zip") and p.startswith(sys.base_prefix)]
    archive = home / os.path.relpath(entry, sys.base_prefix)
    stdlib = Path(sysconfig.get_path("stdlib"))
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for folder, dirs, files in os.walk(stdlib):
            dirs[:] = [d for d in dirs if d not in SKIPPED and not d.startswith("config-")]
            for name in files:
                if name.endswith(".py"):
                    path = Path(folder, name)
                    zf.write(path, path.relative_to(stdlib).as_posix())
    [dynload] = [p for p in sys.path if p.endswith("lib-dynload")]
    link = home / os.path.relpath(dynload, sys.base_exec_prefix)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(dynload, target_is_directory=True)
    return archive


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the home, its stdlib zip), made once for the module."""
    home = tmp_path_factory.mktemp("home")
    return home, zipped_home(home)


CHILD = """
    import sys
    assert "encodings.cp437" not in sys.modules, "zipfile's codec is imported at start-up"
    sys.path.append(SITE)                 # the engine's package (no site: -S)
    import wasmimport
    from wasmimport import _finder
    if not TOC:                           # as where zipimporter keeps no table we can read
        _finder._toc = lambda importer: None
    wasmimport.install()
    import email.utils, encodings.cp437, json.decoder, urllib.parse
    from zapkg import core
    for module in (email.utils, encodings.cp437, json.decoder, urllib.parse, core):
        print(module.__spec__.origin)
    print(core.echo_str("zipped ü"), core.echo_u64(2**64 - 1), "zipfile" in sys.modules)
    print("|".join(sorted(repr(finder) for finder in sys.path_importer_cache.values()
                          if getattr(finder, "_names", None) is not None)))   # read by zipfile
"""


@pytest.mark.parametrize("toc", [True, False], ids=["zipimporter-toc", "zipfile-read"])
def test_stdlib_submodules_and_wasm_import_from_zips(home: tuple[Path, Path], tmp_path: Path,
                                                     toc: bool) -> None:
    """With zipimporter's table of contents, the finder reads nothing more (``zipfile`` is
    never imported); without it, ``zipfile`` reads the wasm archive alone, and neither its
    import nor its reading (``encodings.cp437``) comes back into the finder."""
    prefix, stdlib_zip = home
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("zapkg/__init__.py", "")
        zf.write(guest_path("edges"), "zapkg/core.wasm")
        zf.write(guest_path("edges").with_suffix(".wasm.toml"), "zapkg/core.wasm.toml")
    code = textwrap.dedent(CHILD).replace(
        "SITE", repr(sysconfig.get_path("purelib"))).replace("TOC", repr(toc))
    env = dict(os.environ, PYTHONHOME=str(prefix), PYTHONPATH=os.pathsep.join([str(ROOT),
                                                                               str(bundle)]))
    done = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    *origins, last, read = done.stdout.splitlines()
    stdlib = [os.path.join(stdlib_zip, *name.split("/")) for name in (
        "email/utils.py", "encodings/cp437.py", "json/decoder.py", "urllib/parse.py")]
    assert origins == [*stdlib, os.path.join(bundle, "zapkg", "core.wasm")]
    assert last == f"zipped ü {2**64 - 1} {not toc}"
    # only for names from outside the standard library (the engine's package, the wasm
    # module): the standard library's packages are zipimport's alone
    read_for = [] if toc else [(stdlib_zip, ""), (bundle, ""), (bundle, "zapkg" + os.sep)]
    assert read == "|".join(sorted(f"<WasmZipFinder {str(archive)!r} prefix {prefix!r}>"
                                   for archive, prefix in read_for))


def test_what_runs_while_zipfile_reads_an_archive_imports_as_zipimport_would(
        hook: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Code that runs while the finder reads an archive with ``zipfile`` (an audit hook on
    ``open``, a codec) may import from that archive: it gets what zipimport finds, and the
    finder does not start reading the archive again (which would never end)."""
    archive = tmp_path / "reread.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zread.wasm", wat_binary(tagged_wat(41)))
        zf.writestr("zside.py", "VALUE = 42\n")
        zf.writestr("zside.wasm", wat_binary(tagged_wat(43)))
    monkeypatch.syspath_prepend(str(archive))
    monkeypatch.setattr(_finder, "_toc", lambda importer: None)
    real = zipfile.ZipFile

    def reading(*args: Any, **kwargs: Any) -> zipfile.ZipFile:
        import zside  # type: ignore[import-not-found]
        assert zside.VALUE == 42
        return real(*args, **kwargs)
    monkeypatch.setattr(zipfile, "ZipFile", reading)
    import zread  # type: ignore[import-not-found]
    assert zread.which() == 41
