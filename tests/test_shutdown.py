"""Interpreter exit is clean: no error, warning or ResourceWarning, whatever is running."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import BACKEND, GUESTS, guest_path, has

SCRIPT = textwrap.dedent("""
    import shutil, sys, threading, time, wasmimport
    wasmimport.install()
    sys.path.insert(0, sys.argv[1])
    import edges                                  # found through the hook
    features = set(sys.argv[5].split(","))        # what this run's backend can do
    extension = sys.argv[4] == "compiled"         # limits and host functions need it
    limits = {"timeout": "10s", "fuel": 10**12} if extension else {}
    limited = wasmimport.load(edges.__file__, name="limited", manifest={
        "limits": {k: v for k, v in limits.items() if f"limits-{k}" in features},
        "functions": {"forever": "() -> None", "echo_str": "(s: str) -> str"}})
    sys.path.insert(0, sys.argv[2])               # tests/: hostfns, for host callbacks
    import hostfns
    # without "any-thread" a module runs only in the thread that imported it: each thread
    # imports its own, as its users would.  Without "host-calls-at-exit" (wasmer 1.1) a
    # thread inside a host function while the interpreter finalizes aborts the process, so
    # that thread stops first
    anywhere = "any-thread" in features
    at_exit = "host-calls-at-exit" in features
    if extension and anywhere:
        host = hostfns.module = wasmimport.load(sys.argv[3])
    started, greeting, stopping = threading.Event(), threading.Event(), threading.Event()

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
        mine = hostfns.module = host if anywhere else wasmimport.load(sys.argv[3])
        while at_exit or not stopping.is_set():
            mine.greet("hello")
            mine.use_reenter(1)
            greeting.set()

    threading.Thread(target=import_forever, daemon=True).start()
    if extension:
        greeter = threading.Thread(target=greet_forever, daemon=True)
        greeter.start()
    # (a call that holds the GIL forever would stop the interpreter, as a C extension's
    # would; one that releases it runs on while the interpreter exits)
    if "release-gil" in features:
        threading.Thread(target=call_forever, args=(edges.forever_nogil,), daemon=True).start()
    started.wait()
    if extension:
        greeting.wait()
    time.sleep(0.3)
    if extension and not at_exit:                 # its module lives on, past its thread
        stopping.set()
        greeter.join()
    print(limited.echo_str("bye"))                # (edges may be busy in forever_nogil)
""")


@pytest.mark.parametrize("path", ["compiled", "pure"])
def test_exit_is_clean_with_calls_and_imports_in_flight(tmp_path: Path, path: str) -> None:
    for suffix in (".wasm", ".wasm.toml"):
        (tmp_path / f"edges{suffix}").write_bytes(
            guest_path("edges").with_suffix(suffix).read_bytes())
    if has("release-gil"):      # edges.forever_nogil, for a call running on at exit
        with (tmp_path / "edges.wasm.toml").open("a") as sidecar:
            sidecar.write("\n" + (GUESTS / "edges_nogil.toml").read_text())
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "WASMIMPORT_PURE": "1" if path == "pure" else "0"}
    done = subprocess.run([sys.executable, "-X", "dev", "-W", "error", str(script),
                           str(tmp_path), str(Path(__file__).parent), str(guest_path("host")),
                           path, ",".join(sorted(BACKEND.features))],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.stderr == ""
    assert done.stdout == "bye\n"
    assert done.returncode == 0


FINALIZERS = textwrap.dedent("""
    import os, sys, threading, wasmimport
    wasmimport.install()
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[2])               # tests/: hostfns, for host callbacks
    import edges                                  # found through the hook
    assert edges.echo_i32(1) == 1                 # one call before: the store is in use
    extension = sys.argv[3] == "compiled"
    host = None
    if extension:                                 # host functions need the extension
        import hostfns
        host = hostfns.module = wasmimport.load(sys.argv[4])

    # (what __del__ uses is bound as defaults: shutdown may clear module globals first)
    def calls(edges=edges, host=host):
        # scalars, memory both ways, and (with the extension) a host callback
        done = [edges.echo_i32(7) == 7, edges.echo_str("bye") == "bye"]
        if host is not None:
            done.append(host.sum_via_host(2, 3) == 5)
        return done

    class Handle:                                 # a C object freed from __del__
        def __init__(self, where):
            self.where = where

        def __del__(self, write=os.write, calls=calls):
            try:
                ok = all(calls())
            except Exception as exc:              # must be clear, never a crash
                ok = f"{type(exc).__name__}: {exc}"
            write(1, f"{self.where} {ok}\\n".encode())

    class Cycle(Handle):
        def __init__(self, where):
            super().__init__(where)
            self.me = self

    alive = [Handle("global") for _ in range(100)]
    cycles = [Cycle("cycle") for _ in range(100)]    # only the collector can free them
    made = []
    threading.Thread(target=lambda: made.extend(Handle("thread") for _ in range(100))).start()
    holder = type(sys)("holder")                  # in another module's globals
    holder.handles = [Cycle("module") for _ in range(100)]
    sys.modules["holder"] = holder
    print("ready", flush=True)
""")


@pytest.mark.parametrize("path", ["compiled", "pure"])
def test_calls_from_finalizers_at_exit_work(tmp_path: Path, path: str) -> None:
    """Objects alive at exit whose __del__ calls into a wasm module -- in globals, in
    cycles, made in another thread, in another module -- with faulthandler on, as a
    hand-written guest handle freed from __del__ leaves them (what a manifest resource
    does for itself)."""
    for suffix in (".wasm", ".wasm.toml"):
        (tmp_path / f"edges{suffix}").write_bytes(
            guest_path("edges").with_suffix(suffix).read_bytes())
    script = tmp_path / "script.py"
    script.write_text(FINALIZERS)
    extension = path == "compiled" and has("host-functions")
    env = {**os.environ, "WASMIMPORT_PURE": "0" if path == "compiled" else "1"}
    done = subprocess.run([sys.executable, "-X", "faulthandler", str(script), str(tmp_path),
                           str(Path(__file__).parent),
                           "compiled" if extension else "pure", str(guest_path("host"))],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "ready"
    assert sorted(lines[1:]) == sorted(
        f"{where} True" for where in ("global", "cycle", "thread", "module") for _ in range(100))
