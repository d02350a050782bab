"""Cost of resources (guest objects as Python objects): a method call (with memory on both
sides too), an object made and dropped, a borrow, a host object lent to the guest, against
a plain call of the same module and a C extension's object (``io.BytesIO``) as the native
reference, all in one process run.

The guests are tests/guests/components/counter.wasm (a component's WIT resource),
tests/guests/objects.wasm (a core module's manifest resource) and
tests/guests/components/store.wasm (a resource the host implements); `make wasm` builds them.
Rows run in interleaved rounds with one timeit loop each (bench_components' ``measure``).

    python benchmarks/bench_resources.py [--rounds 11]
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmimport

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))   # hostfns
from bench_components import measure  # noqa: E402

GUESTS = Path(__file__).resolve().parents[1] / "tests" / "guests"


class Tally:
    """store.wasm's imported resource, as a host implements it."""

    def __init__(self, start: int) -> None:
        self.n = start

    def add(self, n: int) -> None:
        self.n += n

    def total(self) -> int:
        return self.n

    @staticmethod
    def big() -> Tally:
        return Tally(1000)


def _consume(t: Tally) -> int:
    return t.n * 10


def _store(workdir: Path) -> Any:
    """store.wasm with this module's Tally as its tallies (the sidecar's [imports])."""
    shutil.copy(GUESTS / "components" / "store.wasm", workdir / "store.wasm")
    (workdir / "store.wasm.toml").write_text(
        '[imports]\n"demo:store/tallies@0.1.0" = "bench_tallies"\n')
    tallies = types.ModuleType("bench_tallies")
    tallies.Tally, tallies.consume = Tally, _consume  # type: ignore[attr-defined]
    sys.modules["bench_tallies"] = tallies
    return wasmimport.load(workdir / "store.wasm", "store")


def rows(workdir: Path) -> dict[str, tuple[Callable[[], Any], Any]]:
    """name -> (a call with no arguments, its expected answer)."""
    store, t = _store(workdir), Tally(7)
    counter = wasmimport.load(GUESTS / "components" / "counter.wasm", "counter")
    objects = wasmimport.load(GUESTS / "objects.wasm", "objects")
    Counter, Acc = counter.counters.Counter, objects.Acc
    c, a, buf = Counter(7), Acc(7), io.BytesIO(b"1234567")
    buf.seek(7)
    total, live = counter.counters.total, objects.live
    merge, omerge = counter.counters.merge, objects.merge
    return {
        "native method (BytesIO.tell)": (lambda: buf.tell(), 7),
        "native object made and freed (BytesIO())": (lambda: io.BytesIO() and None, None),
        "core plain call (live())": (lambda: live(), 1),
        "core method (Acc.value)": (lambda: a.value(), 7),
        "core method, bytes in, str out (Acc.feed)": (lambda: a.feed(b"\0"), "7"),
        "core object made and dropped (Acc(1))": (lambda: Acc(1) and None, None),
        "component method (Counter.value)": (lambda: c.value(), 7),
        "component borrow (total(c))": (lambda: total(c), 7),
        "component object made and dropped (Counter(1))": (lambda: Counter(1) and None,
                                                           None),
        "host object lent to an export (store.peek(t))": (lambda: store.peek(t, False), 7),
        # an own parameter: made, moved in (the guest drops it), the result made and dropped
        "core object made and moved in (merge(Acc(1), a))": (
            lambda: omerge(Acc(1), a).value(), 8),
        "component object made and moved in (merge(Counter(1), c))": (
            lambda: merge(Counter(1), c).value(), 8),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        result = measure(rows(Path(workdir)), args.rounds)
    method = result["native method (BytesIO.tell)"]
    made = result["native object made and freed (BytesIO())"]
    plain = result["core plain call (live())"]
    print(f"{'row':48} {'us/op':>8} {'/native':>8} {'/plain call':>11}")
    for name, seconds in result.items():
        native = made if "made" in name else method
        print(f"{name:48} {seconds * 1e6:8.3f} {seconds / native:8.2f} "
              f"{seconds / plain:11.2f}")


if __name__ == "__main__":
    main()
