"""Per-call cost of a component's functions, against the same functions as a core module
with a manifest and against wasmtime-py's component ``Func``, all in one process run.

The component is tests/guests/components/calc.wasm (C, made a component by `build --wit`;
`make wasm` builds it).  Its core module with a hand-written manifest is the baseline the
issue names; ``operator.add`` and ``str.upper`` are the native references.  Rows run in
interleaved rounds (each round times every row once, in rotating order) with one timeit
loop; the table shows medians and ratios.  A second table times
tests/guests/components/pyguest.wasm (componentize-py: several core modules, so it runs on
wasmtime's component runtime) through wasmimport and through wasmtime-py's ``Func`` (with
its ``post_return``), on one engine.  A third times a published component's byte lists on
that runtime: numcodecs' zlib codec (tests/real/numcodecs-zlib.wasm, `make real-modules`)
encoding and decoding 100 kB, against the native ``zlib`` at the same level.

    python benchmarks/bench_components.py [--rounds 11] [--markdown]
"""

from __future__ import annotations

import argparse
import operator
import statistics
import sys
import tempfile
import timeit
import zlib
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
REAL = COMPONENTS.parents[1] / "real"
DATA = b"".join(b"%d, " % (i * i % 1009) for i in range(22_000))[:100_000]   # compressible
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


def codec_rows() -> dict[str, tuple[Callable[[], Any], Any]]:
    """A list<u8> of 100 kB each way through the codec, and the native zlib for scale."""
    logging = Path(tempfile.mkdtemp()) / "bench_codec_log.py"
    logging.write_text("def log(level, context, message):\n    pass\n")
    sys.path.insert(0, str(logging.parent))
    module = wasmimport.load(REAL / "numcodecs-zlib.wasm", "zcodec", manifest={
        "wasi": {}, "imports": {"wasi:logging/logging": "bench_codec_log"}})
    codec = module.codec
    compressor = codec.Codec.from_config('{"level": 6}')
    array = codec.AnyArray(codec.AnyArrayData.U8(DATA), [len(DATA)])
    encoded = compressor.encode(array)
    compressed = zlib.compress(DATA, 6)
    return {"codec encode 100 kB (runtime path)": (lambda: compressor.encode(array), encoded),
            "native zlib.compress 100 kB": (lambda: zlib.compress(DATA, 6), compressed),
            "codec decode 100 kB (runtime path)": (lambda: compressor.decode(encoded), array),
            "native zlib.decompress 100 kB": (lambda: zlib.decompress(compressed), DATA)}


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
            n = 20 if "100 kB" in name else 20_000 \
                if "wasmtime-py" not in name and "runtime" not in name else 2_000
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
    lists = measure(codec_rows(), args.rounds)
    print(f"\n{'row (list<u8> of 100 kB)':36} {'us/call':>9} {'/native':>8}")
    for name, seconds in lists.items():
        native = lists["native zlib.compress 100 kB" if "encode" in name or "zlib.compress" in name
                       else "native zlib.decompress 100 kB"]
        print(f"{name:36} {seconds * 1e6:9.1f} {seconds / native:8.2f}")


if __name__ == "__main__":
    main()
