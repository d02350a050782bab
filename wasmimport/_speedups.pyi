"""Types of the compiled call path (``_speedups.c``); see that file for what each does."""

from collections.abc import Callable
from typing import Any

from ._manifest import Signature

TYPES: tuple[str, ...]
TICK_MS: int
DEADLINE_CALLBACK: int
HOST_TRAMPOLINE: int

def watch_engine(engine: int, increment_epoch: int, /) -> None: ...
def raise_interrupt() -> None: ...
def restart_watchdog() -> None: ...

class Store:
    def __init__(self, *, ctx: int, call: int, memory_data: int, memory_size: int,
                 fail: Callable[[Any, int, int, str], None], set_fuel: int, error_new: int,
                 trap_new: int, timeout_ticks: int = 0, fuel: int = 0) -> None: ...
    host_depth: int
    def take_reason(self) -> str | None: ...
    def take_pending(self) -> BaseException | None: ...
    def acquire(self) -> bool: ...
    def release(self) -> None: ...
    def __enter__(self) -> bool: ...
    def __exit__(self, *exc: object) -> None: ...

class Host:
    address: int
    def __init__(self, *, store: Store, raw: Callable[..., Any], params: str,
                 results: str) -> None: ...

class Guest:
    def __init__(self, *, store: Store, owner: object, memory: bytes, realloc: bytes | None,
                 alloc: bytes | None, free: bytes | None) -> None: ...

class Function:
    __wasm_signature__: Signature
    def __init__(self, *, store: Store, owner: object, func: bytes, label: str,
                 params: tuple[tuple[str, str | tuple[str, str], Callable[[Any], Any], bool], ...],
                 result: str | tuple[str, str] | None, core_results: str, guest: Guest | None,
                 post: bytes | None, spill: tuple[int, int, tuple[int, ...]] | None,
                 release_gil: bool, binder: Callable[..., tuple[Any, ...]],
                 lift: Callable[[int], Any] | None,
                 alloc_failed: Callable[[int, int, int], None] | None, alloc_label: str,
                 free_label: str, signature: Signature, defaults: tuple[Any, ...]) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
