"""Per-call cost of a component's functions, against the same functions as a core module
with a manifest and against wasmtime-py's component ``Func``, all in one process run.

The component is tests/guests/components/calc.wasm (C, made a component by `build --wit`;
`make wasm` builds it).  Its core module with a hand-written manifest is the baseline the
issue names; ``operator.add`` and ``str.upper`` are the native references.  Rows run in
interleaved rounds (each round times every row once, in rotating order) with one timeit
loop; the table shows medians and ratios.  A second table times
tests/guests/components/pyguest.wasm (componentize-py: several core modules, so it runs on
wasmtime's component runtime) through wasmimport and through wasmtime-py's ``Func`` (with
its ``post_return``), on one engine.

    python benchmarks/bench_components.py [--rounds 11] [--markdown]
"""

from __future__ import annotations

import argparse
import operator
import statistics
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wasmtime import Engine, Store
from wasmtime import component as wtc

import wasmimport
from wasmimport._manifest import Limits
from wasmimport.backends import get_backend
from wasmimport.component import _runtime, as_core

COMPONENTS = Path(__file__).resolve().parents[1] / "tests" / "guests" / "components"
CALC = COMPONENTS / "calc.wasm"
PYGUEST = COMPONENTS / "pyguest.wasm"
TEXT = "hello wasmimport"          # 16 ASCII characters
CORE_MANIFEST = {"functions": {"add": "(a: i32, b: i32) -> i32", "upper": "(s: str) -> str"}}


def rows() -> dict[str, tuple[Callable[[], Any], Any]]:
    """name -> (a call with no arguments, its expected answer)."""
    data = CALC.read_bytes()
    component = wasmimport.load(CALC, "calc")
    core = wasmimport.load(as_core(data, str(CALC), None)[0], "calc_core",
                           manifest=CORE_MANIFEST)
    engine = Engine()
    store = Store(engine)
    linker = wtc.Linker(engine)
    instance = linker.instantiate(store, wtc.Component(engine, data))
    wt_add = instance.get_func(store, "add")
    wt_upper = instance.get_func(store, "upper")
    assert wt_add is not None and wt_upper is not None
    c_add, c_upper, k_add, k_upper = component.add, component.upper, core.add, core.upper
    add = operator.add
    upper = str.upper
    return {
        "native add (operator.add)": (lambda: add(1, 2), 3),
        "core module add": (lambda: k_add(1, 2), 3),
        "component add": (lambda: c_add(1, 2), 3),
        "wasmtime-py component add": (lambda: wt_add(store, 1, 2), 3),
        "native upper (str.upper)": (lambda: upper(TEXT), TEXT.upper()),
        "core module upper": (lambda: k_upper(TEXT), TEXT.upper()),
        "component upper": (lambda: c_upper(TEXT), TEXT.upper()),
        "wasmtime-py component upper": (lambda: wt_upper(store, TEXT), TEXT.upper()),
    }


def runtime_rows() -> dict[str, tuple[Callable[[], Any], Any]]:
    """The component-runtime path's rows: pyguest's greet(str) -> str both ways."""
    pyguest = wasmimport.load(PYGUEST, "pyguest")
    engine = _runtime.runtime(get_backend(), Limits(), str(PYGUEST))   # the same engine
    store = Store(engine.engine)
    store.set_epoch_deadline(1 << 62)      # (the engine has epochs, for the watchdog)
    instance = wtc.Linker(engine.engine).instantiate(
        store, _runtime.compile_component(engine, PYGUEST.read_bytes(), str(PYGUEST)))
    wt_greet = instance.get_func(store, "greet")
    assert wt_greet is not None
    greet = pyguest.greet

    def wasmtime_py() -> Any:
        out = wt_greet(store, TEXT)
        wt_greet.post_return(store)
        return out
    return {"wasmimport greet (runtime path)": (lambda: greet(TEXT), f"Hello, {TEXT}!"),
            "wasmtime-py component greet": (wasmtime_py, f"Hello, {TEXT}!")}


def measure(table: dict[str, tuple[Callable[[], Any], Any]], rounds: int) -> dict[str, float]:
    """Median seconds per call of each row, the timing loop's own cost subtracted."""
    for name, (call, expected) in table.items():
        assert call() == expected, name
    samples: dict[str, list[float]] = {name: [] for name in table}
    names = list(table)
    empty = timeit.Timer(lambda: None)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            call = table[name][0]
            n = 20_000 if "wasmtime-py" not in name and "runtime" not in name else 2_000
            timer = timeit.Timer(call)
            samples[name].append((timer.timeit(n) - empty.timeit(n)) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    result = measure(rows(), args.rounds)
    print(f"{'row':32} {'us/call':>9} {'/native':>8} {'/core':>7} {'wt-py/this':>10}")
    for name, seconds in result.items():
        kind = "add" if "add" in name else "upper"
        native = result[f"native {kind} ({'operator.add' if kind == 'add' else 'str.upper'})"]
        core = result[f"core module {kind}"]
        wt = result[f"wasmtime-py component {kind}"]
        print(f"{name:32} {seconds * 1e6:9.3f} {seconds / native:8.2f} {seconds / core:7.2f} "
              f"{wt / seconds:10.1f}")
    for kind in ("add", "upper"):
        c, k = result[f"component {kind}"], result[f"core module {kind}"]
        w = result[f"wasmtime-py component {kind}"]
        print(f"{kind}: component / core module = {c / k:.2f} (goal <= 1.2); "
              f"wasmtime-py Func / component = {w / c:.0f}x (goal >= 50x)")
    slow = measure(runtime_rows(), args.rounds)
    ours, theirs = slow["wasmimport greet (runtime path)"], slow["wasmtime-py component greet"]
    print(f"\n{'row (several core modules)':32} {'us/call':>9}")
    for name, seconds in slow.items():
        print(f"{name:32} {seconds * 1e6:9.3f}")
    print(f"greet: wasmtime-py Func / wasmimport = {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
