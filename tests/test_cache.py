"""The compile cache: hits, misses, damage, permissions, concurrency, zips, the switches."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import wasmimport
from conftest import ROOT, fresh, tagged_wat, wat_binary
from wasmimport import _cache, _facts
from wasmimport.backends import get_backend


def module_bytes(tag: int) -> bytes:
    return wat_binary(tagged_wat(tag))


def only_entry(directory: Path) -> Path:
    """The one entry of compiled code in ``directory``."""
    files = sorted(directory.glob("*.cwasm"))
    assert len(files) == 1, files
    return files[0]


def test_first_import_writes_an_entry_the_next_one_uses(cache: Path, compiles: list[int],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert wasmimport.load(module_bytes(1)).which() == 1
    assert len(compiles) == 1
    entry = only_entry(cache)
    if hasattr(os, "getuid"):
        assert stat.S_IMODE(cache.stat().st_mode) == 0o700
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    fresh(monkeypatch)
    assert wasmimport.load(module_bytes(1)).which() == 1
    assert len(compiles) == 1          # served from disk
    fresh(monkeypatch)
    assert wasmimport.load(module_bytes(2)).which() == 2
    assert len(compiles) == 2          # other bytes, other entry
    assert len(list(cache.glob("*.cwasm"))) == 2


def test_cache_disabled(cache: Path, compiles: list[int],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMIMPORT_CACHE", "0")
    wasmimport.load(module_bytes(1))
    fresh(monkeypatch)
    wasmimport.load(module_bytes(1))
    assert len(compiles) == 2 and not cache.exists()


def damage_truncate(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[:1000])


def damage_flip(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))


def damage_empty(entry: Path) -> None:
    entry.write_bytes(b"")


def damage_garbage_with_valid_trailer(entry: Path) -> None:
    data = entry.read_bytes()
    key = data[-_cache._TRAILER.size:][:32]
    garbage = b"\x7fELF" + os.urandom(4096)
    entry.write_bytes(garbage + _cache._TRAILER.pack(key, __import__("zlib").crc32(garbage),
                                                     len(garbage), _cache._MAGIC))


def damage_group_writable(entry: Path) -> None:
    entry.chmod(0o620)


def damage_symlink(entry: Path) -> None:
    target = entry.with_name("elsewhere.bin")
    entry.rename(target)
    entry.symlink_to(target)


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip, damage_empty,
                                    damage_garbage_with_valid_trailer, damage_group_writable,
                                    damage_symlink])
def test_damaged_entry_is_recompiled_and_replaced(cache: Path, compiles: list[int], damage,  # type: ignore[no-untyped-def]
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    wasmimport.load(module_bytes(3))
    entry = only_entry(cache) if damage is not damage_symlink else next(cache.glob("*.cwasm"))
    good = entry.read_bytes()
    damage(entry)
    fresh(monkeypatch)
    assert wasmimport.load(module_bytes(3)).which() == 3
    assert len(compiles) == 2
    assert not entry.is_symlink() and entry.read_bytes() == good
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    fresh(monkeypatch)
    wasmimport.load(module_bytes(3))
    assert len(compiles) == 2          # and the replacement is used again


def test_foreign_entry_is_detected(cache: Path, compiles: list[int],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    wasmimport.load(module_bytes(4))
    entry_a = only_entry(cache)
    wasmimport.load(module_bytes(5))
    entry_b = next(p for p in cache.glob("*.cwasm") if p != entry_a)
    shutil.copy(entry_a, entry_b)      # module 4's code under module 5's name
    fresh(monkeypatch)
    assert wasmimport.load(module_bytes(5)).which() == 5
    assert len(compiles) == 3


def test_entry_from_another_engine_configuration_is_recompiled(
        cache: Path, compiles: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    import wasmtime
    wasmimport.load(module_bytes(6))
    entry = only_entry(cache)
    config = wasmtime.Config()
    config.consume_fuel = True          # an artifact a differently configured engine made
    other = wasmtime.Module(wasmtime.Engine(config), module_bytes(6)).serialize()
    key = entry.read_bytes()[-_cache._TRAILER.size:][:32]
    import zlib
    entry.write_bytes(bytes(other) + _cache._TRAILER.pack(key, zlib.crc32(other), len(other),
                                                          _cache._MAGIC))
    fresh(monkeypatch)
    assert wasmimport.load(module_bytes(6)).which() == 6
    assert len(compiles) == 2


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_group_writable_cache_dir_is_refused_with_a_warning(
        cache: Path, compiles: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    with pytest.warns(wasmimport.CacheWarning, match="other users can write it"):
        assert wasmimport.load(module_bytes(7)).which() == 7
    assert list(cache.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership")
def test_cache_dir_owned_by_another_user_is_refused(
        cache: Path, compiles: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    if os.getuid() == 0:
        cache.mkdir(mode=0o700)
        os.chown(cache, 65534, 65534)   # nobody
    else:
        monkeypatch.setenv("WASMIMPORT_CACHE_DIR", "/")   # root's
    with pytest.warns(wasmimport.CacheWarning, match="owned by uid"):
        assert wasmimport.load(module_bytes(8)).which() == 8
    assert len(compiles) == 1


def test_failing_cache_write_only_warns(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only_fs(src: str, dst: str) -> None:
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(_cache.os, "replace", read_only_fs)
    with pytest.warns(wasmimport.CacheWarning, match="could not write .*Read-only file system"):
        assert wasmimport.load(module_bytes(9)).which() == 9
    assert list(cache.iterdir()) == []          # the temporary file was removed


def test_cache_dir_that_is_a_file_is_refused(cache: Path) -> None:
    cache.write_text("not a directory")
    with pytest.warns(wasmimport.CacheWarning, match="it is not a directory"):
        assert wasmimport.load(module_bytes(10)).which() == 10


def test_default_directory_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WASMIMPORT_CACHE_DIR")
    if sys.platform in ("win32", "darwin"):
        assert _cache.cache_dir().endswith(("Cache", "wasmimport"))
        return
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _cache.cache_dir() == str(tmp_path / "wasmimport")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _cache.cache_dir() == str(tmp_path / ".cache" / "wasmimport")


def run(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **env))


def test_cache_ignores_pythondontwritebytecode(cache: Path, tmp_path: Path) -> None:
    (tmp_path / "nobytecode.wasm").write_bytes(module_bytes(11))
    result = run("import wasmimport; wasmimport.install(); import nobytecode; "
                 "print(nobytecode.which())", tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert result.returncode == 0 and result.stdout == "11\n", result.stderr
    before = only_entry(cache).stat()
    again = run("import wasmimport; wasmimport.install(); import nobytecode", tmp_path,
                PYTHONDONTWRITEBYTECODE="1")
    assert again.returncode == 0, again.stderr
    after = only_entry(cache).stat()           # a hit: the entry was not rewritten
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_zip_and_read_only_folder_imports_are_cached(cache: Path, tmp_path: Path) -> None:
    archive = tmp_path / "z.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inzip.wasm", module_bytes(12))
    readonly = tmp_path / "ro"
    readonly.mkdir()
    (readonly / "inro.wasm").write_bytes(module_bytes(13))
    readonly.chmod(0o555)
    code = f"""
        import sys, wasmimport
        sys.path[:0] = [{str(archive)!r}, {str(readonly)!r}]
        wasmimport.install()
        import inzip, inro
        print(inzip.which(), inro.which())
    """
    result = run(code, tmp_path)
    assert result.stdout == "12 13\n", result.stderr
    assert len(list(cache.glob("*.cwasm"))) == 2


def test_eight_processes_importing_at_once(cache: Path, tmp_path: Path) -> None:
    big = "".join(f'(func (export "f{i}") (param i32) (result i32) local.get 0 '
                  f'i32.const {i} i32.add)' for i in range(3000))
    (tmp_path / "racy.wasm").write_bytes(wat_binary(f"(module {big})"))
    code = ("import wasmimport; wasmimport.install(); import racy; "
            "assert racy.f7(1) == 8; print('ok')")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, results
    assert all(out == "ok\n" and err == "" for out, err in results), results
    entry = only_entry(cache)          # one entry, no temporary files left behind
    digest = __import__("hashlib").sha256((tmp_path / "racy.wasm").read_bytes()).digest()
    key = _cache.entry_key(get_backend(), digest + _facts.PREPARED)
    assert _cache._verified(str(entry), key)


MANIFEST = '''
doc = "Every kind of entry."
[abi]
free = "free"
[functions]
add = "(a: i32, /, b: u8 = 7, *, c: f64 = -1.5) -> i32"
s = { signature = "(x: str = 'dé', y: bytes = b'ab', z: list[i64] = [1, -2]) -> str", doc = "S." }
[functions.core]
export = "raw-name"
'''


def test_manifests_are_remembered_without_tomllib(cache: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmimport import _manifest
    first = _manifest.parse_manifest(MANIFEST, "m.toml")
    assert len(list(cache.glob("*.manifest"))) == 1

    def no_toml(text: str, source: str) -> None:
        raise AssertionError("parsed the TOML again")
    monkeypatch.setattr(_manifest, "_toml", no_toml)
    again = _manifest.parse_manifest(MANIFEST, "elsewhere.toml")
    assert _manifest.to_plain(again) == _manifest.to_plain(first)
    assert again.source == "elsewhere.toml"          # the source is never remembered
    add = again.functions[0].signature
    assert add is not None and [p.kind for p in add.params] == [
        _manifest.POSITIONAL_ONLY, _manifest.POSITIONAL_OR_KEYWORD, _manifest.KEYWORD_ONLY]
    assert [p.default for p in again.functions[1].signature.params] == ["dé", b"ab", [1, -2]]
    assert again.abi.free == "free" and again.functions[2].signature is None
    # a damaged entry is not believed: the TOML is parsed again
    entry = next(cache.glob("*.manifest"))
    entry.write_bytes(entry.read_bytes()[:-1] + b"x")
    with pytest.raises(AssertionError, match="parsed the TOML again"):
        _manifest.parse_manifest(MANIFEST, "m.toml")


def test_bad_manifests_are_not_remembered(cache: Path) -> None:
    from wasmimport import _manifest
    for _ in range(2):
        with pytest.raises(wasmimport.ManifestError, match="unknown type 'int'"):
            _manifest.parse_manifest('[functions]\nf = "(a: int) -> None"', "bad.toml")
    assert list(cache.glob("*.manifest")) == []


def test_sha256_is_the_builtin_for_little_data_then_openssl(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from wasmimport import _digest
    monkeypatch.setattr(_digest, "_openssl", None)
    monkeypatch.setattr(_digest, "_hashed", 0)
    monkeypatch.delitem(sys.modules, "_hashlib", raising=False)   # as before hashlib's import
    small, large = b"x" * 1000, os.urandom(_digest.OPENSSL_AFTER)
    assert _digest.sha256(small) == hashlib.sha256(small).digest()
    assert _digest._openssl is None and _digest._hashed == 1000       # the builtin hashed it
    assert _digest.sha256(large) == hashlib.sha256(large).digest()  # past the budget
    assert _digest._openssl is hashlib.sha256 and _digest._hashed == 1000
    assert _digest.sha256(small) == hashlib.sha256(small).digest()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_a_compile_gives_its_freed_memory_back(cache: Path, tmp_path: Path) -> None:
    """The compiler's threads free what they used, but glibc keeps freed pages in its
    arenas: compiling an 18 MB component left ~475 MB of the process's 577 MB resident
    until someone trimmed the heap.  After a compile, wasmimport trims it: a trim right
    after finds little left to give back (this module left 33 MB)."""
    body = "".join(f'(func (export "f{i}") (param i32) (result i32) local.get 0 '
                   f'i32.const {i} i32.add i32.const 3 i32.mul local.get 0 i32.xor)'
                   for i in range(3000))
    (tmp_path / "wide.wasm").write_bytes(wat_binary(f"(module {body})"))
    code = """
        import ctypes, wasmimport
        def resident():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096 / 2**20
        wide = wasmimport.load("wide.wasm")
        assert wide.f2(1) == (3 * 3) ^ 1
        before = resident()
        ctypes.CDLL(None).malloc_trim(0)
        print(round(before - resident(), 1))
    """
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) < 8, f"a trim after the compile gave back {result.stdout} MB"
