"""The js backend's WASI (wasmimport.backends._jswasi) on CPython: its functions served to
the WASI test guests as host functions of the wasmtime backend, so that ``make test`` checks
them without Pyodide (tools/web/pyodide_suite.mjs runs test_wasi.py on the js backend).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from test_wasi import FILES, folder  # noqa: F401 - the fixture

from conftest import guest_path
from wasmimport._errors import WasiExit
from wasmimport._manifest import Limits, Wasi
from wasmimport._wasmbin import FuncType
from wasmimport.backends import get_backend
from wasmimport.backends._jswasi import MODULE, WasiPreview1

pytestmark = pytest.mark.skipif(sys.platform == "emscripten",
                                reason="the wasmtime backend serves the functions here")


def run(path: Path, wasi: Wasi, base: Path, argv: list[str] | None = None
        ) -> tuple[int, WasiPreview1]:
    """Run the command at ``path`` with _jswasi's WASI: (exit status, the context)."""
    context = WasiPreview1(wasi, str(base))
    host = [(MODULE, name, FuncType(params, results), raw)
            for name, (params, results, raw) in context.functions().items()]
    instance = get_backend("wasmtime").compile(path.read_bytes()).instantiate(Limits(), host)
    context.bind(instance.memory("memory"))
    if argv is not None:
        context.restart(argv)
    try:
        instance.function("_start", FuncType((), ()), "main()")()
    except WasiExit as exc:
        return exc.status, context
    return 0, context


@pytest.mark.usefixtures("compiled")
def test_arguments_exit_status_and_captured_output(tmp_path: Path) -> None:
    status, context = run(guest_path("wasi_command"), Wasi(args=("prog", "a"),
                                                           stdout="capture"), tmp_path)
    assert (status, context.captured("stdout")) == (2, b"prog\na\n")
    status, context = run(guest_path("wasi_command"), Wasi(stdout="capture"), tmp_path,
                          ["prog", "exit", "3"])
    assert (status, context.captured("stdout")) == (3, b"prog\nexit\n3\n")
    with pytest.raises(ValueError, match=r"\[wasi\] stderr is not captured"):
        context.captured("stderr")


@pytest.mark.usefixtures("compiled")
def test_files_folders_links_and_escapes_as_on_wasmtime(folder: Path) -> None:  # noqa: F811
    (folder / "data" / "link.txt").unlink()
    (folder / "data" / "link.txt").symlink_to("file.txt")
    wasi = Wasi(stdout="capture", preopens=(("/data", "data", False), ("/out", "out", True)))
    status, context = run(folder / "wasi_files.wasm", wasi, folder)
    assert status == 0
    assert context.captured("stdout").decode() == FILES
    assert sorted(os.listdir(folder / "data")) == ["file.txt", "link.txt"]
    assert os.listdir(folder / "out") == []
    context.close()


def test_a_missing_preopen_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"\[wasi\] preopens '/x': .*nowhere is not a folder"):
        WasiPreview1(Wasi(preopens=(("/x", "nowhere", True),)), str(tmp_path))
