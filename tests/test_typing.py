"""Typing: the installed sample packages carry stubs that pass `mypy --strict`, and a user's
script is type-checked against them (issue 7, part 6).

`make samples` installs each sample package with its generated `_name.pyi` (from
`python -m wasmimport stub`, run by the package's `make wasm`) and `py.typed`.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from conftest import mypy_strict

SAMPLES = ("textkit", "numkit")

GOOD = """
import numkit
import textkit

shout: str = textkit.upper("hello")
n: int = textkit.word_count("a b c") + numkit.crc32(b"data") + numkit.gcd(12, 18)
m: float = numkit.mean([1.0, 2.0])
summary = numkit.summary([1.0, 2.0])
top: float = summary.max if summary is not None else 0.0
print(shout, n, m, top)
"""

BAD = """
import numkit
import textkit

textkit.upper(5)
s: str = numkit.crc32(b"x")
numkit.summary([1.0]).mean
"""


@pytest.mark.parametrize("name", SAMPLES)
def test_an_installed_sample_ships_a_stub_that_passes_mypy_strict(name: str,
                                                                  tmp_path: Path) -> None:
    package = Path(sysconfig.get_paths()["purelib"]) / name
    assert (package / "py.typed").is_file(), f"{name} is not installed: run `make samples`"
    stub = (package / f"_{name}.pyi").read_text()
    assert stub.startswith('"""')
    (tmp_path / f"_{name}.pyi").write_text(stub)   # (mypy will not check in site-packages)
    done = mypy_strict(f"_{name}.pyi", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_user_script_type_checks_against_the_stubs(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    good = mypy_strict("good.py", cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    (tmp_path / "bad.py").write_text(BAD)
    bad = mypy_strict("bad.py", cwd=tmp_path)
    assert bad.returncode == 1
    assert 'bad.py:5: error: Argument 1 to "upper" has incompatible type "int"; expected ' \
           '"str"' in bad.stdout
    assert 'bad.py:6: error: Incompatible types in assignment (expression has type "int", ' \
           'variable has type "str")' in bad.stdout
    assert 'bad.py:7: error: Item "None" of "Summary | None" has no attribute "mean"' \
        in bad.stdout
