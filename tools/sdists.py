"""Pinned source distributions from PyPI, and the venvs their own test suites run in.

Shared by tools/mmh3_suite.py and tools/brotli_suite.py (each judges a drop-in by the
original package's own tests) and by sample_pkgs/brotli-wasm's Makefile (which builds from
the sdist's C):

    python tools/sdists.py extract NAME VERSION SHA256 FOLDER   (the sdist's tree, once)
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "real"         # downloads (test data, git-ignored)


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(command), flush=True)
    result: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
        command, check=True, text=True, **kwargs)
    return result


def sdist(name: str, version: str, sha256: str) -> Path:
    """The pinned sdist ``name==version``, downloaded once with pip and checked."""
    path = REAL / f"{name}-{version}.tar.gz"
    if not path.exists():
        REAL.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
             ":all:", "-d", str(REAL), f"{name}=={version}"])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        sys.exit(f"sdists: {path} has sha256 {digest}, expected {sha256}")
    return path


def extract(archive: Path, prefix: str, into: Path) -> list[Path]:
    """The files under ``prefix`` (a folder of the archive, ``name-version/`` included)
    written below ``into``, their paths relative to ``prefix``."""
    written = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not (member.name.startswith(prefix) and member.isfile()):
                continue
            target = into / member.name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
            written.append(target)
    if not written:
        sys.exit(f"sdists: {archive} has nothing under {prefix}")
    return written


def fresh_venv(python: str, folder: Path, packages: list[str]) -> Path:
    """A new venv with wasmimport (from this checkout), ``packages`` and pytest."""
    shutil.rmtree(folder, ignore_errors=True)
    run([python, "-m", "venv", str(folder)])
    venv_python = folder / "bin" / "python"
    run([str(venv_python), "-m", "pip", "install", "-q", str(ROOT), *packages, "pytest"])
    return venv_python


def judged(result: subprocess.CompletedProcess[str], what: str) -> tuple[int, str]:
    """(passed, summary line) of a pytest run that passed; exits on anything else (a
    failure, an error, a skip)."""
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}
    if result.returncode != 0 or set(counts) - {"passed", "warnings", "warning"} \
            or not counts.get("passed"):
        sys.exit(f"{what} did not pass: {summary}")
    return counts["passed"], summary


def main() -> None:
    if len(sys.argv) != 6 or sys.argv[1] != "extract":
        sys.exit(__doc__)
    name, version, sha256, folder = sys.argv[2:]
    done = Path(folder) / ".extracted"
    if not done.exists():
        extract(sdist(name, version, sha256), f"{name}-{version}/", Path(folder))
        done.touch()


if __name__ == "__main__":
    main()
