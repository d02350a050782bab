"""What traps without signal handlers cost: explicit checks against signals-based traps.

wasmimport compiles with wasmtime's ``signals_based_traps`` off, so a trap stays a Trap
whatever faulthandler or another library does with SIGSEGV/SIGILL/SIGFPE (docs/sandbox.md):
every memory access is bounds-checked in the compiled code instead of relying on guard
pages.  This benchmark loads the same guests on that engine and on one with wasmtime's
default (signals-based traps; built here by leaving the setting alone), on the compiled call
path, and times calls (``add``, ``sum_f64`` of 10k floats from benchmarks/guest/bench.c) and
compute kernels (benchmarks/kernels: CRC-32, a sieve, a matrix product) next to the same C
built natively, all in one run: each row's ratio to native, and explicit / signals.

    python benchmarks/bench_traps.py [--rounds 7] [--quick] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from types import ModuleType

from bench_call import (
    FLOATS,
    HERE,
    MANIFEST,
    Row,
    build_guest,
    build_native,
    check,
    measure,
    number,
)

import wasmimport
from wasmimport import backends
from wasmimport.backends import _wasmtime
from wasmimport.backends import _wasmtime_capi as capi

KERNELS = HERE / "kernels"
# (call, argument, what it is): each kernel call does milliseconds of work
CALLS = [("crc32_rounds", 16, "CRC-32 of 1 MiB"), ("sieve", 4_000_000, "sieve below 4e6"),
         ("matmul", 128, "128x128 f64 matmul")]
SIGNALS = "wasmtime-signals"     # the name the signals-based engine is registered under


def signals_backend() -> None:
    """Register a wasmtime backend whose engine keeps wasmtime's default, signal-based traps.

    It is the default backend with one configuration call left out, and its own cache tag.
    """
    setter = capi.nogil.wasmtime_config_signals_based_traps_set
    capi.nogil.wasmtime_config_signals_based_traps_set = lambda config, enabled: None
    try:
        backend = _wasmtime.WasmtimeBackend()
    finally:
        capi.nogil.wasmtime_config_signals_based_traps_set = setter
    backend.cache_tag = backend.cache_tag.replace("signals_based_traps=0",
                                                  "signals_based_traps=default")
    backends._BACKENDS[SIGNALS] = backend


def load(wasm: Path, manifest: Path, backend: str | None) -> ModuleType:
    os.environ.pop("WASMIMPORT_PURE", None)            # the compiled call path
    return wasmimport.load(wasm, manifest=manifest, backend=backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a smoke run: noisy numbers")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = parser.parse_args()
    signals_backend()
    with tempfile.TemporaryDirectory(prefix="wasmimport-bench-traps-") as tmp:
        folder = Path(tmp)
        native = build_native(folder)
        kernels = build_native(folder, KERNELS / "native.c", "kernelref")
        bench_wasm = build_guest(folder)
        kernel_wasm = build_guest(folder, KERNELS / "guest.c")
        engines = {"explicit checks": None, "signals": SIGNALS}
        bench = {name: load(bench_wasm, MANIFEST, backend) for name, backend in engines.items()}
        guest = {name: load(kernel_wasm, KERNELS / "guest.wasm.toml", backend)
                 for name, backend in engines.items()}
        floats = {"xs": FLOATS}
        groups: list[list[Row]] = [
            [Row("native add(1, 2)", "f(1, 2)", {"f": native.add}, 3),
             *[Row(f"{name}: add(1, 2)", "f(1, 2)", {"f": mod.add}, 3)
               for name, mod in bench.items()]],
            [Row("native sum_f64(10k floats)", "f(xs)", {"f": native.sum_f64, **floats},
                 sum(FLOATS)),
             *[Row(f"{name}: sum_f64(10k floats)", "f(xs)", {"f": mod.sum_f64, **floats},
                   sum(FLOATS)) for name, mod in bench.items()]],
        ]
        for call, argument, what in CALLS:
            expect = getattr(kernels, call)(argument)
            groups.append([Row(f"native {what}", f"f({argument})",
                               {"f": getattr(kernels, call)}, expect),
                           *[Row(f"{name}: {what}", f"f({argument})",
                                 {"f": getattr(mod, call)}, expect)
                             for name, mod in guest.items()]])
        rows = [row for group in groups for row in group]
        for row in rows:
            check(row)
        rounds = 3 if args.quick else args.rounds
        medians = dict(zip((row.label for row in rows),
                           measure(rows, rounds, 0.01 if args.quick else 0.1)))
    lines = [("row", "us/call", "x native", "explicit / signals")]
    for group in groups:
        reference, explicit, signals = (medians[row.label] for row in group)
        for i, row in enumerate(group):
            ns = medians[row.label]
            lines.append((row.label, number(ns / 1000), number(ns / reference),
                          number(explicit / signals) if i == 1 else ""))
    if args.markdown:
        print("| " + " | ".join(lines[0]) + " |\n|---|---:|---:|---:|")
        print("\n".join("| " + " | ".join(line) + " |" for line in lines[1:]))
    else:
        widths = [max(len(line[i]) for line in lines) for i in range(4)]
        for line in lines:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(line, widths))))
    print(f"{rounds} interleaved rounds, medians (the timing loop, a few ns, is included)")


if __name__ == "__main__":
    main()
