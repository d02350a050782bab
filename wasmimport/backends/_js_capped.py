"""``[limits] memory`` on the js backend: the module is compiled instrumented.

A JavaScript engine gives no hook on a wasm ``memory.grow``, so ``JsBackend.for_limits``
hands a capped module to a sibling backend (``JsCappedBackend``, one per cap, with its own
``cache_tag``) that compiles the binary ``_instrument.cap_memory`` makes of it: there the
memory's maximum is the cap, ``memory.grow`` past it returns -1 inside the guest, and the
size it asked for is left in an exported global.  A call that then traps raises
``LimitExceeded(kind="memory")`` with the Trap as its ``__cause__``, worded as on wasmtime.

Trap frames are those of the module as given: the offsets of the instrumented code are
mapped back (a frame at a call that replaced ``memory.grow`` is at that ``memory.grow``),
and the appended functions' frames (the grow helper, the export wrappers) are left out.
"""

from __future__ import annotations

import js  # type: ignore[import-not-found]

from .._errors import LimitExceeded, Trap
from .._instrument import REFUSED_EXPORT, VERSION, Instrumented, cap_memory
from .._wasmbin import WasmFormatError
from ._base import BackendError
from ._js import JsBackend, JsCompiled, JsInstance

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from .._errors import TrapFrame
    from .._manifest import Limits, Wasi
    from .._wasmbin import FuncType
    from ._base import Backend, CompiledModule, Instance, RawFunction


def _size(size: int) -> str:
    """Bytes as a user reads them: 16 MiB (16777216 bytes) (as the wasmtime backend says)."""
    return f"{size / (1 << 20):g} MiB ({size} bytes)"


class JsCappedInstance(JsInstance):
    """An instance of an instrumented module: its traps after a refused growth say so."""

    def __init__(self, compiled: JsCappedCompiled,
                 host: list[tuple[str, str, FuncType, RawFunction]]):
        super().__init__(compiled, host)
        self._capped = compiled.instrumented
        self._cap = compiled.cap
        self._refused = (getattr(self._exports, REFUSED_EXPORT)
                         if compiled.instrumented.refused else None)

    def frames(self, raw: Iterable[tuple[str | None, str | None, int, int]]
               ) -> tuple[TrapFrame, ...]:
        capped = self._capped
        original = []
        for module, function, index, offset in raw:
            where = capped.frame(index, offset)
            if where is not None:
                original.append((module, function, index, where))
        return super().frames(original)

    def _translate(self, label: str) -> Callable[[BaseException], BaseException]:
        translate = super()._translate(label)
        refused = self._refused
        if refused is None:
            return translate

        def capped(exc: BaseException) -> BaseException:
            out = translate(exc)
            if type(out) is Trap:
                # each export's wrapper sets it to 0 as the call starts: it is this call's
                asked = int(refused.value)
                if asked:
                    refused.value = js.BigInt(0)
                    limit = LimitExceeded(
                        f"{label}: the guest ran out of memory: it asked to grow its memory "
                        f"to {_size(asked)}, past [limits] memory = {_size(self._cap)}",
                        "memory", out.frames)
                    limit.__cause__ = out
                    limit.__suppress_context__ = True
                    return limit
            return out
        return capped


class JsCappedCompiled(JsCompiled):
    """A ``WebAssembly.Module`` of an instrumented binary."""

    def __init__(self, module: Any, instrumented: Instrumented, cap: int):
        super().__init__(module)
        self.instrumented = instrumented
        self.cap = cap

    def instantiate(self, limits: Limits, host: list[tuple[str, str, FuncType, RawFunction]],
                    wasi: tuple[Wasi, str] | None = None) -> Instance:
        too_large = self.instrumented.too_large
        if too_large is not None:
            raise BackendError(f"instantiation failed: the module's memory of {too_large} "
                               f"bytes is larger than [limits] memory = {self.cap} bytes")
        return JsCappedInstance(self, host)


class JsCappedBackend(JsBackend):
    """The js backend for modules with ``[limits] memory = cap``."""

    def __init__(self, parent: JsBackend, cap: int) -> None:   # (no engine probes again)
        self.parent = parent
        self.cap = cap
        self.version = parent.version
        self.limitations = parent.limitations
        self.cache_tag = f"{parent.cache_tag}-memory={cap}-instrument{VERSION}"

    def for_limits(self, limits: Limits) -> Backend:
        return self.parent.for_limits(limits)

    def compile(self, wasm: bytes) -> CompiledModule:
        try:
            instrumented = cap_memory(wasm, self.cap)
        except WasmFormatError as exc:
            super().validate(wasm)          # the engine's diagnosis, when it has one
            raise BackendError(f"cannot apply [limits] memory to it: {exc}") from None
        compiled = super().compile(instrumented.wasm)
        assert isinstance(compiled, JsCompiled)
        capped = JsCappedCompiled(compiled.module, instrumented, self.cap)
        capped.size = compiled.size
        return capped
