"""Host functions for tests/guests/host.wasm (named in its manifest's [imports])."""

from __future__ import annotations

import os
import types

import wasmimport

logged: list[str] = []
module: types.ModuleType | None = None      # the host module under test, for re-entry


class HostError(Exception):
    """What fail() raises: it must reach the Python caller of the wasm function as itself."""


def log(msg: str) -> None:
    logged.append(msg)


def add(a: int, b: int) -> int:
    return a + b


def shout(s: str) -> str:
    return s.upper() + "!"


def fail() -> None:
    raise HostError("raised by the host")


def reenter(n: int) -> int:
    assert module is not None
    return int(module.double(n)) + 1


def nested_trap() -> int:
    assert module is not None
    try:
        module.trap_with_frame()
    except wasmimport.Trap:
        return -1
    return 0


dropped_values: list[int] = []


def dropped(value: int, _write: object = os.write) -> None:
    """objects.wasm tells of each accumulator it drops (on fd 1 too: at interpreter exit,
    a subprocess test reads it there)."""
    dropped_values.append(value)
    _write(1, f"dropped {value}\n".encode())  # type: ignore[operator]


def visit(depth: int) -> int:
    """debug.wasm's host function: raises from inside guest frames (negative: returns)."""
    if depth >= 0:
        raise HostError(f"visited at depth {depth}")
    return depth
