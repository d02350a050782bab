"""Per-call cost on the js backend (Pyodide), against a no-op JavaScript call in the same run.

On CPython this script is the driver: it builds ``bench.wasm`` (``guest/bench.c``, the guest
of bench_call.py) into ``.cache/bench-web/`` and runs itself inside Pyodide (after ``make dist
web-deps``): under Node by default (``tools/web/pyodide_suite.mjs --script``); with
``--chromium`` in a page of headless Chromium instead, on the page's main thread
(``tools/web/bench_page.mjs``, after ``make chromium`` too: the page installs wasmimport's pure
wheel with micropip, as a user's page would, and the table it prints is printed here); with
``--both`` under Node, then in Chromium.  Inside Pyodide it loads the guest with its manifest
and times, in interleaved rounds with one ``timeit`` loop whose own cost is subtracted: a
call of a no-op JS function from Python (the reference), ``add(i32, i32)`` and ``upper(str)``
of 16 characters; it prints medians and the ratios against the reference with the issue's
goals (add <= 2x, upper(16) <= 4x), and against a no-op JS call given the same arguments
(what crossing into JS with them costs by itself).

    python benchmarks/bench_web.py [--chromium | --both] [--rounds 11]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / ".cache" / "bench-web"
TEXT = "hello wasmimport"                     # 16 ASCII characters
GOALS = {"add": 2.0, "upper": 4.0}
MANIFEST = HERE / "guest" / "bench.wasm.toml"


def inside(wasm: str, rounds: int, manifest: str | Path = MANIFEST,
           engine: str | None = None) -> None:
    """Time the rows in this Pyodide and print the table: ``wasm`` loaded with the manifest
    file ``manifest``; ``engine`` names the JS engine in the header (default: the js
    backend's version, a browser's whole user agent)."""
    import pyodide  # type: ignore[import-not-found]
    from pyodide.code import run_js  # type: ignore[import-not-found]

    import wasmimport
    from wasmimport.backends import get_backend

    bench = wasmimport.load(wasm, manifest=Path(manifest).read_text())
    noop = run_js("() => undefined")
    rows = {
        "no-op JS function": ("noop()", {"noop": noop}),
        "no-op JS, add's arguments": ("noop(1, 2)", {"noop": noop}),
        "no-op JS, upper's argument": ("noop(TEXT)", {"noop": noop, "TEXT": TEXT}),
        "JS (a, b) => (a + b) | 0": ("jsadd(1, 2)", {"jsadd": run_js("(a, b) => (a + b) | 0")}),
        "add": ("add(1, 2)", {"add": bench.add}),
        "upper": ("upper(TEXT)", {"upper": bench.upper, "TEXT": TEXT}),
    }
    # the same calls' own crossing: each row against a no-op JS call given its arguments
    same = {"add": "no-op JS, add's arguments", "upper": "no-op JS, upper's argument"}
    assert bench.add(1, 2) == 3 and bench.upper(TEXT) == TEXT.upper()
    number = 20_000
    empty = timeit.Timer("pass")
    timers = {name: timeit.Timer(stmt, globals=env) for name, (stmt, env) in rows.items()}
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(rounds):
        base = empty.timeit(number)
        for name, timer in timers.items():
            times[name].append((timer.timeit(number) - base) / number * 1e6)
    median = {name: statistics.median(values) for name, values in times.items()}
    reference = median["no-op JS function"]
    print(f"js backend on {engine or get_backend().version} (Pyodide {pyodide.__version__}); "
          f"{rounds} rounds of {number} calls")
    print(f"{'row':28} {'us/call':>8} {'ratio':>6} {'same args':>9}  goal (ratio)")
    for name, value in median.items():
        goal = GOALS.get(name)
        verdict = "" if goal is None else \
            f"<= {goal:g}x {'met' if value / reference <= goal else 'MISSED'}"
        own = f"{value / median[same[name]]:9.2f}" if name in same else " " * 9
        print(f"{name:28} {value:8.2f} {value / reference:6.2f} {own}  {verdict}")


def driver(rounds: int, where: list[str]) -> int:
    """Build the guest, then run this script inside Pyodide under Node and/or in Chromium
    (``where``: "node", "chromium"); the exit status is the first failure's."""
    sys.path.insert(0, str(HERE))
    from bench_call import build_guest

    OUT.mkdir(parents=True, exist_ok=True)
    wasm = build_guest(OUT)
    web = ROOT / "tools" / "web"
    runs = {
        "node": ["node", str(web / "pyodide_suite.mjs"), "--script",
                 "/repo/" + str(Path(__file__).resolve().relative_to(ROOT)),
                 "--inside", "/repo/" + str(wasm.relative_to(ROOT)), "--rounds", str(rounds)],
        # the page fetches bench.wasm from serve.py's /bench-web/, which is OUT
        "chromium": ["node", str(web / "bench_page.mjs"), "--rounds", str(rounds)],
    }
    status = 0
    for n, name in enumerate(where):
        if n:
            print(flush=True)
        status = status or subprocess.call(runs[name])
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    place = parser.add_mutually_exclusive_group()
    place.add_argument("--chromium", action="store_true",
                       help="in a page of headless Chromium (main thread) rather than Node")
    place.add_argument("--both", action="store_true", help="under Node, then in Chromium")
    parser.add_argument("--inside", metavar="WASM", help=argparse.SUPPRESS)
    parser.add_argument("--manifest", default=str(MANIFEST), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.rounds, args.manifest)
        return 0
    return driver(args.rounds, ["node", "chromium"] if args.both
                  else ["chromium"] if args.chromium else ["node"])


if __name__ == "__main__":
    sys.exit(main())
