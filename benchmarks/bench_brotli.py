"""brotli-wasm (sample_pkgs/brotli-wasm) against the real brotli wheel (native C), in one run.

The installed ``brotli`` must be brotli-wasm; the real brotli wheel (the version brotli-wasm
is built from) is installed by pip into a temporary folder and its extension ``_brotli``
loaded from there (brotli.py is a thin layer over it: compress is Compressor.process +
finish, as below), so both live in this process.  The data is Brotli's own test data (the
files its Python suite compresses, from the pinned sdist: tools/sdists.py), all of it per
operation; each operation is timed in interleaved rounds (native, then wasm, alternating),
the median of the rounds reported, and the ratio wasm / native.

    python benchmarks/bench_brotli.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import brotli_suite  # noqa: E402
import sdists  # noqa: E402

# the files Brotli's python/tests/_test_utils.py compresses
FILES = ["empty", "10x10y", "alice29.txt", "random_org_10k.bin", "mapsdatazrh", "ukkonooa",
         "cp1251-utf16le", "cp852-utf8"]


def native_brotli(folder: Path) -> ModuleType:
    """The real brotli wheel's ``_brotli`` extension, loaded from ``folder``."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--only-binary", ":all:", "--target", str(folder),
                    f"brotli=={brotli_suite.VERSION}"], check=True)
    [path] = folder.glob("_brotli.*.so")
    spec = importlib.util.spec_from_file_location("_brotli", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def testdata(into: Path) -> list[bytes]:
    """Brotli's test files, from its pinned sdist."""
    archive = sdists.sdist("brotli", brotli_suite.VERSION, brotli_suite.SHA256)
    prefix = f"brotli-{brotli_suite.VERSION}/tests/testdata/"
    sdists.extract(archive, prefix, into)
    return [(into / name).read_bytes() for name in FILES]


def operations(module: Any, data: list[bytes]) -> dict[str, Callable[[], list[bytes]]]:
    """Each operation over all the files, with ``module``'s Compressor and decompress."""
    compressed = [_compress(module, d, 11) for d in data]

    def compress(quality: int) -> Callable[[], list[bytes]]:
        return lambda: [_compress(module, d, quality) for d in data]
    return {"compress quality 5": compress(5), "compress quality 11": compress(11),
            "decompress": lambda: [module.decompress(c) for c in compressed]}


def _compress(module: Any, data: bytes, quality: int) -> bytes:
    compressor = module.Compressor(quality=quality)
    return compressor.process(data) + compressor.finish()  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    import brotli

    if not hasattr(brotli, "_brotli") or not hasattr(brotli._brotli, "__wasmimport__"):
        raise SystemExit(f"bench_brotli: the installed brotli ({brotli.__file__}) is not "
                         "brotli-wasm: pip install sample_pkgs/brotli-wasm")
    with tempfile.TemporaryDirectory() as tmp:
        native = native_brotli(Path(tmp) / "wheel")
        data = testdata(Path(tmp) / "data")
    total = sum(map(len, data))
    ours, theirs = operations(brotli, data), operations(native, data)
    for name in ours:
        assert ours[name]() == theirs[name](), name     # the same bytes, both ways
    samples: dict[str, list[float]] = {f"{side} {name}": [] for name in ours
                                       for side in ("native", "wasm")}
    for r in range(args.rounds):
        for name in ours:
            sides = [("native", theirs[name]), ("wasm", ours[name])]
            for side, run in sides if r % 2 == 0 else sides[::-1]:
                start = time.perf_counter()
                run()
                samples[f"{side} {name}"].append(time.perf_counter() - start)
    median = {row: statistics.median(times) for row, times in samples.items()}
    print(f"Brotli {brotli_suite.VERSION}'s test data: {len(data)} files, {total:,} bytes; "
          f"median of {args.rounds} rounds")
    print(f"{'operation':22} {'native ms':>10} {'wasm ms':>10} {'wasm/native':>12}")
    for name in ours:
        n, w = median[f"native {name}"], median[f"wasm {name}"]
        print(f"{name:22} {n * 1e3:10.1f} {w * 1e3:10.1f} {w / n:12.2f}  (goal <= 1.5)")


if __name__ == "__main__":
    main()
