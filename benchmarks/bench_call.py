"""Per-call cost of wasmimport functions, against references measured in the same run.

References: ``operator.add`` (a C function with METH_FASTCALL, what a C extension's add
costs) and wasmtime-py's own ``Func.__call__`` on the same export.  Rounds are interleaved and
the median of each is reported, so machine noise hits every path alike.

    python benchmarks/bench_call.py [--rounds 15] [--calls 20000]
"""

from __future__ import annotations

import argparse
import operator
import statistics
import time
from collections.abc import Callable

import wasmtime

import wasmimport

WAT = """(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    global.get $heap local.get 2 i32.const 1 i32.sub i32.add
    i32.const 0 local.get 2 i32.sub i32.and local.tee $p
    local.get 3 i32.add global.set $heap
    global.get $heap i32.const 60000 i32.gt_u if i32.const 1024 global.set $heap end
    local.get $p)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "nop"))
  (func (export "strlen") (param i32 i32) (result i32) local.get 1)
)"""
MANIFEST = {"functions": {"add": "(a: i32, b: i32) -> i32", "nop": "() -> None",
                          "strlen": "(s: str) -> u32"}}


def per_call_ns(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()

    mod = wasmimport.load(WAT.encode(), name="bench", manifest=MANIFEST)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, WAT), [])
    wt_add = instance.exports(store)["add"]
    text = "x" * 16

    cases: dict[str, Callable[[], object]] = {
        "native operator.add(1, 2) [reference]": lambda: operator.add(1, 2),
        "wasmimport add(1, 2)": lambda: mod.add(1, 2),
        "wasmimport nop()": lambda: mod.nop(),
        "wasmimport strlen(16-char str)": lambda: mod.strlen(text),
        "wasmtime-py Func.__call__ add(1, 2)": lambda: wt_add(store, 1, 2),
    }
    calls = {name: args.calls // (20 if "wasmtime-py" in name else 1) for name in cases}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            samples[name].append(per_call_ns(fn, calls[name]))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    # the lambda costs the same for every row: subtract an empty lambda's time
    empty = statistics.median(per_call_ns(lambda: None, args.calls) for _ in range(args.rounds))
    native = medians["native operator.add(1, 2) [reference]"] - empty
    print(f"{'path':42} {'ns/call':>10} {'x native':>9}")
    for name, value in medians.items():
        net = value - empty
        print(f"{name:42} {net:10.0f} {net / native:9.1f}")
    print(f"(empty lambda overhead {empty:.0f} ns subtracted; {args.rounds} interleaved rounds)")


if __name__ == "__main__":
    main()
