"""Subinterpreters: modules import and run in them, on the compiled path, and go with them.

CPython gives three kinds, and every one this interpreter has is tested: legacy ones sharing
the main GIL (3.10-3.12's ``_xxsubinterpreters``), isolated ones with a GIL of their own
(3.13's ``_interpreters``, 3.14's ``concurrent.interpreters``).  Python 3.12's isolated
interpreters cannot load ctypes, which the engine bindings use: there the import fails
with an ImportError that says so.  Each case runs in a child process with a time limit, so
a crash or a deadlock is a failure, not a hung suite.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import guest_path, has

# The child's way to make, run and close an interpreter of each kind (see module docstring).
INTERPRETERS = textwrap.dedent("""
    import sys
    if sys.version_info >= (3, 14):
        from concurrent import interpreters as _ci

        def make(kind):
            return _ci.create()

        def run(interp, code):
            interp.exec(code)

        def close(interp):
            interp.close()
        KINDS = ["isolated"]
    elif sys.version_info >= (3, 13):
        import _interpreters as _i

        def make(kind):
            return _i.create(kind)

        def run(interp, code):
            failed = _i.exec(interp, code)
            if failed is not None:
                raise RuntimeError(failed.errdisplay)

        close = _i.destroy
        KINDS = ["isolated", "legacy"]
    else:
        import _xxsubinterpreters as _i

        def make(kind):
            if sys.version_info >= (3, 12):
                return _i.create(isolated=kind == "isolated")
            return _i.create()

        run, close = _i.run_string, _i.destroy
        KINDS = ["legacy"]         # (3.12's isolated ones cannot load ctypes)
""")

# What each interpreter does: the hook, the compiled path, a call long enough for the
# watchdog's ticks, host functions, time limits with the GIL held and released.
WORK = textwrap.dedent("""
    import os, sys, wasmimport
    wasmimport.install()
    sys.path[:0] = [{folder!r}, {tests!r}]
    import edges
    assert edges.echo_i32(5) == 5 and edges.echo_str("snow \u2603") == "snow \u2603"
    assert edges.spin(3_000_000) == {spun}
    done = [type(edges.echo_i32).__name__]
    if {extension}:
        import hostfns
        host = hostfns.module = wasmimport.load({host!r})
        assert host.sum_via_host(2, 3) == 5 and host.use_reenter(4) == 1009
        limited = wasmimport.load(edges.__file__, name="limited", manifest={{
            "limits": {{"timeout": "30ms"}},
            "functions": {{"forever": "() -> None", "forever_nogil": {{
                "export": "forever", "signature": "() -> None", "release_gil": True}}}}}})
        for forever in (limited.forever, limited.forever_nogil):
            try:
                forever()
            except wasmimport.LimitExceeded as exc:
                done.append(exc.kind)
    os.write(1, (" ".join(done) + "\\n").encode())
""")
# Then, for the interpreters that run side by side: 40 calls, and when they ran.
TIMED = textwrap.dedent("""
    import time
    begin = time.perf_counter()
    for _ in range(40):
        assert edges.spin(3_000_000) == {spun}
    os.write(1, f"span {{begin}} {{time.perf_counter()}}\\n".encode())
""")


def child(tmp_path: Path, body: str, pure: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh process, after INTERPRETERS and with ``work`` and ``timed``
    (WORK and TIMED, filled in) defined."""
    for suffix in (".wasm", ".wasm.toml"):
        (tmp_path / f"edges{suffix}").write_bytes(
            guest_path("edges").with_suffix(suffix).read_bytes())
    values = {"folder": str(tmp_path), "tests": str(Path(__file__).parent),
              "host": str(guest_path("host")), "extension": not pure and has("host-functions")}
    script = tmp_path / "child.py"
    script.write_text("\n".join([
        INTERPRETERS, "import wasmimport",
        f"SPUN = wasmimport.load({str(guest_path('edges'))!r}).spin(3_000_000)",
        f"work = {WORK!r}.format(spun=SPUN, **{values!r})",
        f"timed = {TIMED!r}.format(spun=SPUN)", textwrap.dedent(body)]))
    env = {**os.environ, "WASMIMPORT_PURE": "1" if pure else "0"}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, env=env)


def expected_line(pure: bool) -> str:
    """What WORK prints in an interpreter of this run."""
    if pure or not has("compiled-calls"):
        return "function"
    return "Function timeout timeout" if has("limits-timeout") else "Function"


CYCLES = """
    import gc, os
    from wasmimport import _speedups

    def vm_and_fds():
        with open("/proc/self/status") as status:
            vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        return vm * 1024, len(os.listdir("/proc/self/fd"))

    def cycle(kind):
        interp = make(kind)
        try:
            run(interp, work)
        finally:
            close(interp)

    for kind in KINDS:
        for _ in range(5):                   # warm-up: what stays for good is made now
            cycle(kind)
        gc.collect()
        engines, (vm, fds) = _speedups.watched_engines(), vm_and_fds()
        for _ in range(50):
            cycle(kind)
        gc.collect()
        grown, (vm2, fds2) = _speedups.watched_engines() - engines, vm_and_fds()
        grown_vm = max(vm2 - vm, 0) >> 30
        print(f"{kind}: engines {grown}, address space {grown_vm} GiB, fds {fds2 - fds}",
              flush=True)
"""


@pytest.mark.parametrize("path", ["compiled", "pure"])
def test_fifty_interpreters_import_call_and_leave_nothing_behind(tmp_path: Path,
                                                                  path: str) -> None:
    """55 interpreters of each kind, one after the other: every engine they made is
    unwatched and freed (an engine store alone reserves 4 GiB of address space), no file
    stays open, and each of them really ran the compiled path."""
    if not has("subinterpreters"):
        done = child(tmp_path, "interp = make(KINDS[0])\nrun(interp, work)\n")
        assert done.returncode != 0
        assert "cannot run in a subinterpreter); use the wasmtime backend in " \
               "subinterpreters" in done.stderr, done.stderr
        return
    pure = path == "pure"
    done = child(tmp_path, CYCLES, pure)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    summaries = [line for line in lines if ": engines " in line]
    works = [line for line in lines if ": engines " not in line]
    assert summaries == [f"{kind}: engines 0, address space 0 GiB, fds 0"
                         for kind in KINDS_HERE], done.stdout
    assert works == [expected_line(pure)] * (55 * len(KINDS_HERE))


# the kinds of interpreter this Python has that can import wasmimport (as INTERPRETERS says)
KINDS_HERE = ["isolated"] if sys.version_info >= (3, 14) else \
    ["isolated", "legacy"] if sys.version_info >= (3, 13) else ["legacy"]


def test_two_interpreters_run_wasm_at_once(tmp_path: Path) -> None:
    """Two threads, each in its own interpreter, calling wasm at the same time: both finish
    with the right results; where each interpreter has its own GIL, the calls overlap."""
    if not has("subinterpreters"):
        return      # refused: test_fifty_interpreters_... checks the refusal
    done = child(tmp_path, """
        import threading
        barrier = threading.Barrier(2)

        def one():
            interp = make(KINDS[0])
            try:
                barrier.wait()
                run(interp, work + timed)
            finally:
                close(interp)

        threads = [threading.Thread(target=one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    spans = [tuple(map(float, line.split()[1:])) for line in lines if line.startswith("span ")]
    assert len(spans) == 2
    assert [line for line in lines if not line.startswith("span ")] == \
        [expected_line(False)] * 2
    if KINDS_HERE[0] == "isolated":     # each has its own GIL: the loops ran side by side
        (a0, a1), (b0, b1) = spans
        assert a0 < b1 and b0 < a1


def test_the_newest_kind_of_interpreter_runs_it_or_says_why(tmp_path: Path) -> None:
    """Python 3.12 has isolated interpreters but its ctypes cannot load in them: the import
    says so (and what to do).  Elsewhere the newest kind runs the compiled path."""
    if not has("subinterpreters"):
        return      # refused: test_fifty_interpreters_... checks the refusal
    newest = "isolated" if sys.version_info >= (3, 12) else "legacy"
    done = child(tmp_path, f"""
        interp = make({newest!r})
        try:
            run(interp, work)
        except Exception as exc:
            print(exc)
        close(interp)
    """)
    assert done.returncode == 0, done.stderr
    if sys.version_info[:2] == (3, 12):
        assert "an isolated subinterpreter (one with its own GIL) cannot load ctypes on " \
               "Python 3.12: use Python 3.13 or newer, or a subinterpreter that shares the " \
               "main interpreter's GIL" in done.stdout, done.stdout
    else:
        assert done.stdout.splitlines() == [expected_line(False)]


def test_engines_are_unwatched_when_they_go(compiled: None) -> None:
    """Engines come and go (one per interpreter, per limit sibling...): the watchdog's list
    follows them, with no fixed size."""
    from wasmimport import _speedups
    from wasmimport.backends._wasmtime import WasmtimeBackend

    gc.collect()
    before = _speedups.watched_engines()
    engines = [WasmtimeBackend() for _ in range(40)]
    assert _speedups.watched_engines() == before + 40
    code = [engine.compile(guest_path("edges").read_bytes()) for engine in engines[:3]]
    del engines
    gc.collect()
    assert _speedups.watched_engines() == before + 3      # compiled code keeps its engine
    del code
    gc.collect()
    assert _speedups.watched_engines() == before
