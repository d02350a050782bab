"""mmh3-wasm beyond mmh3's own suite (which `make mmh3-suite` runs): what is particular to
being a wasm module -- hashers that are the manifest's resources (guest state freed exactly
once), functions that are the bindings themselves, keys larger than the guest's memory
streamed through a hasher, and a clean interpreter exit with hashers alive.

The package is imported from its source folder (its module built by `make wasm`).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import BACKEND, has, sample_package

try:
    import tomllib
except ImportError:        # Python 3.10: wasmimport's own dependency
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

SOURCE = Path(__file__).resolve().parent.parent / "sample_pkgs" / "mmh3-wasm" / "src"


@pytest.fixture
def mmh3(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    yield from sample_package(monkeypatch, "mmh3-wasm", "mmh3", "_murmur.wasm", "make wasm")


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


def test_hashers_are_the_manifests_resources(mmh3: types.ModuleType) -> None:
    """No handle table and no facade class: the hasher is the guest's pointer, owned by the
    class the manifest declares, dropped exactly once; use after close names the method."""
    assert mmh3.mmh3_x64_128 is mmh3._murmur.mmh3_x64_128
    with mmh3.mmh3_32(b"foo", seed=1) as hasher:
        clone = hasher.copy()
        assert hasher.uintdigest() == mmh3.hash(b"foo", 1, signed=False)
    with pytest.raises(ValueError, match=r"mmh3\._murmur\.mmh3_32\.update\(\) argument "
                                         r"'self': the mmh3_32 was dropped"):
        hasher.update(b"more")
    clone.update(b"bar")                # the copy lives on
    assert clone.sintdigest() == mmh3.hash(b"foobar", 1)
    assert (mmh3.mmh3_32.name, mmh3.mmh3_x86_128.digest_size, mmh3.mmh3_x64_128.block_size) \
        == ("mmh3_32", 16, 32)
    with pytest.raises(ValueError, match="seed is out of range"):
        mmh3.mmh3_x86_128(seed=2**32)


@pytest.mark.parametrize("key", [bytes(range(256)) * 41 + b"tail", "héllo wörld " * 300])
def test_keys_too_large_for_the_guest_are_streamed_with_the_same_result(
        mmh3: types.ModuleType, monkeypatch: pytest.MonkeyPatch, key: bytes | str) -> None:
    """What a key of 4 GiB or more takes (mmh3's own test_64bit hashes one): a hasher fed in
    pieces, here of 1000 bytes, gives what the one-shot binding gives."""
    monkeypatch.setattr(mmh3, "_CHUNK", 1000)     # the key spans several pieces
    stream = mmh3._stream
    assert stream(mmh3.mmh3_32, key, 7, "sintdigest") == mmh3.hash(key, 7)
    assert stream(mmh3.mmh3_32, key, 7, "uintdigest") == mmh3.hash(key, 7, signed=False)
    assert stream(mmh3.mmh3_x64_128, key, 7, "digest") == mmh3.hash_bytes(key, 7)
    assert stream(mmh3.mmh3_x86_128, key, 7, "stupledigest") == mmh3.hash64(key, 7, False)
    assert stream(mmh3.mmh3_x86_128, key, 7, "sintdigest") == \
        mmh3.hash128(key, 7, x64arch=False, signed=True)
    if isinstance(key, bytes):
        assert stream(mmh3.mmh3_x64_128, memoryview(key), 7, "utupledigest") == \
            mmh3.mmh3_x64_128_utupledigest(bytearray(key), 7)


def test_the_functions_are_the_bindings_and_take_oversize_keys_in_pieces(
        mmh3: types.ModuleType) -> None:
    """No facade: each one-shot function is the manifest's binding itself, whose manifest
    sends a key too large for the guest to the function of its name in ``_in_pieces``,
    which takes the same parameters (mmh3's own test_64bit hashes a 4 GiB key that way)."""
    manifest = tomllib.loads(Path(mmh3.__file__).with_name("_murmur.wasm.toml").read_text())
    oversize = {name: entry["oversize"] for name, entry in manifest["functions"].items()
                if isinstance(entry, dict) and "oversize" in entry}
    assert len(oversize) == 14 + 3          # the one-shot functions, the hashers' update()
    for name, spec in oversize.items():
        cls, _, method = name.rpartition(".")
        assert spec == f"mmh3:_in_pieces.{method}"
        binding = getattr(getattr(mmh3._murmur, cls) if cls else mmh3._murmur, method)
        if not cls and not name.startswith("_"):
            assert getattr(mmh3, name) is binding
        assert inspect.signature(getattr(mmh3._in_pieces, method)).parameters.keys() == \
            inspect.signature(binding).parameters.keys()


@pytest.mark.parametrize("pure", ["0", "1"])
def test_a_key_of_4_gib_goes_in_pieces(monkeypatch: pytest.MonkeyPatch, pure: str) -> None:
    """For real, on each call path: a key guest memory cannot hold, given to a one-shot
    function and to a hasher's update() (each sent to its `oversize`), hashes as the same
    key fed to a hasher in two halves that the guest does hold."""
    monkeypatch.setenv("WASMIMPORT_PURE", pure)
    mmh3 = next(sample_package(monkeypatch, "mmh3-wasm", "mmh3", "_murmur.wasm", "make wasm"))
    compiled = pure == "0" and has("compiled-calls")
    assert type(mmh3.hash).__name__ == ("Function" if compiled else "function")
    key = bytearray(2**32 + 1)
    key[0], key[-1] = ord("a"), 7
    halves = mmh3.mmh3_32(seed=5)
    for half in (memoryview(key)[:2**31], memoryview(key)[2**31:]):
        halves.update(half)
    whole = mmh3.mmh3_32(seed=5)
    whole.update(key)
    assert mmh3.hash(key, 5, signed=False) == whole.uintdigest() == halves.uintdigest()


@pytest.mark.skipif(BACKEND.name != "wasmtime", reason="the pure path of wasmtime's backend "
                    "is the one whose functions outlive a finalized instance")
def test_a_hasher_that_outlives_its_instance_is_collected_silently(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In a cycle the collector may finalize the module's wasm instance before a hasher:
    the hasher's guest state went with the instance, so its __del__ has nothing to drop and
    says nothing; an explicit call still raises ReferenceError."""
    monkeypatch.setenv("WASMIMPORT_PURE", "1")
    mmh3 = next(sample_package(monkeypatch, "mmh3-wasm", "mmh3", "_murmur.wasm", "make wasm"))
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    kept, collected = mmh3.mmh3_32(b"x"), mmh3.mmh3_x64_128(b"y")
    mmh3._murmur.__wasmimport__.instance.__del__()     # as the collector may, first
    with pytest.raises(ReferenceError, match=r"^mmh3\._murmur\.\w+\(\): called after its "
                                             r"module's wasm instance was finalized"):
        kept.update(b"more")
    del collected
    assert unraisable == []


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
