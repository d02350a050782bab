"""What guest frames in tracebacks cost: nothing on a call, once per module on the first trap.

A generated C program (many compile units of small functions, then tests/guests/debug.c's
three-deep trap) is built twice, with DWARF (``build --debug``, over 1 MB) and stripped.  In
fresh processes (DWARF is read once per process) it times: the first trap caught and its
traceback formatted, the next ones, and the same on the stripped module; as the native
reference, a Python exception raised through four Python frames and formatted.  In one
process it times a plain call on both builds (the call path must not change).

    python benchmarks/bench_tracebacks.py [--rounds 7] [--units 64]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import timeit
from pathlib import Path

import wasmimport

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = {"functions": {"outer": "(x: i32) -> i32", "work": "(x: i32) -> i32"}}

# each unit: 40 functions of a little arithmetic, so the DWARF has lines and scopes to search
UNIT = """\
#include <stdint.h>
{functions}
uint32_t unit{u}(uint32_t x) {{ return {calls}; }}
"""
FUNCTION = """\
__attribute__((noinline)) uint32_t u{u}f{i}(uint32_t x) {{
    uint32_t acc = x ^ {i}u;
    for (uint32_t k = 0; k < (x & 7u); k++)
        acc = acc * 2654435761u + (k << ({i} % 13));
    return acc >> 3;
}}
"""
MAIN = """\
#include "wasmimport.h"
{declarations}
WI_EXPORT(work) int32_t work(int32_t x) {{ return (int32_t)({calls}); }}
"""

CHILD = """
import json, sys, time, traceback, wasmimport
def timed(make):
    start = time.perf_counter()
    exc = make()
    text = "".join(traceback.format_exception(exc))
    return time.perf_counter() - start, text
def trap(mod):
    try:
        mod.outer(0)
    except wasmimport.Trap as exc:
        return exc
def native():
    def a(): b()
    def b(): c()
    def c(): d()
    def d(): raise ValueError("native")
    try:
        a()
    except ValueError as exc:
        return exc
mod = wasmimport.load(sys.argv[1], manifest=json.loads(sys.argv[2]))
first, text = timed(lambda: trap(mod))
assert "debug.c" in text or sys.argv[1].endswith("stripped.wasm"), text
nexts = [timed(lambda: trap(mod))[0] for _ in range(20)]
natives = [timed(native)[0] for _ in range(20)]
print(json.dumps([first, sorted(nexts)[10], sorted(natives)[10]]))
"""


def build(folder: Path, units: int) -> tuple[Path, Path]:
    sources = []
    for u in range(units):
        functions = "".join(FUNCTION.format(u=u, i=i) for i in range(40))
        calls = " + ".join(f"u{u}f{i}(x)" for i in range(40))
        path = folder / f"unit{u}.c"
        path.write_text(UNIT.format(u=u, functions=functions, calls=calls))
        sources.append(str(path))
    main = folder / "main.c"
    main.write_text(MAIN.format(
        declarations="".join(f"uint32_t unit{u}(uint32_t x);\n" for u in range(units)),
        calls=" + ".join(f"unit{u}((uint32_t)x)" for u in range(units))))
    sources += [str(main), str(ROOT / "tests" / "guests" / "debug.c")]
    out = []
    for name, flags in (("debug.wasm", ["--debug"]), ("stripped.wasm", [])):
        path = folder / name
        subprocess.run([sys.executable, "-m", "wasmimport", "build", "-q", "-O1", *flags,
                        "--cflag=-DNO_HOST", *sources, "-o", str(path)], check=True)
        out.append(path)
    return out[0], out[1]


def fresh(path: Path) -> tuple[float, float, float]:
    """(first traceback, a next one, a native one) in seconds, in a new process."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(MANIFEST)],
                          capture_output=True, text=True, check=True)
    first, nxt, native = json.loads(done.stdout)
    return first, nxt, native


def call_time(path: Path, rounds: int) -> float:
    """Seconds per call of ``outer(5)`` (a few guest instructions)."""
    outer = wasmimport.load(path, manifest=MANIFEST).outer
    assert outer(5) == 34
    return statistics.median(timeit.Timer(lambda: outer(5)).timeit(200_000) / 200_000
                             for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--units", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        debug, stripped = build(Path(tmp), args.units)
        results = {}
        for path in (debug, stripped):
            runs = [fresh(path) for _ in range(args.rounds)]
            results[path.name] = [statistics.median(r[i] for r in runs) for i in range(3)]
        calls = {path.name: call_time(path, args.rounds) for path in (debug, stripped)}
        sizes = {path.name: path.stat().st_size for path in (debug, stripped)}
    native = statistics.median(r[2] for r in results.values())
    print(textwrap.dedent(f"""\
        module with DWARF: {sizes['debug.wasm'] / 2**20:.2f} MiB ({args.units} units); \
stripped: {sizes['stripped.wasm'] / 2**10:.0f} KiB
        native reference: a Python exception through 4 frames, formatted: \
{native * 1e6:.1f} us"""))
    print(f"{'row':44} {'ms':>9} {'/native':>9}")
    for name, (first, nxt, _) in results.items():
        print(f"{name + ': first traceback (fresh process)':44} {first * 1e3:9.2f} "
              f"{first / native:9.1f}")
        print(f"{name + ': next traceback':44} {nxt * 1e3:9.3f} {nxt / native:9.1f}")
    print(f"plain call: {calls['debug.wasm'] * 1e9:.0f} ns with DWARF, "
          f"{calls['stripped.wasm'] * 1e9:.0f} ns stripped "
          f"(ratio {calls['debug.wasm'] / calls['stripped.wasm']:.2f})")


if __name__ == "__main__":
    main()
