"""The import hook: where `import x` finds x.wasm, and with which precedence."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import wasmimport
from conftest import ROOT, guest_path, has, refused, tagged_wat, wat_binary


def write_module(folder: Path, name: str, tag: int, suffix: str = ".wasm") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{suffix}"
    if suffix == ".wat":
        path.write_text(tagged_wat(tag))
    else:
        path.write_bytes(wat_binary(tagged_wat(tag)))
    return path


def test_import_finds_wasm_on_sys_path(hook: None, syspath: Path) -> None:
    path = write_module(syspath, "tagmod", 7)
    import tagmod  # type: ignore[import-not-found]
    assert tagmod.which() == 7
    assert tagmod.add(2, 3) == 5
    assert tagmod.__file__ == str(path)
    assert tagmod.__spec__.origin == str(path)
    assert isinstance(tagmod.__loader__, wasmimport.WasmLoader)


def test_wat_text_modules_import(hook: None, syspath: Path) -> None:
    path = write_module(syspath, "textmod", 3, ".wat")
    if not has("wat"):         # found, and refused by name
        with pytest.raises(wasmimport.WasmImportError, match=re.escape(str(path)) +
                           r": not a wasm binary; text \(wat\) " + refused("wat")):
            import textmod  # type: ignore[import-not-found]
        return
    import textmod
    assert textmod.which() == 3
    assert textmod.__file__.endswith("textmod.wat")


def test_wasm_wins_over_wat_and_py_in_one_directory(hook: None, syspath: Path) -> None:
    write_module(syspath, "both", 1, ".wasm")
    write_module(syspath, "both", 2, ".wat")
    (syspath / "both.py").write_text("def which(): return 3\n")
    import both  # type: ignore[import-not-found]
    assert both.which() == 1


def test_package_directory_wins_over_wasm(hook: None, syspath: Path) -> None:
    write_module(syspath, "pkgwins", 1)
    (syspath / "pkgwins").mkdir()
    (syspath / "pkgwins" / "__init__.py").write_text("KIND = 'package'\n")
    import pkgwins  # type: ignore[import-not-found]
    assert pkgwins.KIND == "package"


def test_first_sys_path_entry_wins(hook: None, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    (first).mkdir()
    (first / "order.py").write_text("def which(): return 'py'\n")
    write_module(second, "order", 2)
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    import order  # type: ignore[import-not-found]
    assert order.which() == "py"


def test_wasm_in_earlier_entry_beats_py_in_later_one(hook: None, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_module(first, "order2", 1)
    second.mkdir()
    (second / "order2.py").write_text("def which(): return 'py'\n")
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    import order2  # type: ignore[import-not-found]
    assert order2.which() == 1


def test_submodule_of_regular_package(hook: None, syspath: Path) -> None:
    pkg = syspath / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    write_module(pkg, "_speedups", 11)
    from mypkg import _speedups  # type: ignore[import-not-found]
    assert _speedups.which() == 11
    assert _speedups.__name__ == "mypkg._speedups"
    assert _speedups.__package__ == "mypkg"
    assert _speedups.which.__module__ == "mypkg._speedups"


def test_namespace_package_portions(hook: None, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for portion, tag in (("a", 1), ("b", 2)):
        write_module(tmp_path / portion / "nsp", f"mod{portion}", tag)
        monkeypatch.syspath_prepend(str(tmp_path / portion))
    import nsp.moda  # type: ignore[import-not-found]
    import nsp.modb  # type: ignore[import-not-found]
    assert nsp.moda.which() == 1 and nsp.modb.which() == 2
    assert nsp.__file__ is None   # really a namespace package


def test_zip_archive_on_sys_path(hook: None, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zpkg/__init__.py", "")
        zf.writestr("zpkg/inner.wasm", wat_binary(tagged_wat(21)))
        zf.writestr("zpkg/inner.wasm.toml", '[functions]\nadd = "(a: u8, b: u8) -> u8"\n')
        if has("wat"):       # a text module found in a zip too (binary where text is refused)
            zf.writestr("ztop.wat", tagged_wat(22))
        else:
            zf.writestr("ztop.wasm", wat_binary(tagged_wat(22)))
        zf.writestr("zns/", "")   # namespace portions in zips need the directory entry
        zf.writestr("zns/portion.wasm", wat_binary(tagged_wat(23)))
    monkeypatch.syspath_prepend(str(archive))
    import zns.portion  # type: ignore[import-not-found]
    import zpkg.inner  # type: ignore[import-not-found]
    import ztop  # type: ignore[import-not-found]
    assert zpkg.inner.which() == 21
    assert ztop.which() == 22
    assert zns.portion.which() == 23
    # the sidecar was read from inside the zip: u8 is range-checked
    with pytest.raises(OverflowError):
        zpkg.inner.add(256, 1)
    assert zpkg.inner.__file__ == os.path.join(str(archive), "zpkg", "inner.wasm")


def test_zip_reads_through_the_archive_not_the_filesystem(hook: None, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "only.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zonly.wasm", wat_binary(tagged_wat(5)))
    monkeypatch.syspath_prepend(str(archive))
    real_open = open

    def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert "zonly" not in str(file), f"opened {file} from the filesystem"
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr("builtins.open", guarded_open)
    import zonly  # type: ignore[import-not-found]
    assert zonly.which() == 5


@pytest.mark.needs("processes")
def test_a_zipapp_runs_its_wasm_from_inside_the_archive_and_caches_it(tmp_path: Path) -> None:
    """A `.pyz` made by `python -m zipapp` imports a package's wasm module through the zip
    loader: nothing is extracted (the cache holds only compiled entries), and the second
    run loads the compiled code the first one cached.  The archive's table of contents is
    the one zipimport read: ``zipfile`` is not imported."""
    app = tmp_path / "app"
    (app / "zapkg").mkdir(parents=True)
    (app / "zapkg" / "__init__.py").write_text("import wasmimport\nwasmimport.install()\n")
    (app / "zapkg" / "core.wasm").write_bytes(guest_path("edges").read_bytes())
    (app / "zapkg" / "core.wasm.toml").write_text(
        guest_path("edges").with_suffix(".wasm.toml").read_text())
    (app / "__main__.py").write_text(
        "import sys\nfrom zapkg import core\nprint(core.echo_str('zipped ü'), "
        "core.echo_u64(2**64 - 1), core.__file__, 'zipfile' in sys.modules)\n")
    pyz = tmp_path / "app.pyz"
    subprocess.run([sys.executable, "-m", "zipapp", str(app), "-o", str(pyz)], check=True)
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(ROOT), WASMIMPORT_CACHE_DIR=str(cache))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for _ in range(2):
        done = subprocess.run([sys.executable, str(pyz)], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"zipped ü {2**64 - 1} {pyz / 'zapkg' / 'core.wasm'} False\n"
        entries = sorted(p.suffix for p in cache.rglob("*") if p.is_file())
        assert entries == [".cwasm", ".manifest", ".plan"], entries     # no copies
    assert list(elsewhere.iterdir()) == []


def test_reimport_gives_fresh_instance_and_new_functions(hook: None, syspath: Path) -> None:
    write_module(syspath, "stateful", 1)
    import stateful  # type: ignore[import-not-found]
    assert stateful.bump() == 1
    assert stateful.bump() == 2
    old_bump = stateful.bump
    del sys.modules["stateful"]
    import stateful as again  # type: ignore[import-not-found]
    assert again.bump() == 1          # new instance: its own globals
    assert again.bump is not old_bump
    assert old_bump() == 3            # the old module keeps its own instance


def test_two_loads_are_independent_instances(syspath: Path) -> None:
    path = write_module(syspath, "twice", 1)
    a = wasmimport.load(path)
    b = wasmimport.load(path)
    a.bump()
    a.bump()
    assert b.bump() == 1


def test_uninstall_removes_hook_and_install_is_idempotent(syspath: Path) -> None:
    write_module(syspath, "hooked", 1)
    hooks_before = list(sys.path_hooks)
    wasmimport.install()
    wasmimport.install()
    assert len(sys.path_hooks) == len(hooks_before) + 2
    assert wasmimport.is_installed()
    wasmimport.uninstall()
    wasmimport.uninstall()
    assert sys.path_hooks == hooks_before
    assert not wasmimport.is_installed()
    with pytest.raises(ModuleNotFoundError):
        import hooked  # type: ignore[import-not-found]  # noqa: F401


def test_install_takes_over_folders_searched_before_it(syspath: Path) -> None:
    """As at start-up with `enable`: sys.path's folders have plain finders (with their
    listing) when install() runs, and wasm modules in them are found afterwards."""
    write_module(syspath, "early", 31)
    (syspath / "earlypy.py").write_text("VALUE = 1\n")
    import earlypy  # type: ignore[import-not-found]  # noqa: F401
    assert type(sys.path_importer_cache[str(syspath)]).__name__ == "FileFinder"
    with pytest.raises(ModuleNotFoundError):
        import early  # type: ignore[import-not-found]
    wasmimport.install()
    try:
        import early  # type: ignore[import-not-found]
        assert early.which() == 31
    finally:
        wasmimport.uninstall()
        for name in ("early", "earlypy"):
            sys.modules.pop(name, None)


def test_python_modules_still_import_normally(hook: None, syspath: Path) -> None:
    (syspath / "plainpy.py").write_text("VALUE = 42\n")
    import json.decoder

    import plainpy  # type: ignore[import-not-found]
    assert plainpy.VALUE == 42
    assert json.decoder.__file__.endswith(".py")


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.needs("processes")
def test_wasm_in_working_directory_never_shadows_stdlib(tmp_path: Path) -> None:
    for name in ("json", "csv", "decimal"):
        write_module(tmp_path, name, 99)
    result = run_python("""
        import wasmimport; wasmimport.install()
        import json, csv, decimal
        print(json.__file__, csv.__file__, decimal.__file__)
        print(json.dumps([1]))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert ".wasm" not in result.stdout
    assert "[1]" in result.stdout


@pytest.mark.needs("processes")
def test_wasm_in_working_directory_is_importable_by_its_own_name(tmp_path: Path) -> None:
    write_module(tmp_path, "localmod", 8)
    result = run_python("""
        import wasmimport; wasmimport.install()
        import localmod; print(localmod.which())
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "8"


def test_missing_module_is_module_not_found(hook: None, syspath: Path) -> None:
    with pytest.raises(ModuleNotFoundError):
        import does_not_exist_anywhere  # type: ignore[import-not-found]  # noqa: F401


def test_reload_gives_a_fresh_instance(hook: None, syspath: Path) -> None:
    import importlib
    write_module(syspath, "reloaded", 1)
    import reloaded  # type: ignore[import-not-found]
    reloaded.bump()
    old_bump = reloaded.bump
    assert importlib.reload(reloaded) is reloaded
    assert reloaded.bump() == 1 and reloaded.bump is not old_bump
