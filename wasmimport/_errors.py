"""The exceptions wasmimport raises.

Load failures are ImportError subclasses, so ``try: import x / except ImportError`` fallbacks
keep working exactly as they do for C extension modules.  Failures inside a call are
``Trap`` (a RuntimeError): the guest did something the sandbox stopped.
"""

from __future__ import annotations


class BackendError(Exception):
    """A backend could not compile or instantiate; the loader adds the file name.

    Internal: the loader turns it into a WasmImportError.  It lives here, with the other
    exceptions, so that the cache can catch it without importing the backend interface.
    """


class CompileRefused(BackendError):
    """A valid module the engine will not compile where it is asked to (a browser's main
    thread and a module above its synchronous limit, say): the message says what to do."""


class WasmImportError(ImportError):
    """A wasm module could not be loaded: bad binary, missing import, unusable export."""


class ManifestError(WasmImportError):
    """The manifest does not parse, or disagrees with the module it describes.

    ``problems`` lists every problem found (the message holds them one a line).
    """

    problems: tuple[str, ...] = ()


class TrapFrame(tuple):  # type: ignore[type-arg]
    """One frame of a wasm backtrace, innermost first: (module, function, func_index, offset).

    A tuple with named fields, like a NamedTuple without importing typing.
    """

    __slots__ = ()

    def __new__(cls, module: str | None, function: str | None, func_index: int,
                offset: int) -> TrapFrame:
        return super().__new__(cls, (module, function, func_index, offset))

    def __getnewargs__(self) -> tuple[str | None, str | None, int, int]:
        return (self.module, self.function, self.func_index, self.offset)

    @property
    def module(self) -> str | None:
        return self[0]  # type: ignore[no-any-return]

    @property
    def function(self) -> str | None:
        return self[1]  # type: ignore[no-any-return]

    @property
    def func_index(self) -> int:
        return self[2]  # type: ignore[no-any-return]

    @property
    def offset(self) -> int:
        return self[3]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return (f"TrapFrame(module={self.module!r}, function={self.function!r}, "
                f"func_index={self.func_index}, offset={self.offset})")

    def __str__(self) -> str:
        name = self.function or f"<wasm function {self.func_index}>"
        where = f"{self.module}!{name}" if self.module else name
        return f"{self.offset:#8x} - {where}"


class Trap(RuntimeError):
    """The guest trapped (or broke the ABI); the module stays usable afterwards.

    ``kind`` is a stable lower-case name such as ``"unreachable"`` or
    ``"integer_division_by_zero"`` (``None`` when the runtime gives none), ``frames`` the wasm
    backtrace, innermost frame first.
    """

    kind: str | None
    frames: tuple[TrapFrame, ...]

    def __init__(self, message: str, kind: str | None = None, frames: tuple[TrapFrame, ...] = ()):
        self.message = message
        self.kind = kind
        self.frames = frames
        text = message
        if frames:
            text += "\nwasm backtrace:\n" + "\n".join(f"  {i}: {f}" for i, f in enumerate(frames))
        super().__init__(text)

    @property
    def backtrace(self) -> str:
        """The wasm backtrace as text, one frame a line."""
        return "\n".join(str(f) for f in self.frames)

    def __reduce__(self) -> tuple[type[Trap], tuple[str, str | None, tuple[TrapFrame, ...]]]:
        return (type(self), (self.message, self.kind, self.frames))


class LimitExceeded(Trap):
    """A call went past a ``[limits]`` setting: ``kind`` is ``"timeout"`` or ``"out_of_fuel"``.

    The call is abandoned and the module stays usable, as after any trap.
    """


class WasiExit(Trap):
    """The guest called WASI ``proc_exit(status)``: ``main()`` returns ``status``; any other
    function raises this (``kind == "exit"``)."""

    def __init__(self, message: str, status: int):
        super().__init__(message, "exit")
        self.status = status

    def __reduce__(self) -> tuple[type[WasiExit], tuple[str, int]]:   # type: ignore[override]
        return (type(self), (self.message, self.status))


class GuestError(Exception):
    """The guest returned the error case of a ``result``; ``value`` is the error value.

    ``function`` names the call ("mod.parse()"), like the start of a Trap's message.  A host
    function whose result is a ``result`` raises it to hand the guest an error.
    """

    def __init__(self, value: object = None, function: str | None = None):
        super().__init__(value)
        self.value = value
        self.function = function

    def __str__(self) -> str:
        prefix = f"{self.function}: " if self.function else ""
        return f"{prefix}guest returned an error: {self.value!r}"

    def __reduce__(self) -> tuple[type[GuestError], tuple[object, str | None]]:
        return (type(self), (self.value, self.function))


for _cls in (WasmImportError, ManifestError, TrapFrame, Trap, LimitExceeded, WasiExit,
             GuestError):
    _cls.__module__ = "wasmimport"
