"""A warm import reads back what the cold one worked out (``_facts``) instead of reading the
binary and planning every export again: the same module either way, the same errors, and a
damaged, foreign or stale entry is rebuilt, never believed."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import sysconfig
import types
from pathlib import Path
from typing import Any

import pytest

import wasmimport
from conftest import ROOT, fresh, guest_path, wat_binary
from wasmimport import _facts, _manifest
from wasmimport.backends import get_backend


def many_exports(count: int) -> bytes:
    """``count`` exported functions ``f<i>(x) = x + i``, and ``g`` with a post-return that
    counts its calls (``posted()``)."""
    funcs = "".join(f'(func (export "f{i}") (param i32) (result i32) local.get 0 '
                    f'i32.const {i} i32.add)' for i in range(count))
    return wat_binary(f"""(module (memory (export "memory") 1) (global $n (mut i32) (i32.const 0))
        {funcs}
        (func (export "g") (result i32) i32.const 7)
        (func (export "cabi_post_g") (param i32)
          global.get $n i32.const 1 i32.add global.set $n)
        (func (export "posted") (result i32) global.get $n))""")


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the binary reads and the planning an import does."""
    counts = {"read_module": 0, "plan_module": 0}
    for name in counts:
        real = getattr(_facts, name)

        def counting(*args: Any, _real: Any = real, _name: str = name) -> Any:
            counts[_name] += 1
            return _real(*args)
        monkeypatch.setattr(_facts, name, counting)
    return counts


def plans(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.plan"))


def test_a_warm_import_of_thousands_of_exports_neither_reads_the_binary_nor_plans(
        cache: Path, compiles: list[int], work: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = many_exports(3000)
    cold = wasmimport.load(data, name="many")
    assert work == {"read_module": 1, "plan_module": 1} and len(compiles) == 1
    assert len(plans(cache)) == 1
    fresh(monkeypatch)
    warm = wasmimport.load(data, name="many")
    assert work == {"read_module": 1, "plan_module": 1} and len(compiles) == 1
    assert warm.__all__ == cold.__all__ and len(warm.__all__) == 3002    # f0..f2999, g, posted
    # unlisted exports are planned when first looked up, from their core types
    assert warm.f2999(1) == 3000 and warm.f17.__doc__ == "wasm export 'f17': (i32) -> (i32)"
    assert str(inspect.signature(warm.f17)) == str(inspect.signature(cold.f17))
    assert warm.g() == 7 and warm.posted() == 1          # g's post-return ran
    assert "cabi_post_g" not in warm.__all__ and callable(warm.cabi_post_g)
    assert {"f0", "f2999", "g", "memory"} <= set(dir(warm))


WARM_IMPORT = """
import sys
if sys.argv[2] == "warm" and sys.argv[3] != "wasmtime":
    from wasmimport.backends import get_backend
    get_backend()          # wasmer's package and backend module import what they import
before = set(sys.modules)
import wasmimport
from wasmimport import _facts
def refuse(*args):
    raise AssertionError("read or planned again")
if sys.argv[2] == "warm":
    _facts.read_module = _facts.plan_module = refuse
sys.path.insert(0, sys.argv[1])
wasmimport.install()
import many
assert many.f7(1) == 8 and many.g() == 7 and many.add(2) == 5 and many.add() == 4
assert wasmimport.load(many.__file__).add(3) == 6          # load() does as little
print(" ".join(sorted(set(sys.argv[4:]) & (set(sys.modules) - before))))
"""
# what a warm import does without (the stdlib modules issue 16 names, and others as costly)
HEAVY = ("tempfile", "shutil", "re", "fnmatch", "zipfile", "ast", "tomllib", "hashlib",
         "_hashlib", "inspect", "typing", "dataclasses", "importlib.util", "importlib.metadata",
         "enum", "collections", "weakref", "warnings")


def test_a_warm_import_in_a_fresh_process_reads_only_its_entries(cache: Path,
                                                                  tmp_path: Path) -> None:
    (tmp_path / "many.wasm").write_bytes(many_exports(2000))
    (tmp_path / "many.wasm.toml").write_text('[functions]\nadd = { export = "f3", '
                                             'signature = "(a: u8 = 1) -> u16" }\n')
    # without site (-S): an editable install's finder would import half of these at start-up
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), sysconfig.get_path("purelib")]))
    for kind in ("cold", "warm"):
        done = subprocess.run([sys.executable, "-S", "-c", WARM_IMPORT, str(tmp_path), kind,
                               get_backend().name, *HEAVY], capture_output=True, text=True,
                              env=env)
        assert done.stderr == ""
        if kind == "warm":
            assert done.stdout == "\n"        # none of them
    assert len(plans(cache)) == 1


def test_planning_errors_are_raised_alike_at_every_import_and_never_remembered(
        cache: Path, work: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    data = many_exports(3)
    bad = '[functions]\nnope = "(a: i32) -> i32"\nf1 = "(a: i64) -> i32"\n'
    errors = []
    for manifest in (bad, None, bad):      # failing, then working (remembered), then failing
        fresh(monkeypatch)
        try:
            wasmimport.load(data, name="planned", manifest=manifest)
        except wasmimport.ManifestError as exc:
            errors.append((str(exc), exc.problems))
    assert errors[0] == errors[1] and len(errors) == 2
    assert errors[0][1] == (
        "<manifest argument>: [functions] nope: the module has no export 'nope' (its function "
        "exports: f0, f1, f2, g, cabi_post_g, posted)",
        "<manifest argument>: [functions] f1: signature '(a: i64) -> i32' needs the export "
        "'f1' to have core type (i64) -> (i32), but its core type is (i32) -> (i32)")
    assert len(plans(cache)) == 1 and work["plan_module"] == 3


def damage_flip(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    data[len(data) // 3] ^= 0x55
    entry.write_bytes(bytes(data))


def damage_truncate(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[:-9])


def damage_garbage(entry: Path) -> None:
    entry.write_bytes(os.urandom(200))


@pytest.mark.parametrize("damage", [damage_flip, damage_truncate, damage_garbage])
def test_a_damaged_plan_is_rebuilt_and_replaced(cache: Path, work: dict[str, int], damage: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = many_exports(50)
    wasmimport.load(data)
    (entry,) = plans(cache)
    good = entry.read_bytes()
    damage(entry)
    fresh(monkeypatch)
    assert wasmimport.load(data).f49(1) == 50
    assert work["plan_module"] == 2 and entry.read_bytes() == good
    fresh(monkeypatch)
    wasmimport.load(data)
    assert work["plan_module"] == 2          # and the replacement is used again


def test_a_foreign_or_stale_plan_is_not_believed(cache: Path, work: dict[str, int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = many_exports(2), many_exports(40)
    wasmimport.load(small)
    (small_entry,) = plans(cache)
    wasmimport.load(large)
    (large_entry,) = set(plans(cache)) - {small_entry}
    large_entry.write_bytes(small_entry.read_bytes())      # small's plan under large's name
    fresh(monkeypatch)
    assert wasmimport.load(large).f39(1) == 40 and work["plan_module"] == 3
    monkeypatch.setattr(_facts, "FORMAT", _facts.FORMAT + 1)   # as after a format change
    fresh(monkeypatch)
    assert wasmimport.load(large).f39(2) == 41 and work["plan_module"] == 4
    assert len(plans(cache)) == 3


def test_the_plan_is_keyed_by_the_manifest_too(cache: Path, work: dict[str, int],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = many_exports(3)
    narrow = wasmimport.load(data, manifest='[functions]\nf1 = "(x: u8) -> u16"\n')
    fresh(monkeypatch)
    wide = wasmimport.load(data, manifest='[functions]\nf1 = "(x: u16) -> u16"\n')
    with pytest.raises(OverflowError):
        narrow.f1(256)
    assert wide.f1(256) == 257
    assert work["plan_module"] == 2 and len(plans(cache)) == 2


def describe(mod: types.ModuleType) -> dict[str, Any]:
    """Everything a user can see of a module and its functions, as comparable text."""
    state = mod.__wasmimport__
    functions = {name: (str(inspect.signature(fn)), fn.__doc__, repr(fn.__annotations__),
                        fn.__qualname__)
                 for name in sorted(state.plan.names()) if callable(fn := getattr(mod, name))}
    return {"dir": dir(mod), "all": mod.__all__, "doc": mod.__doc__, "functions": functions,
            "memories": sorted(state.memories), "moved": state.instance.moved,
            "manifest": None if state.manifest is None else _manifest.to_plain(state.manifest),
            "plan": state.plan.to_plain(), "main": hasattr(mod, "main")}


GUESTS = {  # a C guest with a stack pointer and a sidecar; an embedded manifest; [types];
    "edges": {}, "embedded": {}, "rich": {},     # a WASI reactor (_initialize)
    "wasi_reactor": {"manifest": {"wasi": {}, "functions": {"env": "(name: str) -> str"}}},
}


@pytest.mark.parametrize("guest", sorted(GUESTS))
def test_cold_and_warm_imports_build_the_same_module(guest: str, cache: Path,
                                                     work: dict[str, int],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cold = wasmimport.load(guest_path(guest), **GUESTS[guest])
    fresh(monkeypatch)
    warm = wasmimport.load(guest_path(guest), **GUESTS[guest])
    assert work == {"read_module": 1, "plan_module": 1}
    assert describe(warm) == describe(cold)
    if guest == "edges":       # the stack pointer is found and put back after a trap
        assert warm.__wasmimport__.instance.moved != (0, 0)
        assert warm.echo_str("ü") == cold.echo_str("ü") == "ü"
