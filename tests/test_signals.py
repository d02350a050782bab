"""A trap stays a Trap whatever is done with signal handlers after the first import.

faulthandler (which pytest enables) installs SIGSEGV/SIGILL/SIGFPE/SIGBUS handlers that
turn any such signal into "Fatal Python error".  wasmtime compiles with explicit checks, so
its traps raise no signal at all; wasmer 1.1 traps through its own signal handlers, which
wasmimport puts back above faulthandler's (docs/backends.md).  Each case runs in a child
process, on both call paths: a wrong answer there is a dead process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import has

TRAPS = """(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (type $v (func))
  (func (export "unreachable") unreachable)
  (func (export "divide") (param i32) (result i32) i32.const 1 local.get 0 i32.div_s)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "null_call") i32.const 0 call_indirect (type $v))
  (func $deep (export "deep") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $deep))"""

CHILD = textwrap.dedent("""
    import faulthandler, signal, sys, wasmimport
    mod = wasmimport.load(sys.argv[1].encode(), name="traps")
    calls = [("unreachable", ()), ("divide", (0,)), ("load", (1 << 20,)),
             ("null_call", ()), ("deep", (0,))]

    def traps():
        kinds = []
        for name, args in calls:
            try:
                getattr(mod, name)(*args)
            except wasmimport.Trap as exc:
                kinds.append(exc.kind)
        print(" ".join(kinds), flush=True)

    traps()                                    # the first calls: the engine is set up
    for change in sys.argv[2].split(","):
        if change == "enable":
            faulthandler.enable()
        elif change == "disable":
            faulthandler.disable()
        elif change == "default":               # another library's handlers, for one
            for name in ("SIGSEGV", "SIGILL", "SIGFPE", "SIGBUS"):
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
        traps()
    assert mod.divide(1) == 1
""")
KINDS = ("unreachable integer_division_by_zero memory_out_of_bounds indirect_call_to_null "
         "stack_overflow")


def run(changes: str, path: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WASMIMPORT_PURE": "1" if path == "pure" else "0"}
    return subprocess.run([sys.executable, *flags, "-c", CHILD, TRAPS, changes],
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("path", ["compiled", "pure"])
@pytest.mark.parametrize(("flags", "changes"), [
    ((), "enable"),                            # faulthandler.enable() after the first import
    ((), "enable,disable,enable"),
    (("-X", "faulthandler"), "disable,enable"),    # enabled before anything else
])
def test_traps_stay_traps_under_faulthandler(path: str, flags: tuple[str, ...],
                                             changes: str) -> None:
    done = run(changes, path, *flags)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == [KINDS] * (1 + len(changes.split(",")))


@pytest.mark.parametrize("path", ["compiled", "pure"])
def test_traps_stay_traps_when_another_library_resets_the_handlers(path: str) -> None:
    done = run("default", path)
    if not has("signal-free-traps"):
        # wasmer's handlers are gone: its next trap is a real SIGSEGV/SIGILL (a documented
        # limitation of wasmer 1.1, which cannot trap without them)
        assert done.returncode < 0 and done.stdout.splitlines() == [KINDS]
        return
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [KINDS] * 2
