"""The five host functions the npm zstd module (an Emscripten build) imports, as its JS glue
provides them: enough to run it outside a browser."""

from __future__ import annotations


class GuestAbort(Exception):
    """The guest called abort() or exit()."""


def abort() -> None:
    raise GuestAbort("the guest called abort()")


def proc_exit(status: int) -> None:
    raise GuestAbort(f"the guest exited with status {status}")


def keepalive_clear() -> None:
    """Nothing to keep alive outside a browser event loop."""


def setitimer(which: int, timeout_ms: float) -> int:
    return 0


def resize_heap(requested: int) -> int:
    return 0      # refuse to grow: malloc returns NULL, as when memory is exhausted
