"""mmh3-wasm (sample_pkgs/mmh3-wasm) against the real mmh3 wheel (native C), in one run.

The installed ``mmh3`` must be mmh3-wasm; the real mmh3 wheel, at the version mmh3-wasm
mirrors, is installed by pip into a temporary folder and its extension module loaded from
there under its own name (``sys.modules`` keeps mmh3-wasm), so both live in this process.
mmh3-wasm is imported twice: on the compiled call path and, as ``mmh3_pure``, with
``WASMIMPORT_PURE=1``.  Rows are timed with bench_call.py's interleaved rounds (the timing
loop subtracted); each group's reference is the native mmh3 call.

    python benchmarks/bench_mmh3.py [--rounds 11] [--quick] [--markdown]
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import bench_call
from bench_call import Row, measure, parse_args, results, table

VERSION = "5.3.1"              # the mmh3 release whose API and suite mmh3-wasm follows
SIZES = {"16 B": 16, "1 KiB": 1024, "1 MiB": 1 << 20}


def native_mmh3(folder: Path) -> ModuleType:
    """The real mmh3 wheel's extension, loaded from ``folder`` without shadowing ours."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--only-binary", ":all:", "--target", str(folder), f"mmh3=={VERSION}"],
                   check=True)
    [path] = folder.glob("mmh3.*.so")
    spec = importlib.util.spec_from_file_location("mmh3", path)
    assert spec is not None and spec.loader is not None
    ours = sys.modules.get("mmh3")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if ours is not None:          # a single-phase extension puts itself in sys.modules
        sys.modules["mmh3"] = ours
    return module


def wasm_mmh3(pure: bool) -> ModuleType:
    """mmh3-wasm on one call path (a second, private import for the pure one)."""
    import mmh3

    if not hasattr(mmh3, "_murmur"):
        raise SystemExit(f"bench_mmh3: the installed mmh3 ({mmh3.__file__}) is not mmh3-wasm: "
                         "pip install sample_pkgs/mmh3-wasm")
    if not pure:
        return mmh3
    os.environ["WASMIMPORT_PURE"] = "1"
    try:
        spec = importlib.util.spec_from_file_location("mmh3_pure", mmh3.__file__)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        del os.environ["WASMIMPORT_PURE"]
    return module


def build_groups(native: ModuleType, modules: dict[str, ModuleType]) -> list[list[Row]]:
    """For each function and key size: native mmh3 [ref], then mmh3-wasm on each path."""
    groups = []
    for function in ("hash", "hash128"):
        for size_name, size in SIZES.items():
            key = bytes(range(256)) * (size // 256) if size >= 256 else b"0123456789abcdef"
            call = f"{function}({size_name})"
            expect = getattr(native, function)(key)
            groups.append([Row(f"native mmh3 {call} [ref]", "f(k)",
                               {"f": getattr(native, function), "k": key}, expect,
                               ),
                           *[Row(f"mmh3-wasm {path} {call}", "f(k)",
                                 {"f": getattr(module, function), "k": key}, expect,
                                 )
                             for path, module in modules.items()]])
    return groups


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wasmimport-bench-mmh3-") as tmp:
        modules = {"compiled": wasm_mmh3(pure=False), "pure": wasm_mmh3(pure=True)}
        native = native_mmh3(Path(tmp))
        groups = build_groups(native, modules)
        rows = [row for group in groups for row in group]
        for row in rows:
            bench_call.check(row)
        loop_row = Row("timing loop", "pass", {}, None)
        medians = measure([loop_row, *rows], args.rounds, 0.005 if args.quick else 0.04)
    kinds = {path: type(module._murmur.hash).__name__ for path, module in modules.items()}
    print(f"Python {sys.version.split()[0]}, mmh3 {VERSION} wheel against mmh3-wasm "
          f"(bindings: {kinds}); {args.rounds} interleaved rounds, medians; the timing "
          f"loop ({medians[0]:.1f} ns) is subtracted.\n")
    done = results(groups, {row.label: ns for row, ns in zip(rows, medians[1:])}, medians[0])
    for line in table(done, args.markdown):
        print(line)


if __name__ == "__main__":
    main()
