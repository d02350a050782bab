"""Interpreter exit is clean: no error, warning or ResourceWarning, whatever is running."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import guest_path

SCRIPT = textwrap.dedent("""
    import shutil, sys, threading, time, wasmimport
    wasmimport.install()
    sys.path.insert(0, sys.argv[1])
    import edges                                  # found through the hook
    extension = sys.argv[4] == "compiled"         # limits and host functions need it
    limited = wasmimport.load(edges.__file__, name="limited", manifest={
        "limits": {"timeout": "10s", "fuel": 10**12} if extension else {},
        "functions": {"forever": "() -> None", "echo_str": "(s: str) -> str"}})
    sys.path.insert(0, sys.argv[2])               # tests/: hostfns, for host callbacks
    import hostfns
    if extension:
        host = hostfns.module = wasmimport.load(sys.argv[3])
    started = threading.Event()

    def import_forever():                         # modules mid-import at exit
        n = 0
        while True:
            n += 1
            shutil.copy(edges.__file__, f"{sys.argv[1]}/copy{n}.wasm")
            started.set()
            __import__(f"copy{n}").echo_i32(n)

    def call_forever(fn):                         # wasm running at exit
        started.set()
        fn()

    def greet_forever():                          # host callbacks running at exit
        while True:
            host.greet("hello")
            host.use_reenter(1)

    threading.Thread(target=import_forever, daemon=True).start()
    if extension:
        threading.Thread(target=greet_forever, daemon=True).start()
    # (a call that holds the GIL forever would stop the interpreter, as a C extension's
    # would; one that releases it runs on while the interpreter exits)
    threading.Thread(target=call_forever, args=(edges.forever_nogil,), daemon=True).start()
    started.wait()
    time.sleep(0.3)
    print(limited.echo_str("bye"))                # edges itself is busy in forever_nogil
""")


@pytest.mark.parametrize("path", ["compiled", "pure"])
def test_exit_is_clean_with_calls_and_imports_in_flight(tmp_path: Path, path: str) -> None:
    for suffix in (".wasm", ".wasm.toml"):
        (tmp_path / f"edges{suffix}").write_bytes(
            guest_path("edges").with_suffix(suffix).read_bytes())
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "WASMIMPORT_PURE": "1" if path == "pure" else "0"}
    done = subprocess.run([sys.executable, "-X", "dev", "-W", "error", str(script),
                           str(tmp_path), str(Path(__file__).parent), str(guest_path("host")),
                           path],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.stderr == ""
    assert done.stdout == "bye\n"
    assert done.returncode == 0
