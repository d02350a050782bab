"""The js backend: the JavaScript engine's own WebAssembly, through Pyodide's FFI.

On Pyodide (``sys.platform == "emscripten"``) there is no native engine to bind: the
browser's (or Node's) ``WebAssembly`` compiles and runs the module.  Each export gets a
small JavaScript function made once per signature (``_GLUE.raw``), so that a call crosses
the Python/JS boundary once, with i64 values turned into BigInt and back there.  Guest
memory lives in a JS ``ArrayBuffer`` outside Pyodide's heap, so it is read and written
through JS (``_GLUE`` again) rather than through a Python buffer view.

A running synchronous call cannot be interrupted in a JS engine, so ``[limits] timeout`` and
``fuel`` are refused by name (``limitations``); ``[limits] memory`` is held by compiling the
module instrumented (``JsCappedBackend``); compiled code is not written to the file
cache (a page has no persistent one), but a compiled module is kept for the process.
"""

from __future__ import annotations

import _thread
import re

import js  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import JsException, can_run_sync, create_proxy, run_sync, to_js  # type: ignore[import-not-found]

from .._errors import CompileRefused, LimitExceeded, Trap, TrapFrame, WasiExit
from .._instrument import REFUSED_EXPORT, VERSION, Instrumented, cap_memory
from .._wasmbin import FuncType, WasmFormatError
from ._base import Backend, BackendError, CompiledModule, Direct, Instance, Memory, size_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from .._manifest import Limits, Wasi
    from ._base import AllocationError, RawFunction

# JS helpers, made once per process: a raw caller per signature, memory access.
_GLUE: Any = run_js(r"""({
  raw(f, params, results) {
    // i64 goes in as BigInt (a Python int arrives as a Number or a BigInt) and comes back
    // as a Number when it is a safe integer; a float's -0 comes back as "-0", because
    // Pyodide turns every integral Number into a Python int (the Python side floats it)
    const names = params.map((_, i) => "a" + i);
    const args = params.map((t, i) => t === "i64" ? `BigInt.asIntN(64, BigInt(a${i}))` : names[i]);
    const out = (t, r) => t === "i64"
      ? `(${r} >= -9007199254740991n && ${r} <= 9007199254740991n ? Number(${r}) : ${r})`
      : t === "f32" || t === "f64" ? `(${r} === 0 && 1 / ${r} < 0 ? "-0" : ${r})` : r;
    let body = `const r = f(${args.join(", ")});`;
    if (results.length === 0) body += " return undefined;";
    else if (results.length === 1) body += ` return ${out(results[0], "r")};`;
    else body += ` return [${results.map((t, i) => out(t, `r[${i}]`)).join(", ")}];`;
    return new Function("f", `return (${names.join(", ")}) => { ${body} };`)(f);
  },
  fused(f, params, result, memory, realloc, post) {
    // a whole call of str/scalar parameters and a str/scalar/None result, Canonical ABI
    // and all: a str arrives as a JS string when Python found it ASCII, else as the
    // PyProxy of its UTF-8 bytes; it is copied into a block from the guest's realloc.  A
    // refused allocation throws WasmimportAllocation ("align size ptr"); a str result
    // that is not plainly good (alignment, bounds, UTF-8) comes back as [retptr], for
    // Python to lift (and raise exactly what the pure path raises) and post-return.
    const encoder = new TextEncoder(), decoder = new TextDecoder("utf-8", { fatal: true });
    const slot = { P: 0, N: 0 };       // where put() leaves the block it filled
    const put = (s) => {
      const proxy = typeof s === "string" ? null : s.getBuffer("u8");
      const N = proxy ? proxy.data.length : s.length;
      const P = realloc(0, 0, 1, N) >>> 0;
      const buffer = memory.buffer;
      if ((N && P === 0) || P + N > buffer.byteLength) {
        if (proxy) proxy.release();
        const error = new Error(`1 ${N} ${P}`);
        error.name = "WasmimportAllocation";
        throw error;
      }
      if (proxy) {
        new Uint8Array(buffer, P, N).set(proxy.data);
        proxy.release();
      } else if (N) encoder.encodeInto(s, new Uint8Array(buffer, P, N));
      slot.P = P | 0;
      slot.N = N;
    };
    const take = (r) => {
      const buffer = memory.buffer;
      if (r % 4 === 0 && r + 8 <= buffer.byteLength) {
        const view = new DataView(buffer);
        const ptr = view.getUint32(r, true), len = view.getUint32(r + 4, true);
        if (ptr + len <= buffer.byteLength) {
          try {
            const text = decoder.decode(new Uint8Array(buffer, ptr, len));
            if (post) post(r | 0);
            return text;
          } catch (e) {
            if (!(e instanceof TypeError)) throw e;     // not UTF-8: Python says so
          }
        }
      }
      return [r | 0];
    };
    const names = params.map((_, i) => "a" + i);
    let body = "";
    const args = [];
    params.forEach((t, i) => {
      if (t === "str") {
        body += `put(a${i}); const p${i} = slot.P, n${i} = slot.N; `;
        args.push(`p${i}`, `n${i}`);
      } else args.push(t === "i64" ? `BigInt.asIntN(64, BigInt(a${i}))` : `a${i}`);
    });
    body += `const r = f(${args.join(", ")}); `;
    if (result === "str") body += "return take(r >>> 0);";
    else if (result === null) body += post ? "post(); return undefined;" : "return undefined;";
    else {
      if (post) body += "post(r); ";
      body += result === "i64"
        ? "return (r >= -9007199254740991n && r <= 9007199254740991n ? Number(r) : r);"
        : result === "f32" || result === "f64" ? 'return (r === 0 && 1 / r < 0 ? "-0" : r);'
        : "return r;";
    }
    return new Function("f", "put", "take", "post", "slot",
      `return (${names.join(", ")}) => { ${body} };`)(f, put, take, post, slot);
  },
  host(call, params, results, sink) {
    // a Python host function seen from wasm: i64 results go back as BigInt, a float
    // parameter's -0 goes as "-0" (as in raw()); when it raises, the stack here (the
    // guest's frames that called it) is left in sink.stack
    const wide = results.length === 1 && results[0] === "i64";
    const floats = params.flatMap((t, i) => t === "f32" || t === "f64" ? [i] : []);
    return (...a) => {
      for (const i of floats) if (a[i] === 0 && 1 / a[i] < 0) a[i] = "-0";
      try {
        return wide ? BigInt.asIntN(64, BigInt(call(...a))) : call(...a);
      } catch (e) {
        sink.stack = new Error().stack;
        throw e;
      }
    };
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
# what a core result from the glue needs to be the Python value (see _GLUE.raw)
_CORE_LIFT: dict[str, Callable[[Any], Any]] = {"i64": int, "f32": float, "f64": float}
_FRAME = re.compile(r"^\s*at (?:(\S+) )?\(?wasm://wasm/([^:]*):wasm-function\[(\d+)\]:0x([0-9a-f]+)")


def _frames(stack: str, instance: Instance) -> tuple[TrapFrame, ...]:
    """The guest's frames in a JS stack trace, innermost first: those of the first wasm
    module the trace shows (the frames below it are Pyodide's own wasm)."""
    raw = []
    guest = None
    for line in stack.splitlines()[1:]:
        match = _FRAME.match(line)
        if match:
            function, module, index, offset = match.groups()
            guest = guest or module
            if module == guest:
                raw.append((None, function, int(index), int(offset, 16)))
    return instance.frames(raw)


def _trap(exc: Any, label: str, instance: Instance) -> Trap:
    """The Trap for a ``WebAssembly.RuntimeError`` (or a stack overflow's RangeError)."""
    message = str(exc.message)
    kind, wording = _TRAPS.get(message, (None, message))
    return Trap(f"{label}: wasm trap: {wording}", kind=kind,
                frames=_frames(str(exc.stack), instance))


def _python_params(raw: RawFunction, functype: FuncType) -> RawFunction:
    """``raw`` taking its core parameters as Python's own types: an i64 arrives as a BigInt,
    which Pyodide hands Python as its ``JsBigInt`` (an int subclass), and an integral float
    as an int (or "-0", from the glue)."""
    convert = [(i, _CORE_LIFT[t]) for i, t in enumerate(functype.params) if t in _CORE_LIFT]
    if not convert:
        return raw

    def call(*core: Any) -> Any:
        values = list(core)
        for i, lift in convert:
            values[i] = lift(values[i])
        return raw(*values)
    return call


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

    def view(self) -> Any:
        # the guest's ArrayBuffer is the JS engine's, not Python memory: no memoryview of it
        # can exist, so the module attribute is the live Uint8Array (index it, .to_bytes())
        return js.Uint8Array.new(self._memory.buffer)


class JsInstance(Instance):
    """One ``WebAssembly.Instance``."""

    def __init__(self, compiled: JsCompiled, host: list[tuple[str, str, FuncType, RawFunction]],
                 wasi: tuple[Wasi, str] | None = None):
        self.lock = _thread.RLock()
        self._proxies = []       # the host functions' proxies, kept alive with the instance
        self._sink = js.Object.new()    # the JS stack where a host function last raised
        self._sink.stack = None
        self._wasi = None
        if wasi is not None:     # WASI preview 1 in Python: host functions before [imports]
            self._wasi, host = _with_wasi(compiled, wasi, host)
        imports = js.Object.new()
        for module, name, functype, raw in host:
            namespace = getattr(imports, module, None)
            if namespace is None:
                namespace = js.Object.new()
                setattr(imports, module, namespace)
            proxy = create_proxy(_python_params(raw, functype))
            self._proxies.append(proxy)
            setattr(namespace, name,
                    _GLUE.host(proxy, to_js(list(functype.params)),
                               to_js(list(functype.results)), self._sink))
        try:
            self._instance = _new_instance(compiled, imports)
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

    def _glue(self, export: str, functype: FuncType) -> Any:
        return _GLUE.raw(self._export(export, None, "function"),
                         to_js(list(functype.params)), to_js(list(functype.results)))

    def _translate(self, label: str) -> Callable[[BaseException], BaseException]:
        """What an exception out of a call becomes: a JS trap (RuntimeError, or RangeError
        for a stack overflow) a Trap; a host function's exception itself, noted with the
        guest frames it passed through; anything else itself."""
        def translate(exc: BaseException) -> BaseException:
            if self.on_trap is not None:
                self.on_trap()
            if isinstance(exc, JsException):
                if exc.name in ("RuntimeError", "RangeError"):
                    trap = _trap(exc, label, self)
                    trap.__suppress_context__ = True    # raised as if `from None`
                    return self.guest_frames(trap, trap.frames)
            elif isinstance(exc, WasiExit):     # proc_exit, from _jswasi: named as elsewhere
                self._sink.stack = None
                exited = WasiExit(f"{label}: {exc.message}", exc.status)
                exited.__suppress_context__ = True
                return exited
            elif hasattr(exc, "add_note") and self._sink.stack is not None:
                guest = _frames(str(self._sink.stack), self)
                frames = "\n".join(map(str, guest))
                exc.add_note(f"raised in a host function called by wasm, in {label}"
                             + (f"; wasm backtrace:\n{frames}" if frames else ""))
                exc = self.guest_frames(exc, guest)
            self._sink.stack = None
            return exc
        return translate

    def fused(self, export: str, params: list[str], result: str | None, memory: str | None,
              realloc: str | None, post: str | None, label: str,
              alloc_error: AllocationError | None) -> Direct | None:
        call = _GLUE.fused(
            self._export(export, None, "function"), to_js(params), result,
            self._export(memory, js.WebAssembly.Memory, "memory") if memory else None,
            self._export(realloc, None, "function") if realloc else None,
            self._export(post, None, "function") if post else None)
        translate = self._translate(label)

        def refused(exc: BaseException) -> BaseException:
            if alloc_error is None or getattr(exc, "name", None) != "WasmimportAllocation":
                return translate(exc)
            align, size, ptr = map(int, str(exc.message).split())  # type: ignore[attr-defined]
            error = alloc_error(align, size, ptr)
            error.__suppress_context__ = True
            return error
        lift = _CORE_LIFT.get(result) if result is not None else None
        return Direct(call, BaseException, refused, lift)

    def function(self, export: str, functype: FuncType, label: str,
                 release_gil: bool = False) -> RawFunction:
        # configured() refused release_gil = true: the JS engine runs on this thread
        call = self._glue(export, functype)
        translate = self._translate(label)
        lifts = tuple(_CORE_LIFT.get(t) for t in functype.results)
        lift = lifts[0] if len(lifts) == 1 else None

        def raw(*args: Any) -> Any:
            try:
                result = call(*args)
            except BaseException as exc:  # noqa: BLE001 - each is translated, then raised
                raise translate(exc)     # noqa: B904 (a host exception is raised as itself)
            if len(lifts) > 1:
                return tuple(v if f is None else f(v) for f, v in zip(lifts, result.to_py()))
            return result if lift is None else lift(result)
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

    size = 0          # of its binary: above SYNC_LIMIT, instantiating is asynchronous too

    def __init__(self, module: Any):
        self.module = module

    def instantiate(self, limits: Limits, host: list[tuple[str, str, FuncType, RawFunction]],
                    wasi: tuple[Wasi, str] | None = None) -> Instance:
        return JsInstance(self, host, wasi)


# tiny modules telling whether the engine has a proposal: (memory 1) (memory 1), and a
# function taking an exnref
_PROBES = {
    "multi-memory": (b"\0asm\x01\0\0\0\x05\x05\x02\0\x01\0\x01", "multi-memory"),
    "exceptions": (b"\0asm\x01\0\0\0\x01\x05\x01`\x01i\0\x03\x02\x01\0\n\x04\x01\x02\0\x0b",
                   "exception handling with exnref"),
}

# Chromium's limit for a synchronous compile or instantiation on a page's main thread
# (``1 << 23`` bytes in Blink); Node, Firefox and workers have none, so above it both are
# only *tried* synchronously when they cannot be done asynchronously (run_sync needs JSPI and
# a Python stack entered by runPythonAsync).
SYNC_LIMIT = 8 << 20


def _too_big(size: int, what: str, engine: str) -> str:
    """What to do about a module too big to compile (or instantiate) synchronously here."""
    return (f"the module is {size} bytes ({size / 2**20:.1f} MiB), more than this JavaScript "
            f"engine will {what} synchronously on the main thread ({engine}); import it in "
            "code run by pyodide.runPythonAsync() on a runtime with JavaScript Promise "
            "Integration (JSPI: then it is done asynchronously), or run Python in a Web Worker")


def _new_instance(compiled: JsCompiled, imports: Any) -> Any:
    """``new WebAssembly.Instance(module, imports)``; above ``SYNC_LIMIT``, awaited
    ``WebAssembly.instantiate(module, imports)`` where ``run_sync`` can (see compile())."""
    if compiled.size <= SYNC_LIMIT:
        return js.WebAssembly.Instance.new(compiled.module, imports)
    if can_run_sync():
        return run_sync(js.WebAssembly.instantiate(compiled.module, imports))
    try:
        return js.WebAssembly.Instance.new(compiled.module, imports)
    except JsException as exc:
        if exc.name == "RangeError" and "main thread" in str(exc.message):
            raise CompileRefused(_too_big(compiled.size, "instantiate",
                                          str(exc.message))) from None
        raise


class JsBackend(Backend):
    """The JavaScript engine's WebAssembly, on Pyodide."""

    name = "js"
    file_cache = False
    limitations = {
        "compiled-calls": "wasmimport's C call path is written against wasmtime's C API",
        "release-gil": "the JavaScript engine runs wasm on the calling thread",
        "limits-timeout": "a JavaScript engine cannot interrupt a running synchronous call",
        "limits-fuel": "the JavaScript engine does not meter wasm",
        "interrupt": "a JavaScript engine cannot interrupt a running synchronous call",
        "any-thread": "Pyodide runs Python on one thread",
        "subinterpreters": "Pyodide has no subinterpreters",
        "wat": "the JavaScript engine's WebAssembly takes binaries only: compile .wat files "
               "to .wasm (wat2wasm) to ship them",
        "memory-view": "guest memory is a JavaScript ArrayBuffer, outside Python's memory: "
                       "the module's memory attribute is its Uint8Array",
    }

    def __init__(self) -> None:
        self.version = str(js.eval("typeof process === 'object' ? 'node-' + process.version "
                                   ": navigator.userAgent"))
        self.cache_tag = f"js-{self.version}"
        # what this JS engine's WebAssembly validates: proposals arrive engine by engine
        self.limitations = dict(self.limitations)
        for feature, (probe, reason) in _PROBES.items():
            if not js.WebAssembly.validate(to_js(probe)):
                self.limitations[feature] = f"{self.version}'s WebAssembly has no {reason}"

    def for_limits(self, limits: Limits) -> Backend:
        # configured() refused every limit it cannot enforce; [limits] memory is held by
        # compiling the module instrumented, by a sibling backend per cap (see the end)
        if limits.memory is None:
            return self
        siblings = self.__dict__.setdefault("_capped", {})
        sibling = siblings.get(limits.memory)
        if sibling is None:
            sibling = siblings[limits.memory] = JsCappedBackend(self, limits.memory)
        return sibling  # type: ignore[no-any-return]

    def compile(self, wasm: bytes) -> CompiledModule:
        """``new WebAssembly.Module(bytes)``; above ``SYNC_LIMIT``, where a browser's main
        thread refuses that, ``WebAssembly.compile(bytes)`` awaited with ``run_sync`` when
        the Python stack allows it (JSPI, entered by ``runPythonAsync``)."""
        data = to_js(wasm)
        big = len(wasm) > SYNC_LIMIT
        try:
            if big and can_run_sync():
                compiled = JsCompiled(run_sync(js.WebAssembly.compile(data)))
            else:
                compiled = JsCompiled(js.WebAssembly.Module.new(data))
        except JsException as exc:
            if big and exc.name == "RangeError" and "main thread" in str(exc.message):
                raise CompileRefused(_too_big(len(wasm), "compile", str(exc.message))) from None
            raise BackendError(str(exc.message)) from None
        compiled.size = len(wasm)
        return compiled

    def validate(self, wasm: bytes) -> None:
        if not js.WebAssembly.validate(to_js(wasm)):
            self.compile(wasm)    # for the engine's diagnosis, which validate() does not give

    def serialize(self, compiled: CompiledModule) -> bytes:
        raise BackendError("the js backend keeps compiled code in the page, not in files")

    def deserialize_file(self, path: str) -> CompiledModule:
        raise BackendError("the js backend keeps compiled code in the page, not in files")

    def wat2wasm(self, text: str) -> bytes:
        raise BackendError(self.limitations["wat"])   # prepare() refuses text first


# ---- [limits] memory ------------------------------------------------------------------
# A JavaScript engine gives no hook on a wasm ``memory.grow``, so ``JsBackend.for_limits``
# hands a capped module to a sibling backend (``JsCappedBackend``, one per cap, with its own
# ``cache_tag``) that compiles the binary ``_instrument.cap_memory`` makes of it: there the
# memory's maximum is the cap, ``memory.grow`` past it returns -1 inside the guest, and the
# size it asked for is left in an exported global.  A call that then traps raises
# ``LimitExceeded(kind="memory")`` with the Trap as its ``__cause__``, worded as on wasmtime.
#
# Trap frames are those of the module as given: the offsets of the instrumented code are
# mapped back (a frame at a call that replaced ``memory.grow`` is at that ``memory.grow``),
# and the appended functions' frames (the grow helper, the export wrappers) are left out.


class JsCappedInstance(JsInstance):
    """An instance of an instrumented module: its traps after a refused growth say so."""

    def __init__(self, compiled: JsCappedCompiled,
                 host: list[tuple[str, str, FuncType, RawFunction]],
                 wasi: tuple[Wasi, str] | None = None):
        super().__init__(compiled, host, wasi)
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
                        f"to {size_text(asked)}, past [limits] memory = {size_text(self._cap)}",
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
        return JsCappedInstance(self, host, wasi)


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
