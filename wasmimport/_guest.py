"""An instance's ABI context: its memory and allocator, as lowering and lifting see them.

Every pointer the guest hands back is checked (alignment, bounds) before the host touches
memory, so a buggy or hostile guest gets a ``Trap``, never a host crash.
"""

from __future__ import annotations

from ._errors import Trap
from ._types import signed32

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from .backends import Memory, RawFunction

    _E = TypeVar("_E", bound=BaseException)


_UNPLACED = "_wasmimport_unplaced"     # (_speedups.c reads it under this name)


def unplaced(exc: _E) -> _E:
    """Mark ``exc`` (a MemoryError or OverflowError) as an argument that guest memory could
    not hold: a call whose manifest names an ``oversize`` function goes there instead."""
    setattr(exc, _UNPLACED, True)
    return exc


def is_unplaced(exc: BaseException) -> bool:
    """Whether ``exc`` is one that ``unplaced`` marked."""
    return getattr(exc, _UNPLACED, False) is True


class GuestABI:
    """Allocation through ``cabi_realloc`` (or a malloc-style ``alloc``) plus memory access.

    Errors carry no function name: the call path that caught them adds it.

    With ``free`` set (``[abi] free``) the host owns argument buffers: ``alloc`` records them
    and ``release`` frees them after the call.
    """

    def __init__(self, memory: Memory, realloc: RawFunction | None = None,
                 alloc: RawFunction | None = None, free: RawFunction | None = None, *,
                 alloc_label: str = "", free_label: str = "", native: Any = None,
                 exports: tuple[str, str] | None = None):
        self._memory = memory
        self._realloc = realloc
        self._alloc = alloc
        self._free = free
        self._owned: list[int] = []
        self.alloc_label = alloc_label     # "mod.cabi_realloc()": starts allocator traps
        self.free_label = free_label
        self.native = native               # the compiled path's twin (``_speedups.Guest``)
        # (memory, realloc) export names when allocation is plain cabi_realloc, with no
        # [abi] free: what a backend's fused call glue needs to allocate by itself
        self.exports = exports

    def alloc(self, align: int, size: int) -> int:
        """Allocate ``size`` bytes aligned to ``align`` in the guest; return the address."""
        self.check_size(size)
        try:
            if self._alloc is not None:
                ptr = self._alloc(signed32(size))
            else:
                assert self._realloc is not None, "planning checks that an allocator exists"
                ptr = self._realloc(0, 0, align, signed32(size))
        except Trap as exc:
            error = self.allocator_trapped(size, exc)
            if error is exc:
                raise
            raise error from None
        ptr = self.check_allocation(align, size, int(ptr) & 0xFFFFFFFF)
        if self._free is not None and size:
            self._owned.append(ptr)
        return ptr

    @staticmethod
    def check_size(size: int) -> None:
        """Refuse a buffer larger than 32-bit guest memory can hold."""
        if size > 0xFFFFFFFF:
            raise unplaced(OverflowError(f"{size} bytes do not fit in 32-bit guest memory"))

    def allocator_trapped(self, size: int, trap: BaseException) -> BaseException:
        """What the allocator's trap while it served ``size`` bytes means for the call.  A
        Canonical ABI realloc has no NULL to return: when memory is exhausted it gives up
        with ``unreachable`` (wasmimport.h's and wit-bindgen's do), which is the guest out
        of memory, a MemoryError as for a NULL.  Any other trap, a limit or an interrupt
        stays itself."""
        if type(trap) is not Trap or trap.kind != "unreachable":
            return trap
        reason = trap.message.rpartition("wasm trap: ")[2]
        return unplaced(MemoryError(f"the guest could not allocate {size} bytes: "
                                    f"{self.alloc_label} trapped ({reason})"))

    def check_allocation(self, align: int, size: int, ptr: int) -> int:
        """``ptr`` if the guest allocator returned a usable block; else raise."""
        if size and ptr == 0:
            raise unplaced(MemoryError(f"the guest could not allocate {size} bytes"))
        if ptr % align:
            raise Trap(f"the guest allocator returned {ptr:#x}, which is not "
                       f"aligned to {align}", kind="unaligned_pointer")
        if ptr + size > self._memory.size():
            raise Trap(f"the guest allocator returned {size} bytes at {ptr:#x}, "
                       "beyond the end of memory", kind="memory_out_of_bounds")
        return ptr

    def release(self) -> None:
        """Free the argument buffers of the call that just ended (``[abi] free`` only)."""
        if self._free is None:
            return
        owned, self._owned = self._owned, []
        for ptr in owned:
            self._free(signed32(ptr))

    def read(self, ptr: int, size: int) -> bytes:
        return self._memory.read(ptr, size)

    def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None:
        self._memory.write(ptr, data)

    def read_cstr(self, ptr: int) -> bytes:
        return self._memory.read_cstr(ptr)
