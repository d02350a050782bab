"""mmh3-wasm beyond mmh3's own suite (which `make mmh3-suite` runs): what is particular to
being a wasm module -- guest-side hasher state that must be freed, keys larger than the
guest's memory streamed through it, and a clean interpreter exit with hashers alive.

The package is imported from its source folder (its module built by `make wasm`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import wasmimport

SOURCE = Path(__file__).resolve().parent.parent / "sample_pkgs" / "mmh3-wasm" / "src"


@pytest.fixture
def mmh3(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    if not (SOURCE / "mmh3" / "_murmur.wasm").exists():
        pytest.fail("sample_pkgs/mmh3-wasm is not built: run `make wasm`")
    monkeypatch.syspath_prepend(str(SOURCE))
    for name in ("mmh3", "mmh3._murmur"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import mmh3 as module

    assert Path(module.__file__ or "").parent == SOURCE / "mmh3"
    yield module
    for name in ("mmh3", "mmh3._murmur"):
        sys.modules.pop(name, None)


def test_hashers_free_their_guest_state(mmh3: types.ModuleType) -> None:
    memory = mmh3._murmur.memory
    for _ in range(2000):              # warm up the guest allocator and the handle table
        mmh3.mmh3_x64_128(b"x").copy()
    before = len(memory)
    for i in range(50_000):
        hasher = mmh3.mmh3_x86_128(b"abc", seed=i)
        hasher.copy().update(b"more")
        del hasher
    assert len(mmh3._murmur.memory) == before


def test_a_freed_or_forged_handle_traps_in_the_guest(mmh3: types.ModuleType) -> None:
    with pytest.raises(wasmimport.Trap) as info:
        mmh3._murmur._hasher_update(123_456, b"x")
    assert info.value.kind == "unreachable"
    assert {f.function for f in info.value.frames} & {"lookup", "hasher_update"}


@pytest.mark.parametrize("key", [bytes(range(256)) * 41 + b"tail", "héllo wörld " * 300])
def test_keys_larger_than_a_chunk_are_streamed_with_the_same_result(
        mmh3: types.ModuleType, monkeypatch: pytest.MonkeyPatch, key: bytes | str) -> None:
    whole = (mmh3.hash(key, 7), mmh3.hash(key, 7, signed=False), mmh3.hash64(key, 7),
             mmh3.hash128(key, 7, x64arch=False, signed=True), mmh3.hash_bytes(key, 7),
             mmh3.hash_from_buffer(key, 7))
    buffers = () if isinstance(key, str) else (
        mmh3.mmh3_32_digest(key, 7), mmh3.mmh3_x64_128_stupledigest(memoryview(key), 7),
        mmh3.mmh3_x86_128_uintdigest(bytearray(key), 7))
    monkeypatch.setattr(mmh3, "_CHUNK", 1000)     # now the key spans several chunks
    assert (mmh3.hash(key, 7), mmh3.hash(key, 7, signed=False), mmh3.hash64(key, 7),
            mmh3.hash128(key, 7, x64arch=False, signed=True), mmh3.hash_bytes(key, 7),
            mmh3.hash_from_buffer(key, 7)) == whole
    if buffers:
        assert (mmh3.mmh3_32_digest(key, 7),
                mmh3.mmh3_x64_128_stupledigest(memoryview(key), 7),
                mmh3.mmh3_x86_128_uintdigest(bytearray(key), 7)) == buffers


def test_hashers_are_final_like_mmh3s(mmh3: types.ModuleType) -> None:
    with pytest.raises(TypeError, match="is not an acceptable base type"):
        type("Sub", (mmh3.mmh3_32,), {})


@pytest.mark.parametrize("pure", ["0", "1"])
def test_exit_with_live_hashers_is_silent(pure: str) -> None:
    """Hashers alive at exit, in globals and in cycles, free their guest state from
    ``__del__`` during shutdown (under faulthandler, on both call paths)."""
    script = ("import mmh3\nkept = [mmh3.mmh3_32(b'x'), mmh3.mmh3_x64_128(), "
              "mmh3.mmh3_x86_128(seed=3)]\nkept.append(kept[0].copy())\n"
              "cycle = [kept]\ncycle.append(cycle)\n"
              "kept += [mmh3.mmh3_x64_128(b'y') for _ in range(300)]\n"
              "print(kept[3].uintdigest())\n")
    done = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(SOURCE), "WASMIMPORT_PURE": pure})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.strip().isdigit()
