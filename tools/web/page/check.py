"""What the browser test runs inside Pyodide (tools/web/page/test.mjs; under Node too, by
tools/web/chromium_test.mjs --node).  Each function returns a JSON string of its findings;
a failed check is an AssertionError or the exception itself, which the page reports with
what Python printed.

The page runs this file, then ``await install()`` (with runPythonAsync), which installs the
wheels whose URLs the page put in ``INDEX`` with micropip, as a user's page would.
"""

import json
import math
import statistics
import sys
import time
import traceback
import zlib

from pyodide.ffi import can_run_sync

INDEX: dict = {}  # set by the page: /index.json plus "base" (the origin) and "big" (a folder)
COMPILES: list = []  # (size, seconds) of each compile the js backend did
wasmimport = _js = None


async def install() -> None:
    """wasmimport's pure wheel then the samples', from the page's server (micropip); the js
    backend's compile() wrapped to count and time compiles."""
    global wasmimport, _js
    import micropip

    await micropip.install(INDEX["base"] + INDEX["wasmimport"])
    await micropip.install([INDEX["base"] + url for url in INDEX["samples"].values()])
    import wasmimport
    from wasmimport.backends import _js

    compile_ = _js.JsBackend.compile

    def counted(self, wasm):
        started = time.perf_counter()
        try:
            return compile_(self, wasm)
        finally:
            COMPILES.append((len(wasm), time.perf_counter() - started))
    _js.JsBackend.compile = counted


def samples() -> str:
    """textkit and numkit from their wheels, against Python's own answers."""
    import numkit
    import textkit

    assert wasmimport.backends.get_backend().name == "js"
    assert textkit._textkit.__file__.endswith("_textkit.wasm")
    for s in ("", "Hello, World!", "naïve café 日本語 🐍", "  spaced   out  "):
        assert textkit.upper(s) == "".join(c.upper() if "a" <= c <= "z" else c for c in s)
        assert textkit.reverse(s) == s[::-1]
        assert textkit.char_count(s) == len(s)
        assert textkit.word_count(s) == len(s.encode().split())
    assert textkit.slugify("Hello, World!") == "hello-world"
    assert textkit.is_palindrome("A man, a plan, a canal: Panama") is True
    assert textkit.count("banana", "an") == 2
    data = bytes(range(256)) * 40
    assert numkit.crc32(data) == zlib.crc32(data)
    assert numkit.adler32(data, 7) == zlib.adler32(data, 7)
    xs = [math.sin(i) * 1e3 for i in range(1000)]
    assert math.isclose(numkit.mean(xs), statistics.fmean(xs), rel_tol=1e-12)
    assert numkit.total(xs) == math.fsum(xs)
    assert numkit.isqrt(10**18 + 12345) == math.isqrt(10**18 + 12345)
    assert numkit.fib(90) == 2880067194370816120
    assert numkit.gcd(2**40 * 3, 2**35 * 9) == 2**35 * 3
    try:
        numkit.div(1, 0)
    except wasmimport.Trap as exc:
        trap = str(exc)
        # the guest's frames in the traceback, from the JS engine's stack (name section)
        frames = [(f.filename.rsplit("/", 1)[-1], f.name)
                  for f in traceback.extract_tb(exc.__traceback__)]
    else:
        raise AssertionError("numkit.div(1, 0) did not trap")
    return json.dumps({"textkit.slugify": textkit.slugify("Naïve Café, in the browser!"),
                       "numkit.crc32": numkit.crc32(b"wasmimport"), "trap": trap,
                       "trap_frames": frames})


def big() -> str:
    """Import the 9 MiB module afresh (INDEX["big"]: the folder holding it) and check it
    computes what tools/web/bigmodule.py computed; the times and the compiles so far."""
    folder = INDEX["big"]
    with open(f"{folder}/big.json") as f:
        expected = json.load(f)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    wasmimport.install()
    sys.modules.pop("big", None)
    before = len(COMPILES)
    started = time.perf_counter()
    try:
        import big as module
    except ImportError as exc:
        return json.dumps({"imported": False, "error": str(exc), "compiles": COMPILES,
                           "can_run_sync": can_run_sync()})
    total = time.perf_counter() - started
    called = time.perf_counter()
    module.mix(0)           # the first call: an engine that compiles lazily compiles now
    first_call = time.perf_counter() - called
    called = time.perf_counter()
    for seed, value in expected["mix"].items():
        assert module.mix(int(seed)) == value, (seed, module.mix(int(seed)), value)
    for key, value in expected["step"].items():
        k, x = map(int, key.split())
        assert module.step(k, x) == value, (key, module.step(k, x), value)
    calls = time.perf_counter() - called
    compiled = COMPILES[before:]
    return json.dumps({"imported": True, "size": expected["size"], "import_s": total,
                       "compile_s": compiled[0][1] if compiled else None,
                       "compiled_now": len(compiled), "compiles": COMPILES,
                       "first_call_s": first_call, "calls_s": calls,
                       "can_run_sync": can_run_sync()})
