"""Fuzzing: bad input of any shape gets a clear, documented error, never anything else.

Documented errors: ImportError (WasmImportError, ManifestError) for files, and TypeError,
OverflowError, ValueError (UnicodeError included), MemoryError and wasmimport.Trap for calls.
Any other exception, a crash or a hang is a bug.  Property tests (hypothesis) cover the
signature parser and the manifest loader; a seeded mutation fuzzer covers wasm binaries and
manifests, each bounded by a count and a time budget.
"""

from __future__ import annotations

import faulthandler
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hostfns
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wasmimport
from conftest import ROOT, guest_path, has
from wasmimport._manifest import manifest_from_mapping, parse_manifest, parse_signature

FILE_ERRORS = (ImportError,)
CALL_ERRORS = (TypeError, OverflowError, ValueError, MemoryError, wasmimport.Trap)
TYPES = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "bool", "str",
         "bytes", "list[i32]", "list[f64]", "list[u8]", "None", "int", "list[str]", "tuple"]
FUZZ = settings(max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


# ---- signatures and manifests (hypothesis) ------------------------------------------------

@FUZZ
@given(st.text(max_size=80))
def test_any_signature_text_parses_or_is_a_manifest_error(text: str) -> None:
    try:
        parse_signature(text, "fuzz.toml", "[functions] f")
    except wasmimport.ManifestError as exc:
        assert str(exc).startswith("fuzz.toml: [functions] f: ")


@st.composite
def signatures(draw: st.DrawFn) -> str:
    """Signature-shaped text: names, types, defaults and markers, valid or not."""
    names = draw(st.lists(st.sampled_from(["a", "b", "x", "_y", "class", "a1"]), max_size=5))
    parts = []
    for name in names:
        part = f"{name}: {draw(st.sampled_from(TYPES))}"
        if draw(st.booleans()):
            part += " = " + draw(st.sampled_from(["0", "-1", "2**70", "1.5", "'s'", "b'x'",
                                                   "[1, 2]", "None", "True", "f()"]))
        parts.append(part)
    if parts and draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from(["/", "*"])))
    result = draw(st.sampled_from(TYPES))
    return f"({', '.join(parts)}) -> {result}"


@FUZZ
@given(signatures())
def test_signature_shaped_text_parses_consistently(text: str) -> None:
    try:
        sig = parse_signature(text, "fuzz.toml", "[functions] f")
    except wasmimport.ManifestError:
        return
    assert [p.name for p in sig.params] == [p.name for p in
                                            parse_signature(sig.text, "x", "y").params]
    for p in sig.params:
        assert p.type.name in TYPES


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
manifest_keys = st.sampled_from(["doc", "abi", "functions", "limits", "imports", "wasi",
                                 "types", "realloc", "signature", "python", "memory",
                                 "timeout", "fuel", "add", "env", "log", "export",
                                 "release_gil"])


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    """Dictionaries shaped like manifests, with wrong and right values mixed."""
    def table(depth: int) -> Any:
        if depth == 0 or draw(st.booleans()):
            return draw(toml_values | signatures())
        keys = draw(st.lists(manifest_keys, max_size=4))
        return {key: table(depth - 1) for key in keys}
    result = table(4)
    return result if isinstance(result, dict) else {"functions": {"f": result}}


@FUZZ
@given(manifests())
def test_any_manifest_mapping_validates_or_is_a_manifest_error(data: dict[str, Any]) -> None:
    try:
        manifest_from_mapping(data, "fuzz.toml")
    except wasmimport.ManifestError as exc:
        assert str(exc).startswith("fuzz.toml")


@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_manifest_text_parses_or_is_a_manifest_error(text: str | bytes) -> None:
    try:
        parse_manifest(text, "fuzz.toml")
    except wasmimport.ManifestError as exc:
        assert str(exc).startswith("fuzz.toml")


# ---- mutation fuzzing of real modules and manifests ---------------------------------------

def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: flip, set, insert, delete, duplicate or truncate."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        at = rng.randrange(len(buf) or 1)
        if op == 0 and buf:
            buf[at] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[at] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == 2:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and buf:
            del buf[at:at + rng.randint(1, 16)]
        elif op == 4 and buf:
            end = min(len(buf), at + rng.randint(1, 32))
            buf[at:at] = buf[at:end]
        else:
            del buf[at:]
    return bytes(buf)


def exercise(mod: Any) -> None:
    """Call every function of a module that loaded with simple arguments of each kind.

    (The host guest's host functions raise HostError on purpose; it reaches us as itself.)
    """
    hostfns.module = mod
    for name in dir(mod):
        fn = getattr(mod, name)
        if not callable(fn) or name.startswith("_") or name in ("forever", "forever_nogil",
                                                                 "recurse", "deep_frames",
                                                                 "alloc_churn", "spin",
                                                                 "spin_nogil", "racy_add"):
            continue
        for args in ((), (1,), ("s",), (b"b", 2), ([1, 2],)):
            try:
                fn(*args)
            except (*CALL_ERRORS, hostfns.HostError):
                pass


MODULES = [
    ("edges", lambda: guest_path("edges")),
    ("host", lambda: guest_path("host")),
    ("textkit", lambda: ROOT / "sample_pkgs/textkit/src/textkit/_textkit.wasm"),
]
BUDGET = 8.0     # seconds per module, on top of a fixed number of inputs
LIMITS = {"limits-timeout": 'timeout = "100ms"', "limits-memory": 'memory = "64MiB"'}
HANG = 120.0     # seconds: an unbounded run that takes longer has hung


def limits() -> str:
    """The [limits] bounding every call of a mutant, as far as this run's backend can."""
    lines = [line for feature, line in LIMITS.items() if has(feature)]
    return "\n".join(["", "[limits]", *lines, ""]) if lines else ""


@contextmanager
def hang_guard(bounded: bool) -> Iterator[None]:
    """Without a time limit a call that never returned would hang the whole run: past
    ``HANG`` seconds, dump every thread's stack and exit instead."""
    if not bounded:
        faulthandler.dump_traceback_later(HANG, exit=True)
    try:
        yield
    finally:
        if not bounded:
            faulthandler.cancel_dump_traceback_later()


@pytest.mark.parametrize("name, path", MODULES, ids=[m[0] for m in MODULES])
@pytest.mark.usefixtures("compiled")     # the time limit that bounds each call needs it
@pytest.mark.needs("threads")     # its hang guard is faulthandler's watchdog thread
def test_mutated_modules_and_manifests(name: str, path: Callable[[], Path],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Every mutant loads or fails with a documented error.  Those that load are called,
    each call under a time limit; a backend without one calls only the mutants with the
    original code (a mutated manifest cannot make it loop: exercise() skips what does)."""
    monkeypatch.setenv("WASMIMPORT_CACHE", "0")       # thousands of one-off modules
    wasm_path = path()
    wasm = wasm_path.read_bytes()
    manifest = (wasm_path.parent / (wasm_path.name + ".toml")).read_text()
    rng = random.Random(f"wasmimport-fuzz-{name}")
    bounded = has("limits-timeout")
    tried = loaded = exercised = original = 0
    deadline = time.monotonic() + BUDGET
    with hang_guard(bounded):
        while tried < 300 or (time.monotonic() < deadline and tried < 3000):
            tried += 1
            if rng.random() < 0.5:
                data, text = mutate(wasm, rng), manifest
            else:
                data, text = wasm, mutate(manifest.encode(), rng).decode("utf-8", "replace")
            text += limits()    # a mutated module may loop forever: every call is bounded
            try:
                mod = wasmimport.load(data, name=name, manifest=text)
            except FILE_ERRORS:
                continue
            loaded += 1
            original += data == wasm
            if bounded or data == wasm:
                exercised += 1
                exercise(mod)
    hostfns.module = None
    print(f"\nfuzz {name}: {tried} mutated inputs, {loaded} loaded ({original} with the "
          f"original code), {exercised} exercised")
    assert tried >= 300
    assert loaded >= 20              # some mutants load, some of them mutated manifests,
    assert original >= 10            # and their functions are called: all of them, or
    assert exercised >= (20 if bounded else 10)     # (unbounded) those of the latter
