"""Host functions for tests/guests/host.wasm (named in its manifest's [imports])."""

from __future__ import annotations

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
