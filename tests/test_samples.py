"""The sample packages end to end: installed as wheels by `make samples`, then imported."""

from __future__ import annotations

import inspect
import itertools
import math
import random
import statistics
import sysconfig
import zlib
from pathlib import Path

import pytest

import wasmimport


def _installed(name: str):  # type: ignore[no-untyped-def]
    """Import a sample package; it must come from site-packages (a real install)."""
    try:
        module = __import__(name)
    except ImportError as exc:
        pytest.fail(f"sample package {name} is not installed: run `make samples` ({exc})")
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert Path(module.__file__).resolve().is_relative_to(site), module.__file__
    return module


numkit = _installed("numkit")
textkit = _installed("textkit")
RNG = random.Random(42)
WORDS = ["", "a", "hello", "Hello, World!", "  spaced   out  ", "naïve café", "日本語",
         "emoji 🐍🦀 mix", "tabs\tand\nnewlines", "UPPER lower MiXeD 123", "x" * 100_000,
         "--dashes--", "ß ǅ ﬁ", "\0nul"]


def test_packages_are_real_wasm_modules() -> None:
    assert numkit._numkit.__file__.endswith("_numkit.wasm")
    assert textkit._textkit.__file__.endswith("_textkit.wasm")
    assert isinstance(numkit._numkit.__loader__, wasmimport.WasmLoader)
    assert str(inspect.signature(numkit.crc32)) == "(data: bytes, seed: int = 0) -> int"
    assert numkit.crc32.__module__ == "numkit._numkit"
    assert "zlib.crc32" in numkit.crc32.__doc__


@pytest.mark.parametrize("s", WORDS)
def test_textkit_against_python(s: str) -> None:
    ascii_upper = "".join(c.upper() if "a" <= c <= "z" else c for c in s)
    ascii_lower = "".join(c.lower() if "A" <= c <= "Z" else c for c in s)
    assert textkit.upper(s) == ascii_upper
    assert textkit.lower(s) == ascii_lower
    assert textkit.swapcase(s) == "".join(
        c.swapcase() if c.isascii() and c.isalpha() else c for c in s)
    assert textkit.char_count(s) == len(s)
    assert textkit.word_count(s) == len(s.encode().split())
    assert textkit.reverse(s) == s[::-1]
    for needle in ("", "a", "l", "an", "🐍", "xx"):
        assert textkit.count(s, needle) == s.count(needle)


def slug(s: str) -> str:
    kept = "".join(c.lower() if c.isascii() and c.isalnum() else ("-" if c.isascii() else "")
                   for c in s)
    return "-".join(part for part in kept.split("-") if part)


@pytest.mark.parametrize("s", [*WORDS, "Naïve Café!", "a--b__c", "___"])
def test_slugify_and_palindrome(s: str) -> None:
    assert textkit.slugify(s) == slug(s)
    letters = [c.lower() for c in s if c.isascii() and c.isalnum()]
    assert textkit.is_palindrome(s) is (letters == letters[::-1])


def test_textkit_known_values() -> None:
    assert textkit.slugify("Hello, World!") == "hello-world"
    assert textkit.is_palindrome("A man, a plan, a canal: Panama") is True
    assert textkit.count("banana", "an") == 2


@pytest.mark.parametrize("size", [0, 1, 7, 64, 1000, 1 << 20])
def test_checksums_match_zlib(size: int) -> None:
    data = RNG.randbytes(size)
    assert numkit.crc32(data) == zlib.crc32(data)
    assert numkit.crc32(data, 12345) == zlib.crc32(data, 12345)
    assert numkit.adler32(data) == zlib.adler32(data)
    assert numkit.adler32(data, 7) == zlib.adler32(data, 7)
    h = 0xCBF29CE484222325
    for b in data[:1000]:
        h = ((h ^ b) * 0x100000001B3) & (2**64 - 1)
    if size <= 1000:
        assert numkit.fnv1a64(data) == h
    assert numkit.bytes_xor(data, 0x5A) == bytes(b ^ 0x5A for b in data)
    counts = [0] * 256
    for b in data:
        counts[b] += 1
    assert numkit.histogram(data) == counts


def test_statistics() -> None:
    xs = [RNG.uniform(-1e6, 1e6) for _ in range(10_000)]
    assert numkit.mean(xs) == pytest.approx(statistics.fmean(xs), rel=1e-12)
    assert numkit.variance(xs) == pytest.approx(statistics.pvariance(xs), rel=1e-9)
    assert numkit.total(xs) == pytest.approx(math.fsum(xs), rel=1e-15)
    assert numkit.cumsum(xs[:100]) == pytest.approx(list(itertools.accumulate(xs[:100])))
    assert numkit.scale(xs[:50], 2.5) == [x * 2.5 for x in xs[:50]]
    assert numkit.argmax(xs) == xs.index(max(xs))
    assert math.isnan(numkit.mean([]))
    assert numkit.argmax([]) == -1 and numkit.cumsum([]) == []
    assert numkit.total([1e100, 1.0, -1e100]) == 1.0
    ints = [RNG.randint(-(2**62), 2**62) for _ in range(1000)]
    wrapped = (sum(ints) + 2**63) % 2**64 - 2**63          # documented: wraps like C
    assert numkit.sum_i64(ints) == wrapped
    assert numkit.sum_i64([2**63 - 1, 1]) == -(2**63)


def test_a_record_result_inside_an_option() -> None:
    xs = [RNG.uniform(-1e6, 1e6) for _ in range(1000)]
    got = numkit.summary([*xs, math.nan])
    assert type(got) is numkit.Summary and got.count == len(xs)
    assert (got.min, got.max) == (min(xs), max(xs))
    assert got.mean == pytest.approx(statistics.fmean(xs), rel=1e-9)
    assert numkit.summary([]) is None and numkit.summary([math.nan]) is None
    assert numkit.Summary.__module__ == "numkit._numkit"


def test_integer_math_against_python() -> None:
    top = 2**64 - 1
    for _ in range(300):
        a, b, m = RNG.randint(0, top), RNG.randint(0, top), RNG.randint(1, top)
        assert numkit.gcd(a, b) == math.gcd(a, b)
        assert numkit.isqrt(a) == math.isqrt(a)
        assert numkit.powmod(a, b, m) == pow(a, b, m)
    for n in (0, 1, 2, 3, top, top - 1, 2**32, (2**32 - 1) ** 2, (2**32 - 1) ** 2 - 1):
        assert numkit.isqrt(n) == math.isqrt(n)
    assert numkit.gcd(0, 0) == 0 and numkit.powmod(5, 0, 1) == 0
    primes = {2, 3, 5, 7, 2**61 - 1, 18446744073709551557}
    for n in [*primes, 0, 1, 4, 561, 2**61 + 1, 3215031751, top]:
        assert numkit.is_prime(n) is (n in primes)
    fibs = [0, 1]
    for _ in range(98):
        fibs.append(fibs[-1] + fibs[-2])
    assert [numkit.fib(n) for n in range(100)] == [f % 2**64 for f in fibs]


def test_errors_and_traps() -> None:
    with pytest.raises(OverflowError, match=r"numkit\._numkit\.gcd\(\) argument 'a' is out of "
                                            r"range for u64"):
        numkit.gcd(-1, 2)
    with pytest.raises(TypeError, match=r"crc32\(\) argument 'data' must be a bytes-like"):
        numkit.crc32("text")
    # the C code traps explicitly (division by zero is undefined behaviour in C)
    for a, b in ((1, 0), (-(2**31), -1)):
        with pytest.raises(wasmimport.Trap) as info:
            numkit.div(a, b)
        assert info.value.kind == "unreachable"
        assert any(frame.function == "div_i32" for frame in info.value.frames)
    with pytest.raises(wasmimport.Trap):
        numkit.powmod(2, 3, 0)
    assert numkit.div(-7, 2) == -3
    with pytest.raises(TypeError, match=r"upper\(\) argument 's' must be str, not int"):
        textkit.upper(5)
