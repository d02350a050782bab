"""How precisely a time limit and Ctrl-C stop a running wasm call.

* timeout: an endless call under ``[limits] timeout = "100ms"``; the overshoot is the time
  from the call's start to its ``LimitExceeded``, minus 100 ms.
* Ctrl-C: a child process runs an endless call; the latency is the time from the parent's
  SIGINT to the child's ``KeyboardInterrupt`` handler (the child stamps it with
  ``time.time()``, so both clocks are the same wall clock).

Both run with the GIL held and released.  Medians and maxima over the runs.

    python benchmarks/bench_limits.py [--runs 30] [--guest tests/guests/edges.wasm]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import wasmimport

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = {"forever": "() -> None",
             "forever_nogil": {"export": "forever", "signature": "() -> None",
                               "release_gil": True}}
LIMIT = 0.100

CHILD = textwrap.dedent("""
    import sys, time, wasmimport
    functions = {"forever": "() -> None",
                 "forever_nogil": {"export": "forever", "signature": "() -> None",
                                   "release_gil": True}}
    mod = wasmimport.load(sys.argv[1], manifest={"functions": functions})
    run = getattr(mod, sys.argv[2])
    print("ready", flush=True)
    try:
        run()
    except KeyboardInterrupt:
        print(time.time(), flush=True)
""")


def overshoots(guest: Path, function: str, runs: int) -> list[float]:
    """Seconds past the 100 ms limit at which each limited call was stopped."""
    mod = wasmimport.load(guest, manifest={"limits": {"timeout": f"{LIMIT}s"},
                                           "functions": FUNCTIONS})
    call = getattr(mod, function)
    found = []
    for _ in range(runs):
        start = time.perf_counter()
        try:
            call()
        except wasmimport.LimitExceeded:
            found.append(time.perf_counter() - start - LIMIT)
    return found


def interrupt_latencies(guest: Path, function: str, runs: int) -> list[float]:
    """Seconds from SIGINT to KeyboardInterrupt in a child running an endless call."""
    found = []
    for _ in range(runs):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(guest), function],
                                 stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "WASMIMPORT_PURE": "0"})
        assert child.stdout is not None
        try:
            if child.stdout.readline() != "ready\n":
                raise SystemExit("bench_limits: the child did not start")
            time.sleep(0.2)
            sent = time.time()
            child.send_signal(signal.SIGINT)
            found.append(float(child.stdout.readline()) - sent)
            child.wait(timeout=30)
        finally:
            child.kill()
    return found


def report(label: str, values: list[float]) -> None:
    print(f"{label:<40} median {statistics.median(values) * 1000:6.2f} ms   "
          f"max {max(values) * 1000:6.2f} ms   ({len(values)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--guest", type=Path, default=ROOT / "tests/guests/edges.wasm")
    args = parser.parse_args()
    if not args.guest.exists():
        raise SystemExit(f"bench_limits: {args.guest} is not built: run `make wasm`")
    for function in ("forever", "forever_nogil"):
        gil = "GIL held" if function == "forever" else "GIL released"
        report(f"timeout 100 ms overshoot ({gil})", overshoots(args.guest, function, args.runs))
        report(f"Ctrl-C latency ({gil})",
               interrupt_latencies(args.guest, function, max(5, args.runs // 3)))


if __name__ == "__main__":
    main()
