"""The js backend: the JavaScript engine's own WebAssembly, through Pyodide's FFI.

On Pyodide (``sys.platform == "emscripten"``) there is no native engine to bind: the
browser's (or Node's) ``WebAssembly`` compiles and runs the module.  Each export gets a
small JavaScript function made once per signature (``_GLUE.raw``), so that a call crosses
the Python/JS boundary once, with i64 values turned into BigInt and back there.  Guest
memory lives in a JS ``ArrayBuffer`` outside Pyodide's heap, so it is read and written
through JS (``_GLUE`` again) rather than through a Python buffer view.

A running synchronous call cannot be interrupted in a JS engine, so ``[limits] timeout`` and
``fuel`` are refused by name (``limitations``); compiled code is not written to the file
cache (a page has no persistent one), but a compiled module is kept for the process.
"""

from __future__ import annotations

import _thread
import re

import js  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import JsException, create_proxy, to_js  # type: ignore[import-not-found]

from .._errors import Trap
from .._wasmbin import FuncType
from ._base import Backend, BackendError, CompiledModule, Instance, Memory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._manifest import Limits, Wasi
    from ._base import RawFunction

# JS helpers, made once per process: a raw caller per signature, memory access.
_GLUE: Any = run_js(r"""({
  raw(f, params, results) {
    const args = params.map(
      (t, i) => t === "i64" ? `BigInt.asIntN(64, BigInt(a${i}))` : `a${i}`);
    const small = "(r >= -9007199254740991n && r <= 9007199254740991n ? Number(r) : r)";
    let body = `const r = f(${args.join(", ")});`;
    if (results.length === 0) body += " return undefined;";
    else if (results.length === 1)
      body += results[0] === "i64" ? ` return ${small};` : " return r;";
    else body += " return r;";
    const names = params.map((_, i) => "a" + i).join(", ");
    return new Function("f", `return (${names}) => { ${body} };`)(f);
  },
  host(call, results) {
    // a Python host function seen from wasm: i64 results go back as BigInt
    if (results.length === 1 && results[0] === "i64")
      return (...a) => BigInt.asIntN(64, BigInt(call(...a)));
    return (...a) => call(...a);
  },
  read(memory, ptr, size) { return new Uint8Array(memory.buffer, ptr, size).slice(); },
  write(memory, ptr, data) { new Uint8Array(memory.buffer, ptr, data.length).set(data); },
  nul(memory, ptr) {
    const bytes = new Uint8Array(memory.buffer);
    const end = bytes.indexOf(0, ptr);
    return end;
  },
})""")

# V8's (and SpiderMonkey's) RuntimeError messages -> (Trap.kind, wording); the wording is
# wasmtime's where one exists, so messages read the same on every backend
_TRAPS = {
    "unreachable": ("unreachable", "wasm `unreachable` instruction executed"),
    "divide by zero": ("integer_division_by_zero", "integer divide by zero"),
    "remainder by zero": ("integer_division_by_zero", "integer divide by zero"),
    "integer overflow": ("integer_overflow", "integer overflow"),
    "memory access out of bounds": ("memory_out_of_bounds", "out of bounds memory access"),
    "float unrepresentable in integer range": ("bad_conversion_to_integer",
                                               "invalid conversion to integer"),
    "null function or function signature mismatch": ("bad_signature",
                                                     "indirect call type mismatch"),
    "table index is out of bounds": ("table_out_of_bounds", "undefined element"),
    "Maximum call stack size exceeded": ("stack_overflow", "call stack exhausted"),
}
_FRAME = re.compile(r"^\s*at (?:(\S+) )?\(?wasm://wasm/([^:]*):wasm-function\[(\d+)\]:0x([0-9a-f]+)")


def _trap(exc: Any, label: str, instance: Instance) -> Trap:
    """The Trap for a ``WebAssembly.RuntimeError`` (or a stack overflow's RangeError)."""
    message = str(exc.message)
    kind, wording = _TRAPS.get(message, (None, message))
    raw = []
    guest = None         # the trapping module's id: frames below it are Pyodide's own
    for line in str(exc.stack).splitlines()[1:]:
        match = _FRAME.match(line)
        if match:
            function, module, index, offset = match.groups()
            guest = guest or module
            if module == guest:
                raw.append((None, function, int(index), int(offset, 16)))
    return Trap(f"{label}: wasm trap: {wording}", kind=kind, frames=instance.frames(raw))


class JsMemory(Memory):
    """A ``WebAssembly.Memory``: reads and writes copy through JS (its ArrayBuffer is not
    Python memory, so there is no zero-copy view)."""

    def __init__(self, memory: Any):
        self._memory = memory

    def size(self) -> int:
        self._known = int(self._memory.buffer.byteLength)
        return self._known

    def read(self, ptr: int, size: int) -> bytes:
        self._check(ptr, size)
        return bytes(_GLUE.read(self._memory, ptr, size).to_bytes())

    def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None:
        self._check(ptr, len(data))
        _GLUE.write(self._memory, ptr, to_js(bytes(data)))

    def read_cstr(self, ptr: int) -> bytes:
        self._check(ptr, 1)
        end = int(_GLUE.nul(self._memory, ptr))
        if end < 0:
            raise Trap(f"guest returned a cstr at {ptr:#x} with no NUL before the end of "
                       f"memory ({self.size()} bytes)", kind="memory_out_of_bounds")
        return self.read(ptr, end - ptr)

    def view(self) -> memoryview:
        raise BackendError("the js backend has no buffer view of guest memory: its "
                           "ArrayBuffer lives in the JavaScript engine, outside Python's memory")


class JsInstance(Instance):
    """One ``WebAssembly.Instance``."""

    def __init__(self, compiled: JsCompiled, host: list[tuple[str, str, FuncType, RawFunction]],
                 wasi: tuple[Wasi, str] | None = None):
        self.lock = _thread.RLock()
        self._proxies = []       # the host functions' proxies, kept alive with the instance
        self._wasi = None
        if wasi is not None:     # WASI preview 1 in Python: host functions before [imports]
            self._wasi, host = _with_wasi(compiled, wasi, host)
        imports = js.Object.new()
        for module, name, functype, raw in host:
            namespace = getattr(imports, module, None)
            if namespace is None:
                namespace = js.Object.new()
                setattr(imports, module, namespace)
            proxy = create_proxy(raw)
            self._proxies.append(proxy)
            setattr(namespace, name, _GLUE.host(proxy, to_js(list(functype.results))))
        try:
            self._instance = js.WebAssembly.Instance.new(compiled.module, imports)
        except JsException as exc:
            if exc.name == "RuntimeError":
                raise BackendError(f"instantiation failed: the start function trapped: "
                                   f"{exc.message}") from None
            raise BackendError(f"instantiation failed: {exc.message}") from None
        self._exports = self._instance.exports
        if self._wasi is not None:
            memory = getattr(self._exports, "memory", None)
            self._wasi.bind(JsMemory(memory) if memory is not None else None)

    def captured(self, stream: str) -> bytes:
        if self._wasi is None:
            raise ValueError(f"[wasi] {stream} is not captured")
        return bytes(self._wasi.captured(stream))

    def set_wasi_args(self, argv: list[str] | None) -> None:
        assert self._wasi is not None
        self._wasi.restart(argv)

    def _export(self, export: str, kind: Any, what: str) -> Any:
        item = getattr(self._exports, export, None)
        if item is None:
            raise BackendError(f"the instance has no export {export!r}")
        if kind is not None and not js.Object.prototype.isPrototypeOf.call(kind.prototype, item):
            raise BackendError(f"export {export!r} is not a {what}")
        return item

    def function(self, export: str, functype: FuncType, label: str,
                 release_gil: bool = False) -> RawFunction:
        # configured() refused release_gil = true: the JS engine runs on this thread
        call = _GLUE.raw(self._export(export, None, "function"),
                         to_js(list(functype.params)), to_js(list(functype.results)))
        many = len(functype.results) > 1
        acquire, release = self.lock.acquire, self.lock.release

        def raw(*args: Any) -> Any:
            acquire()
            try:
                result = call(*args)
            except JsException as exc:
                if self.on_trap is not None:
                    self.on_trap()
                if exc.name in ("RuntimeError", "RangeError"):
                    raise _trap(exc, label, self) from None
                raise
            except BaseException:
                if self.on_trap is not None:
                    self.on_trap()
                raise
            finally:
                release()
            return tuple(result.to_py()) if many else result
        return raw

    def memory(self, export: str) -> Memory:
        return JsMemory(self._export(export, js.WebAssembly.Memory, "memory"))

    def get_global(self, export: str) -> Any:
        return self._export(export, js.WebAssembly.Global, "global").value

    def set_global(self, export: str, value: Any) -> None:
        self._export(export, js.WebAssembly.Global, "global").value = value


def _with_wasi(compiled: JsCompiled, wasi: tuple[Wasi, str],
               host: list[tuple[str, str, FuncType, RawFunction]]) -> tuple[Any, list[Any]]:
    """A WASI context (``_jswasi``) for the instance, and ``host`` with its functions first;
    raises BackendError for a WASI import that preview 1 does not have."""
    from ._jswasi import MODULE, WasiPreview1
    context = WasiPreview1(*wasi)
    functions = context.functions()
    for item in js.WebAssembly.Module.imports(compiled.module):
        if item.module == MODULE and item.kind == "function" and item.name not in functions:
            raise BackendError(f"instantiation failed: unknown import: {MODULE}.{item.name} "
                               f"is not a WASI preview 1 function")
    wasi_host = [(MODULE, name, FuncType(params, results), raw)
                 for name, (params, results, raw) in functions.items()]
    return context, [*wasi_host, *host]


class JsCompiled(CompiledModule):
    """A ``WebAssembly.Module``."""

    def __init__(self, module: Any):
        self.module = module

    def instantiate(self, limits: Limits, host: list[tuple[str, str, FuncType, RawFunction]],
                    wasi: tuple[Wasi, str] | None = None) -> Instance:
        return JsInstance(self, host, wasi)


class JsBackend(Backend):
    """The JavaScript engine's WebAssembly, on Pyodide."""

    name = "js"
    file_cache = False
    limitations = {
        "compiled-calls": "wasmimport's C call path is written against wasmtime's C API",
        "release-gil": "the JavaScript engine runs wasm on the calling thread",
        "limits-memory": "the memory cap is not implemented on the js backend yet",
        "limits-timeout": "a JavaScript engine cannot interrupt a running synchronous call",
        "limits-fuel": "the JavaScript engine does not meter wasm",
        "interrupt": "a JavaScript engine cannot interrupt a running synchronous call",
        "any-thread": "Pyodide runs Python on one thread",
        "subinterpreters": "Pyodide has no subinterpreters",
        "multi-memory": "not every JavaScript engine implements multi-memory",
    }

    def __init__(self) -> None:
        self.version = str(js.eval("typeof process === 'object' ? 'node-' + process.version "
                                   ": navigator.userAgent"))
        self.cache_tag = f"js-{self.version}"

    def for_limits(self, limits: Limits) -> Backend:
        return self           # configured() refused every limit it cannot enforce

    def compile(self, wasm: bytes) -> CompiledModule:
        try:
            return JsCompiled(js.WebAssembly.Module.new(to_js(wasm)))
        except JsException as exc:
            raise BackendError(str(exc.message)) from None

    def validate(self, wasm: bytes) -> None:
        if not js.WebAssembly.validate(to_js(wasm)):
            self.compile(wasm)    # for the engine's diagnosis, which validate() does not give

    def serialize(self, compiled: CompiledModule) -> bytes:
        raise BackendError("the js backend keeps compiled code in the page, not in files")

    def deserialize_file(self, path: str) -> CompiledModule:
        raise BackendError("the js backend keeps compiled code in the page, not in files")

    def wat2wasm(self, text: str) -> bytes:
        raise BackendError("text modules (.wat) need the wasmtime backend: compile the file "
                           "to .wasm (wat2wasm, or `python -m wasmimport build`) to use it here")
