"""Import times of wasm modules, in fresh processes and in one process, against their references.

Each part runs its cases in interleaved rounds (noise hits every case alike) and prints
medians and the ratios the project targets, all measured in this one run:

1. ``gen``, ~1 MB of code (2,400 functions, 240 exported), in fresh interpreter processes:
   ``import wasmimport; wasmimport.install(); import gen`` with an empty cache (``cold``)
   and with a filled one (``warm``), against ``import wasmtime`` (or wasmer's packages)
   alone and ``python -c pass``.  Targets: warm / engine import <= 1.3, cold / warm >= 10.
2. ``big``, 0.75 MB and 5,000 exported functions, and ``small``, the same kind of code with
   12, both with a two-function sidecar manifest and a warm cache:
   - a fresh process importing ``big``, against the engine's import (target <= 0.6);
   - in one process, ``import big`` against ``import small`` (each import a new instance,
     the previous module and its code dropped first; target <= 1.5), and against ``few``,
     big's code with only 12 of its functions exported (what the export count costs);
   - the first wasm import of a fresh process: from before ``import wasmimport`` to after
     ``import small`` (and ``big``), timed inside the process (target: single-digit ms).
3. ``python -c pass`` in a virtual environment where ``python -m wasmimport enable`` ran,
   against one where it did not (target <= 1.10), in wall and in CPU time.

    python benchmarks/bench_import.py [--rounds 7] [--functions 2400] [--backend wasmer]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime


def generate_wat(functions: int, exported_every: int = 10, steps: int = 8,
                 exports: int | None = None) -> str:
    """A module of ``functions`` non-trivial functions (loops, memory, calls); every
    ``exported_every``-th is exported (the first ``exports`` of those, if given); ``steps``
    sets the size of each function's loop."""
    parts = ['(module (memory (export "memory") 4)']
    for i in range(functions):
        exported = i % exported_every == 0 and (exports is None or i < exports * exported_every)
        export = f'(export "f{i}") ' if exported else ""
        tail = (f"local.get 2 local.get 2 local.get 1 call $f{i - 1} i32.add" if i
                else "local.get 2 local.get 1 i32.add")
        body = "".join(
            f"local.get 2 local.get 0 i32.add i32.const {i * 31 + k} i32.mul local.get 1 "
            f"i32.xor i32.const {k + 1} i32.rotl local.set 2 "
            f"local.get 3 i32.const {(k * 4) % 4096} i32.add local.get 2 i32.store "
            f"local.get 3 i32.const {(k * 8) % 4096} i32.add i32.load local.get 2 i32.add "
            f"local.set 2 "
            for k in range(steps))
        parts.append(
            f"(func $f{i} {export}(param i32 i32) (result i32) (local i32 i32)"
            f"(block $done (loop $again {body}"
            f"local.get 3 i32.const 1 i32.add local.tee 3 i32.const 3 i32.ge_u br_if $done "
            f"br $again)) {tail})")
    parts.append(")")
    return "\n".join(parts)


ENGINE_IMPORT = {"wasmtime": "import wasmtime",
                 "wasmer": "import wasmer, wasmer_compiler_cranelift"}
MANIFEST = ('doc = "generated"\n[functions]\n'
            'f0 = "(a: i32, b: i32) -> i32"\nf10 = "(a: u32, b: u32) -> u32"\n')
IMPORTER = ("import wasmimport; wasmimport.install(); import {name}; "
            "assert isinstance({name}.f0(1, 2) + {name}.f10(3, 4), int)")
# the first wasm import of a process, timed inside it, in ms
FIRST = ("import time; t = time.perf_counter(); import wasmimport; wasmimport.install(); "
         "import {name}; t = time.perf_counter() - t; assert {name}.f10(3, 4) >= 0; "
         "print(t * 1000)")
# in one process: import big and small again and again, each time a new instance
IN_PROCESS = """
import gc, importlib, json, sys, time, wasmimport
wasmimport.install()
names, repeats = sys.argv[1:-1], int(sys.argv[-1])
for name in names:
    assert importlib.import_module(name).f10(3, 4) >= 0   # warm: machinery loaded
samples = {name: [] for name in names}
for _ in range(repeats):
    for name in names:
        del sys.modules[name]
        gc.collect()                     # the previous instance goes, as it would
        start = time.perf_counter()
        importlib.import_module(name)
        samples[name].append(time.perf_counter() - start)
        assert sys.modules[name].f10(3, 4) >= 0
print(json.dumps(samples))
"""


def timed(python: str, code: str, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", code], cwd=cwd, env=env, check=True)
    return time.perf_counter() - start


def cpu_timed(python: str, cwd: Path, env: dict[str, str], cpu: list[float]) -> float:
    """``python -c pass``'s wall time; its CPU time (user + system) goes to ``cpu``."""
    start = time.perf_counter()
    child = subprocess.Popen([python, "-c", "pass"], cwd=cwd, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0
    cpu.append(usage.ru_utime + usage.ru_stime)
    return wall


def output(python: str, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run([python, *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def interleaved(cases: dict[str, Callable[[int], float]], rounds: int) -> dict[str, float]:
    """The median of each case over ``rounds`` rounds, each round running every case."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(rounds):
        for name, run in cases.items():
            samples[name].append(run(r))
    return {name: statistics.median(values) for name, values in samples.items()}


def show(median: dict[str, float], unit: float = 1000) -> None:
    for name, value in median.items():
        print(f"  {name:34} {value * unit:8.1f} ms")


def enabled_venvs(python: str, folder: Path, env: dict[str, str]) -> tuple[str, str]:
    """Two virtual environments of ``python`` reaching its packages through a ``.pth`` of
    paths: their pythons, the second with ``python -m wasmimport enable`` run in it."""
    site = output(python, ["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                  folder, env).strip()
    pythons = []
    for name in ("plain-venv", "enabled-venv"):
        subprocess.run([python, "-m", "venv", "--without-pip", str(folder / name)], check=True)
        venv_python = str(folder / name / "bin" / "python")
        own = output(venv_python, ["-c", "import sysconfig; print(sysconfig.get_path("
                                   "'purelib'))"], folder, env).strip()
        Path(own, "deps.pth").write_text(site + "\n")
        pythons.append(venv_python)
    output(pythons[1], ["-m", "wasmimport", "enable"], folder, env)
    return pythons[0], pythons[1]


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
    engine = ENGINE_IMPORT[args.backend]
    version = output(py, ["-c", "import platform; print(platform.python_version())"],
                     Path.cwd(), dict(os.environ)).strip()
    print(f"backend {args.backend} on Python {version}; {args.rounds} interleaved rounds, "
          f"medians; engine import = `{engine}`")

    with tempfile.TemporaryDirectory(prefix="wasmimport-bench-") as tmp:
        folder = Path(tmp)
        sizes = {}
        for name, functions, every, steps, exports in (
                ("gen", args.functions, 10, 8, None), ("big", 5000, 1, 2, None),
                ("small", 12, 1, 2, None), ("few", 5000, 1, 2, 12)):
            wasm = wasmtime.wat2wasm(generate_wat(functions, every, steps, exports))
            (folder / f"{name}.wasm").write_bytes(wasm)
            (folder / f"{name}.wasm.toml").write_text(MANIFEST)
            sizes[name] = len(wasm)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("WASMIMPORT")}
        base_env["WASMIMPORT_BACKEND"] = args.backend
        warm_env = dict(base_env, WASMIMPORT_CACHE_DIR=str(folder / "warm-cache"))
        for name in sizes:
            timed(py, IMPORTER.format(name=name), folder, warm_env)   # fill the warm cache

        print(f"\n1. gen: {sizes['gen'] / 1e6:.2f} MB wasm, {args.functions} functions, "
              f"{args.functions // 10} exports, fresh processes")
        gen = IMPORTER.format(name="gen")
        median = interleaved({
            "cold (empty cache)": lambda r: timed(
                py, gen, folder, dict(base_env, WASMIMPORT_CACHE_DIR=str(folder / f"c{r}"))),
            "warm (cached)": lambda r: timed(py, gen, folder, warm_env),
            "import engine": lambda r: timed(py, engine, folder, base_env),
            "python -c pass": lambda r: timed(py, "pass", folder, base_env),
        }, args.rounds)
        show(median)
        warm, wt = median["warm (cached)"], median["import engine"]
        print(f"warm / import engine   = {warm / wt:.2f}  (target <= 1.3)")
        print(f"cold / warm            = {median['cold (empty cache)'] / warm:.1f}  "
              "(target >= 10)")
        print(f"a warm import on top of interpreter start-up: "
              f"{(warm - median['python -c pass']) * 1000:.1f} ms")

        print(f"\n2. big: {sizes['big'] / 1e6:.2f} MB wasm, 5000 functions, all exported; "
              f"small: {sizes['small'] / 1e3:.1f} kB, 12; warm cache")
        big = IMPORTER.format(name="big")
        median = interleaved({
            "warm import big (fresh process)": lambda r: timed(py, big, folder, warm_env),
            "import engine": lambda r: timed(py, engine, folder, base_env),
        }, args.rounds)
        show(median)
        print(f"warm big / import engine = "
              f"{median['warm import big (fresh process)'] / median['import engine']:.2f}  "
              "(target <= 0.6)")
        repeats = 5 * args.rounds
        samples = json.loads(output(py, ["-c", IN_PROCESS, "big", "small", "few", str(repeats)],
                                    folder, warm_env))
        inside = {name: statistics.median(values) for name, values in samples.items()}
        show({f"import {name} (in one process)": value for name, value in inside.items()})
        print(f"in-process big / small   = {inside['big'] / inside['small']:.2f}  (target <= 1.5; "
              f"{repeats} imports each)")
        print(f"in-process big / few     = {inside['big'] / inside['few']:.2f}  (few: big's code "
              "with 12 exports: the export count alone)")
        first = interleaved({
            f"first wasm import: {name}": lambda r, name=name: float(output(
                py, ["-c", FIRST.format(name=name)], folder, warm_env)) / 1000
            for name in ("small", "big")}, args.rounds)
        show(first)
        print("  (from before `import wasmimport` to after the import, inside the process; "
              "target: single-digit ms)")

        print("\n3. `python -c pass` in a venv, with and without `python -m wasmimport enable`")
        plain, enabled = enabled_venvs(py, folder, base_env)
        cpu: dict[str, list[float]] = {"plain": [], "enabled": []}
        median = interleaved({
            "python -c pass": lambda r: cpu_timed(plain, folder, base_env, cpu["plain"]),
            "python -c pass, enabled": lambda r: cpu_timed(enabled, folder, base_env,
                                                           cpu["enabled"]),
        }, 5 * args.rounds)         # a small difference: more rounds
        show(median)
        plain_cpu, enabled_cpu = (statistics.median(cpu[k]) for k in ("plain", "enabled"))
        print(f"  (CPU time, user + system: {plain_cpu * 1000:.1f} and "
              f"{enabled_cpu * 1000:.1f} ms)")
        print(f"enabled / plain          = "
              f"{median['python -c pass, enabled'] / median['python -c pass']:.3f}  "
              f"(target <= 1.10; {5 * args.rounds} rounds; in CPU time "
              f"{enabled_cpu / plain_cpu:.3f}, which the machine's load disturbs less)")

if __name__ == "__main__":
    main()
