"""Fresh-process import times of a ~1 MB wasm module: cold cache, warm cache, and the engine.

Each round runs, in new interpreter processes and in interleaved order:

- ``cold``: ``import wasmimport; wasmimport.install(); import gen`` with an empty cache;
- ``warm``: the same with the cache filled by an earlier run;
- ``import wasmtime`` (or wasmer's packages) alone: the engine wasmimport cannot do without;
- ``pass`` (the interpreter's own start-up).

It prints the median of each and the ratios the project targets: warm / engine import
(target <= 1.3) and cold / warm (target >= 10).

    python benchmarks/bench_import.py [--rounds 7] [--functions 2000] [--backend wasmer]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import wasmtime


def generate_wat(functions: int, exported_every: int = 10) -> str:
    """A module of ``functions`` non-trivial functions (loops, memory, calls), some exported."""
    parts = ['(module (memory (export "memory") 4)']
    for i in range(functions):
        export = f'(export "f{i}") ' if i % exported_every == 0 else ""
        tail = (f"local.get 2 local.get 2 local.get 1 call $f{i - 1} i32.add" if i
                else "local.get 2 local.get 1 i32.add")
        steps = "".join(
            f"local.get 2 local.get 0 i32.add i32.const {i * 31 + k} i32.mul local.get 1 "
            f"i32.xor i32.const {k + 1} i32.rotl local.set 2 "
            f"local.get 3 i32.const {(k * 4) % 4096} i32.add local.get 2 i32.store "
            f"local.get 3 i32.const {(k * 8) % 4096} i32.add i32.load local.get 2 i32.add "
            f"local.set 2 "
            for k in range(8))
        parts.append(
            f"(func $f{i} {export}(param i32 i32) (result i32) (local i32 i32)"
            f"(block $done (loop $again {steps}"
            f"local.get 3 i32.const 1 i32.add local.tee 3 i32.const 3 i32.ge_u br_if $done "
            f"br $again)) {tail})")
    parts.append(")")
    return "\n".join(parts)


ENGINE_IMPORT = {"wasmtime": "import wasmtime",
                 "wasmer": "import wasmer, wasmer_compiler_cranelift"}


def timed(python: str, code: str, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", code], cwd=cwd, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--functions", type=int, default=2400)
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter to measure (default: this one); use one with "
                             "wasmimport installed normally, as users have it")
    parser.add_argument("--backend", default="wasmtime", choices=sorted(ENGINE_IMPORT),
                        help="the engine to import with (WASMIMPORT_BACKEND)")
    args = parser.parse_args()
    py = os.path.abspath(args.python) if os.sep in args.python else args.python

    with tempfile.TemporaryDirectory(prefix="wasmimport-bench-") as tmp:
        folder = Path(tmp)
        wasm = wasmtime.wat2wasm(generate_wat(args.functions))
        (folder / "gen.wasm").write_bytes(wasm)
        (folder / "gen.wasm.toml").write_text(
            'doc = "generated"\n[functions]\n'
            'f0 = "(a: i32, b: i32) -> i32"\nf10 = "(a: u32, b: u32) -> u32"\n')
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("WASMIMPORT")}
        base_env["WASMIMPORT_BACKEND"] = args.backend
        warm_env = dict(base_env, WASMIMPORT_CACHE_DIR=str(folder / "warm-cache"))
        importer = ("import wasmimport; wasmimport.install(); import gen; "
                    "assert isinstance(gen.f0(1, 2) + gen.f10(3, 4), int)")
        timed(py, importer, folder, warm_env)          # fill the warm cache
        cases = {
            "cold (empty cache)": lambda r: timed(
                py, importer, folder, dict(base_env, WASMIMPORT_CACHE_DIR=str(folder / f"c{r}"))),
            "warm (cached)": lambda r: timed(py, importer, folder, warm_env),
            "import engine": lambda r: timed(py, ENGINE_IMPORT[args.backend], folder, base_env),
            "python -c pass": lambda r: timed(py, "pass", folder, base_env),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for r in range(args.rounds):
            for name, run in cases.items():
                samples[name].append(run(r))
        median = {name: statistics.median(values) for name, values in samples.items()}

    version = subprocess.run([py, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"backend {args.backend} on Python {version}: "
          f"module {len(wasm) / 1e6:.2f} MB wasm, {args.functions} functions, "
          f"{args.functions // 10} exports; {args.rounds} interleaved rounds, medians")
    print(f"  (import engine = `{ENGINE_IMPORT[args.backend]}`)")
    for name, value in median.items():
        print(f"  {name:20} {value * 1000:8.1f} ms")
    warm, wt = median["warm (cached)"], median["import engine"]
    cold = median["cold (empty cache)"]
    print(f"warm / import engine   = {warm / wt:.2f}  (target <= 1.3)")
    print(f"cold / warm            = {cold / warm:.1f}  (target >= 10)")
    start = median["python -c pass"]
    print(f"a warm import on top of interpreter start-up: {(warm - start) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
