"""[wasi]: WASI preview 1, granted piece by piece; nothing by default.

The guests are C programs built with wasi-libc (tests/guests/wasi_reactor.c, a library, and
tests/guests/wasi_command.c, a program with main).
"""

from __future__ import annotations

import os
import shutil
import types
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from conftest import guest_path, has, refused

FUNCTIONS = {"say": "(s: str) -> None", "env": "(name: str) -> str",
             "read_file": "(path: str) -> str", "write_file": "(path: str, data: str) -> i32",
             "quit": "(status: i32) -> None"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The guests, a read-only data folder, a writable out folder, and a secret outside."""
    for name in ("wasi_reactor", "wasi_command", "wasi_files"):
        shutil.copy(guest_path(name), tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "file.txt").write_text("inside data")
    (tmp_path / "out").mkdir()
    (tmp_path / "secret.txt").write_text("outside every preopen")
    os.symlink(tmp_path / "secret.txt", tmp_path / "data" / "link.txt")
    return tmp_path


def reactor(folder: Path, **wasi: Any) -> types.ModuleType:
    return wasmimport.load(folder / "wasi_reactor.wasm",
                           manifest={"functions": FUNCTIONS, "wasi": wasi})


def test_nothing_is_granted_without_a_wasi_table(folder: Path) -> None:
    with pytest.raises(wasmimport.WasmImportError) as info:
        wasmimport.load(folder / "wasi_reactor.wasm", manifest={"functions": FUNCTIONS})
    assert "  wasi_snapshot_preview1.fd_write: (i32, i32, i32, i32) -> (i32)" in str(info.value)


def test_an_empty_wasi_table_grants_no_files_env_or_output(folder: Path) -> None:
    mod = reactor(folder)
    mod.say("into the void")                      # stdout and stderr are null
    assert mod.env("HOME") == "<unset>"           # no environment
    assert mod.read_file("/etc/passwd").startswith("<error:")
    assert mod.read_file("data/file.txt").startswith("<error:")   # no preopens
    with pytest.raises(ValueError, match=r"\[wasi\] stdout is not captured"):
        _ = mod.__wasmimport__.stdout


def test_captured_output_and_granted_environment(folder: Path) -> None:
    mod = reactor(folder, stdout="capture", stderr="capture", env={"GREETING": "hello"})
    mod.say("hi")
    mod.say("there")
    assert mod.__wasmimport__.stdout == b"hi\nthere\n"
    assert mod.__wasmimport__.stderr == b"err:hi\nerr:there\n"
    assert mod.env("GREETING") == "hello"
    assert mod.env("PATH") == "<unset>"           # only what the table lists


def test_inherited_output_goes_to_the_process_streams(folder: Path,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    mod = reactor(folder, stdout="inherit", stderr="inherit")
    mod.say("hi")
    mod.say("h\u00e9")
    assert capfd.readouterr() == ("hi\nh\u00e9\n", "err:hi\nerr:h\u00e9\n")


def test_proc_exit_outside_main_raises_wasi_exit(folder: Path) -> None:
    mod = reactor(folder, env={"A": "b"})
    with pytest.raises(wasmimport.WasiExit,
                       match=r"\.quit\(\): the guest exited with status 4$") as info:
        mod.quit(4)
    assert info.value.status == 4 and info.value.kind == "exit"
    assert mod.env("A") == "b"


def test_an_unknown_wasi_function_fails_the_import(tmp_path: Path) -> None:
    module, name = b"wasi_snapshot_preview1", b"no_such_function"
    imports = bytes([1, len(module)]) + module + bytes([len(name)]) + name + bytes([0, 0])
    wasm = b"\0asm\1\0\0\0" + bytes([1, 4, 1, 0x60, 0, 0, 2, len(imports)]) + imports
    (tmp_path / "unknown.wasm").write_bytes(wasm)
    with pytest.raises(wasmimport.WasmImportError,
                       match=r"instantiation failed: .*wasi_snapshot_preview1\W+no_such_function"):
        wasmimport.load(tmp_path / "unknown.wasm", manifest={"wasi": {}})


def refuses_preopens(folder: Path, preopens: dict[str, Any]) -> bool:
    """On a backend that cannot preopen folders safely, check that it refuses, and say so."""
    if has("wasi-preopens"):
        return False
    with pytest.raises(wasmimport.WasmImportError,
                       match=r"\[wasi\] preopens '/\w+' " + refused("wasi-preopens")):
        reactor(folder, preopens=preopens)
    return True


def test_preopens_confine_the_guest(folder: Path) -> None:
    preopens = {"/data": {"path": "data", "mode": "rw"}, "/out": {"path": "out", "mode": "rw"}}
    if refuses_preopens(folder, preopens):
        return
    mod = reactor(folder, preopens=preopens)
    assert mod.read_file("/data/file.txt") == "inside data"
    # escapes fail inside the guest: "..", absolute paths, a symlink pointing out
    for path in ("/data/../secret.txt", str(folder / "secret.txt"), "/data/link.txt",
                 "/out/../data/file.txt/../../secret.txt"):
        assert mod.read_file(path).startswith("<error:"), path
    assert mod.write_file("/out/new.txt", "yes") == 0          # read-write
    assert (folder / "out" / "new.txt").read_text() == "yes"
    assert mod.write_file("/out/../escaped.txt", "no") < 0
    assert not (folder / "escaped.txt").exists()


def test_read_only_preopens_refuse_writes(folder: Path) -> None:
    preopens = {"/data": {"path": "data", "mode": "ro"}}
    if refuses_preopens(folder, preopens):
        return
    if not has("wasi-readonly"):
        with pytest.raises(wasmimport.WasmImportError,
                           match=r"\[wasi\] preopens '/data': mode = \"ro\" " +
                           refused("wasi-readonly")):
            reactor(folder, preopens=preopens)
        return
    mod = reactor(folder, preopens=preopens)
    assert mod.read_file("/data/file.txt") == "inside data"
    assert mod.write_file("/data/new.txt", "no") < 0
    assert not (folder / "data" / "new.txt").exists()


def test_a_missing_preopen_folder_fails_the_import(folder: Path) -> None:
    if refuses_preopens(folder, {"/x": {"path": "nowhere", "mode": "rw"}}):
        return
    with pytest.raises(wasmimport.WasmImportError, match=r"\[wasi\] preopens '/x': .*nowhere "
                                                         r"is not a folder"):
        reactor(folder, preopens={"/x": {"path": "nowhere", "mode": "rw"}})


# what tests/guests/wasi_files.c prints with /data read-only and /out read-write (wasmtime's
# answers, to the errno)
FILES = """\
mkdir /out/d: 0
mkdir /out/d again: EEXIST
tell: 5
tail: 3 rld
read /out/d/a.txt: helloXXorld
append: 0
read /out/d/a.txt: helloXXorld!
truncate: 0
read /out/d/a.txt: hello
exclusive create: EEXIST
stat: 0
size 5 regular 1
rename: 0
read /out/d/a.txt: ENOENT
symlink: 0
readlink: 5 b.txt
lstat: 0
link 1
read /out/d/l.txt: hello
symlink out: 0
read /out/d/out.txt: EPERM
mkdir /out/d/e: 0
list /out/d: b.txt e/ l.txt@ out.txt@
list /data: file.txt link.txt@
open a folder for writing: EISDIR
rmdir non-empty: ENOTEMPTY
unlink a folder: EISDIR
unlink: 0
unlink: 0
unlink: 0
rmdir: 0
rmdir: 0
list /out:
rmdir a preopen's parent: EPERM
mkdir read-only: EPERM
unlink read-only: EPERM
rename read-only: EPERM
rename out of read-only: EPERM
stat read-only: 0
size 11
read /data/file.txt: inside data
stat outside: EPERM
seek stdout: ESPIPE
after 2020: 1
slept 20 ms: 1
getentropy: 0
random: 1
"""


def test_a_command_works_with_files_folders_links_clocks_and_random(folder: Path) -> None:
    preopens = {"/data": {"path": "data", "mode": "ro"}, "/out": {"path": "out", "mode": "rw"}}
    if refuses_preopens(folder, preopens):
        return
    (folder / "data" / "link.txt").unlink()
    (folder / "data" / "link.txt").symlink_to("file.txt")
    mod = wasmimport.load(folder / "wasi_files.wasm",
                          manifest={"wasi": {"stdout": "capture", "preopens": preopens}})
    assert mod.main() == 0
    assert mod.__wasmimport__.stdout.decode() == FILES
    assert sorted(os.listdir(folder / "data")) == ["file.txt", "link.txt"]
    assert os.listdir(folder / "out") == []


def test_a_command_runs_as_main(folder: Path) -> None:
    mod = wasmimport.load(folder / "wasi_command.wasm",
                          manifest={"wasi": {"args": ["prog", "a"], "stdout": "capture"}})
    assert mod.main() == 2
    assert mod.__wasmimport__.stdout == b"prog\na\n"


def test_a_command_exit_status_is_mains_result(folder: Path) -> None:
    mod = wasmimport.load(folder / "wasi_command.wasm", manifest={"wasi": {"stdout": "capture"}})
    assert mod.main(["prog", "exit", "3"]) == 3
    assert mod.__wasmimport__.stdout == b"prog\nexit\n3\n"


@pytest.mark.parametrize("table, message", [
    ({"stdout": "file"}, r"\[wasi\] stdout must be one of 'null', 'inherit', 'capture'"),
    ({"stdin": "capture"}, r"\[wasi\] stdin must be one of 'null', 'inherit', not 'capture'"),
    ({"args": "prog"}, r"\[wasi\] args must be a list of strings"),
    ({"env": {"A": 1}}, r"\[wasi\] env must be a table of strings"),
    ({"preopens": {"/d": {"path": "d", "mode": "rwx"}}}, r"\[wasi\] preopens '/d' must be"),
    ({"network": True}, r"\[wasi\] unknown key 'network'"),
])
def test_bad_wasi_tables_are_manifest_errors(folder: Path, table: dict[str, Any],
                                             message: str) -> None:
    with pytest.raises(wasmimport.ManifestError, match=message):
        reactor(folder, **table)
