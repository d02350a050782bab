"""The manifest: TOML that gives a wasm module's exports Python signatures.

Parsing is strict on purpose: an unknown key, type or section is an error naming the file and
the entry, because a typo that is silently ignored in a sandbox description is a security bug.
Signatures are parsed with Python's own parser (``def f(<signature>)``), so defaults, keyword-
only markers and error positions behave exactly as a Python user expects.
"""

from __future__ import annotations

import sys

from . import _cache
from ._compound import ResultType
from ._errors import ManifestError
from ._typeparse import HOST_PARAM, PARAM, RESULT, TypeSpace, declare_types, parse_type, to_form
from ._types import SCALARS, OutBufferType, WasmType

TYPE_CHECKING = False   # typing costs ~20 ms at import; mypy still reads this block
if TYPE_CHECKING:
    import ast
    from collections.abc import Mapping
    from typing import Any

    from ._types import Converter

EMBEDDED_SECTION = "wasmimport"
MAX_FLAT_PARAMS = 16       # the Canonical ABI's limit; beyond it parameters go through memory
_TOP_KEYS = {"doc", "abi", "functions", "limits", "imports", "wasi", "types"}
_WASI_KEYS = {"args", "env", "stdin", "stdout", "stderr", "preopens"}
_STREAMS = {"stdin": ("null", "inherit"), "stdout": ("null", "inherit", "capture"),
            "stderr": ("null", "inherit", "capture")}
_IMPORT_KEYS = {"python", "signature", "doc"}
_LIMIT_KEYS = {"memory", "timeout", "fuel", "interruptible"}
_FUNCTION_KEYS = {"signature", "export", "doc", "release_gil", "type_errors",
                  "value_errors", "raises", "oversize"}
_ABI_KEYS = {"realloc", "alloc", "free", "memory"}

# parameter kinds, as in a Python ``def``
POSITIONAL_ONLY = "positional-only"
POSITIONAL_OR_KEYWORD = "positional-or-keyword"
KEYWORD_ONLY = "keyword-only"


class _NoDefault:
    """The marker for a parameter without a default value."""

    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Any = _NoDefault()


class Param:
    """One parameter of a manifest signature."""

    __slots__ = ("name", "type", "default", "kind", "type_error", "value_error")

    def __init__(self, name: str, type: WasmType, default: Any = NO_DEFAULT,
                 kind: str = POSITIONAL_OR_KEYWORD, type_error: str | None = None,
                 value_error: str | None = None):
        self.name = name
        self.type = type
        self.default = default
        self.kind = kind
        # the whole message of the TypeError for a wrong argument, and of the ValueError for
        # a value out of range, when the manifest words them as the C extension did
        # (hashlib's "Strings must be encoded before hashing", mmh3's "seed is out of range")
        self.type_error = type_error
        self.value_error = value_error

    def converter(self, label: str) -> Converter:
        """The type's converter for this parameter; ``label`` starts its errors, unless the
        manifest words them itself."""
        convert = self.type.converter(f"{label} argument {self.name!r}")
        type_error, value_error = self.type_error, self.value_error
        if type_error is None and value_error is None:
            return convert

        def worded(value: Any) -> Any:
            try:
                return convert(value)
            except TypeError:
                if type_error is None:
                    raise
                raise TypeError(type_error) from None
            except (ValueError, OverflowError):
                if value_error is None:
                    raise
                raise ValueError(value_error) from None
        return worded


class Signature:
    """A parsed ``(name: type = default, ...) -> type``."""

    __slots__ = ("params", "result", "text", "multi")

    def __init__(self, params: tuple[Param, ...], result: WasmType | None, text: str,
                 multi: tuple[str, ...] = ()):
        self.params = params
        self.result = result
        self.text = text
        self.multi = multi       # core multi-value results, returned directly as a tuple

    def types(self) -> tuple[WasmType, ...]:
        """The parameters' types and the result's, if any."""
        result = () if self.result is None else (self.result,)
        return (*(p.type for p in self.params), *result)

    def core_params(self) -> tuple[str, ...]:
        """Flattened core parameter types (before spilling)."""
        return tuple(core for p in self.params for core in p.type.flat)

    def spills(self) -> bool:
        """True when the parameters are passed in memory (more than 16 flat values)."""
        return len(self.core_params()) > MAX_FLAT_PARAMS

    def needs_allocator(self) -> bool:
        """True when a call allocates argument buffers (or spilled parameters) in the guest."""
        return self.spills() or any(p.type.allocates for p in self.params)

    def needs_memory(self) -> bool:
        """True when a call lowers or lifts anything through guest memory."""
        result = self.result
        return self.needs_allocator() or result is not None and (
            result.reads_memory or len(result.flat) > 1)

    def fills(self) -> tuple[int, ...]:
        """The indexes of ``buffer`` parameters, copied back after a call."""
        return tuple(i for i, p in enumerate(self.params) if isinstance(p.type, OutBufferType))

    def core_results(self) -> tuple[str, ...]:
        """Core result types: one value, or an i32 return-area pointer."""
        if self.multi:
            return self.multi
        if self.result is None:
            return ()
        return self.result.flat if len(self.result.flat) <= 1 else ("i32",)

    @property
    def return_hint(self) -> str:
        """The result's annotation as stub source."""
        if self.multi:
            return f"tuple[{', '.join(SCALARS[c].hint for c in self.multi)}]"
        return "None" if self.result is None else self.result.hint

    @property
    def return_annotation(self) -> Any:
        if self.multi:
            return tuple[tuple(SCALARS[c].annotation for c in self.multi)]  # type: ignore[misc]
        return None if self.result is None else self.result.annotation


class FunctionEntry:
    """A ``[functions]`` entry: Python name, wasm export, signature, doc."""

    __slots__ = ("name", "export", "signature", "doc", "release_gil", "raises", "oversize")

    def __init__(self, name: str, export: str, signature: Signature | None, doc: str | None,
                 release_gil: bool = False, raises: str | None = None,
                 oversize: str | None = None):
        self.name = name
        self.export = export
        self.signature = signature
        self.doc = doc
        self.release_gil = release_gil
        self.raises = raises     # "module:Class" raised for a result's error, not GuestError
        self.oversize = oversize   # "module:function" called when guest memory is too small


class AbiOptions:
    """The ``[abi]`` table: which exports allocate and free guest memory."""

    __slots__ = ("realloc", "alloc", "free", "memory")

    def __init__(self, realloc: str = "cabi_realloc", alloc: str | None = None,
                 free: str | None = None, memory: str = "memory"):
        self.realloc = realloc
        self.alloc = alloc
        self.free = free
        self.memory = memory


class ImportEntry:
    """An ``[imports.MODULE.NAME]`` entry: the Python callable that provides a wasm import."""

    __slots__ = ("module", "name", "python", "signature")

    def __init__(self, module: str, name: str, python: str, signature: Signature | None):
        self.module = module
        self.name = name
        self.python = python          # "package.module:attribute"
        self.signature = signature


class Wasi:
    """The ``[wasi]`` table: what WASI preview 1 grants.  Nothing unless it is listed.

    ``preopens`` maps a guest path to (host path, writable); a relative host path is relative
    to the folder of the wasm file.
    """

    __slots__ = ("args", "env", "stdin", "stdout", "stderr", "preopens")

    def __init__(self, args: tuple[str, ...] = (), env: tuple[tuple[str, str], ...] = (),
                 stdin: str = "null", stdout: str = "null", stderr: str = "null",
                 preopens: tuple[tuple[str, str, bool], ...] = ()):
        self.args = args
        self.env = env
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.preopens = preopens


class Limits:
    """The ``[limits]`` table: memory cap (bytes), per-call timeout (seconds), per-call fuel,
    and whether Ctrl-C (and a timeout) may stop a running call."""

    __slots__ = ("memory", "timeout", "fuel", "interruptible")

    def __init__(self, memory: int | None = None, timeout: float | None = None,
                 fuel: int | None = None, interruptible: bool = True):
        self.memory = memory
        self.timeout = timeout
        self.fuel = fuel
        self.interruptible = interruptible   # False: compiled without the engine's checks


class Manifest:
    """A validated manifest; ``source`` names it in every error."""

    __slots__ = ("source", "doc", "functions", "abi", "limits", "imports", "wasi", "types")

    def __init__(self, source: str, doc: str | None = None,
                 functions: tuple[FunctionEntry, ...] = (), abi: AbiOptions | None = None,
                 limits: Limits | None = None, imports: tuple[ImportEntry, ...] = (),
                 wasi: Wasi | None = None, types: TypeSpace | None = None):
        self.wasi = wasi            # None: no WASI at all
        self.types = types or TypeSpace()     # [types]: records, enums, flags
        self.source = source
        self.doc = doc
        self.functions = functions
        self.abi = abi or AbiOptions()
        self.limits = limits or Limits()
        self.imports = imports


def parse_manifest(text: str | bytes, source: str) -> Manifest:
    """Parse manifest TOML; ``source`` (a path or description) prefixes every error."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"{source}: manifest is not UTF-8 ({exc.reason} at byte "
                                f"{exc.start})") from None
    def build() -> tuple[Any, ...]:
        return to_plain(manifest_from_mapping(_toml(text, source), source))
    form = _cache.remembered(f"manifest-{PLAIN_FORMAT}", text.encode("utf-8", "surrogatepass"),
                             build, _cache.MANIFEST_SUFFIX)
    return from_plain(form, source)


# Bump when the plain form below changes: it is part of the key of remembered manifests.
PLAIN_FORMAT = 10


def to_plain(manifest: Manifest) -> tuple[Any, ...]:
    """A validated manifest as nested tuples of builtins (``marshal`` can store it).

    Re-reading a manifest from this form skips tomllib and ast (~30 ms of imports).
    """
    def signature(sig: Signature | None) -> tuple[Any, ...] | None:
        if sig is None:
            return None
        return (sig.text, tuple((p.name, to_form(p.type), p.default is not NO_DEFAULT,
                                 None if p.default is NO_DEFAULT else p.default, p.kind,
                                 p.type_error, p.value_error) for p in sig.params),
                to_form(sig.result))
    abi, limits = manifest.abi, manifest.limits
    return (PLAIN_FORMAT, manifest.doc, (abi.realloc, abi.alloc, abi.free, abi.memory),
            (limits.memory, limits.timeout, limits.fuel, limits.interruptible),
            tuple((i.module, i.name, i.python, signature(i.signature)) for i in manifest.imports),
            None if manifest.wasi is None else tuple(
                getattr(manifest.wasi, key) for key in Wasi.__slots__),
            tuple((f.name, f.export, signature(f.signature), f.doc, f.release_gil, f.raises,
                   f.oversize) for f in manifest.functions), manifest.types.to_plain())


def from_plain(form: tuple[Any, ...], source: str) -> Manifest:
    """The Manifest that ``to_plain`` flattened."""
    _, doc, abi, limits, imports, wasi, functions, types = form
    space = TypeSpace.from_plain(types)

    def signature(plain: tuple[Any, ...] | None) -> Signature | None:
        if plain is None:
            return None
        text, params, result = plain
        return Signature(tuple(Param(name, space.from_form(type_form),
                                     default if has_default else NO_DEFAULT, kind, *errors)
                               for name, type_form, has_default, default, kind, *errors
                               in params),
                         space.from_form(result), text)
    return Manifest(source, doc,
                    tuple(FunctionEntry(name, export, signature(sig), *rest)
                          for name, export, sig, *rest in functions),
                    AbiOptions(*abi), Limits(*limits),
                    tuple(ImportEntry(module, name, python, signature(sig))
                          for module, name, python, sig in imports),
                    None if wasi is None else Wasi(*wasi), space)


def _toml(text: str, source: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{source}: invalid TOML: {exc}") from None


def manifest_from_mapping(data: Mapping[str, Any], source: str) -> Manifest:
    """Validate an already-parsed manifest (the TOML document as a dict)."""
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: manifest must be a table, not {type(data).__name__}")
    _known_keys(data, _TOP_KEYS, f"{source}:")
    doc = _optional_str(data, "doc", source, "doc")
    abi = _abi(data.get("abi", {}), source)
    space = declare_types(data.get("types", {}), source)
    functions_table = data.get("functions", {})
    if not isinstance(functions_table, dict):
        raise ManifestError(f"{source}: [functions] must be a table")
    functions = tuple(_function(name, value, source, space)
                      for name, value in functions_table.items())
    for entry in functions:
        if entry.name in space.declared:
            raise ManifestError(f"{source}: [functions] {entry.name}: the name is taken by "
                                f"[types.{entry.name}]")
    return Manifest(source, doc, functions, abi, _limits(data.get("limits", {}), source),
                    _imports(data.get("imports", {}), source, space),
                    _wasi(data["wasi"], source) if "wasi" in data else None, space)


def _wasi(table: Any, source: str) -> Wasi:
    def fail(message: str) -> ManifestError:
        return ManifestError(f"{source}: [wasi] {message}")

    if not isinstance(table, dict):
        raise fail("must be a table")
    _known_keys(table, _WASI_KEYS, f"{source}: [wasi]")
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise fail("args must be a list of strings")
    env = table.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise fail("env must be a table of strings")
    streams = {}
    for name, choices in _STREAMS.items():
        value = table.get(name, "null")
        if value not in choices:
            raise fail(f"{name} must be one of {', '.join(repr(c) for c in choices)}, "
                       f"not {value!r}")
        streams[name] = value
    preopens = []
    table_of_preopens = table.get("preopens", {})
    if not isinstance(table_of_preopens, dict):
        raise fail("preopens must be a table of guest paths")
    for guest, spec in table_of_preopens.items():
        if not isinstance(spec, dict) or set(spec) - {"path", "mode"} \
                or not isinstance(spec.get("path"), str) \
                or spec.get("mode", "ro") not in ("ro", "rw"):
            raise fail(f"preopens {guest!r} must be {{ path = \"folder\", mode = \"ro\" | "
                       f"\"rw\" }}, not {spec!r}")
        preopens.append((guest, spec["path"], spec.get("mode", "ro") == "rw"))
    return Wasi(tuple(args), tuple(env.items()), streams["stdin"], streams["stdout"],
                streams["stderr"], tuple(preopens))


def _imports(table: Any, source: str, space: TypeSpace) -> tuple[ImportEntry, ...]:
    """``[imports.MODULE.NAME]`` tables: ``python = "pkg.mod:attr"`` and a signature."""
    if not isinstance(table, dict):
        raise ManifestError(f"{source}: [imports] must be a table of modules")
    entries: list[ImportEntry] = []
    for module, names in table.items():
        if not isinstance(names, dict):
            raise ManifestError(f"{source}: [imports.{module}] must be a table of imports")
        for name, value in names.items():
            where = f"[imports.{module}.{name}]"
            if not isinstance(value, dict):
                raise ManifestError(f"{source}: {where} must be a table with python = "
                                    f"\"module:attribute\", not {type(value).__name__}")
            _known_keys(value, _IMPORT_KEYS, f"{source}: {where}:")
            python = _optional_str(value, "python", source, f"{where} python")
            if not python_name(python or "", attribute=True):
                raise ManifestError(f"{source}: {where} python must name a callable as "
                                    f"\"package.module:attribute\", not {python!r}")
            text = _optional_str(value, "signature", source, f"{where} signature")
            _optional_str(value, "doc", source, f"{where} doc")
            signature = parse_signature(text, source, where, space, host=True) \
                if text is not None else None
            entries.append(ImportEntry(module, name, python or "", signature))
    return tuple(entries)


_SIZE_UNITS: dict[str, float] = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
               "kb": 1000, "mb": 1000**2, "gb": 1000**3}
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0}


def python_name(spec: str, attribute: bool = False) -> bool:
    """Whether ``spec`` names Python as ``package.module:attribute`` (or, unless
    ``attribute``, a module alone: ``package.module``)."""
    module, _, name = spec.partition(":")
    parts = [*module.split("."), *(name.split(".") if name else ())]
    return bool(module) and (bool(name) or not attribute) and all(
        part.isidentifier() for part in parts)


def _quantity(value: Any, units: dict[str, float], what: str, example: str) -> float:
    """A number, or a string like "64MiB" / "250ms" in one of ``units``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{what} must be a number or a string like {example!r}, not "
                         f"{type(value).__name__}")
    if isinstance(value, str):
        import re

        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*", value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in units:
            raise ValueError(f"{what} {value!r} is not understood (expected a number with "
                             f"one of the units {', '.join(u for u in units if u)}, "
                             f"like {example!r})")
        number = float(match.group(1)) * units[unit]
    else:
        number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError(f"{what} must be positive, not {value!r}")
    return number


def _limits(table: Any, source: str) -> Limits:
    if not isinstance(table, dict):
        raise ManifestError(f"{source}: [limits] must be a table")
    _known_keys(table, _LIMIT_KEYS, f"{source}: [limits]")
    try:
        memory = table.get("memory")
        if memory is not None:
            memory = int(_quantity(memory, _SIZE_UNITS, "[limits] memory", "64MiB"))
            if memory % 65536:
                raise ValueError(f"[limits] memory must be a whole number of 64 KiB wasm "
                                 f"pages, not {memory} bytes")
        timeout = table.get("timeout")
        if timeout is not None:
            timeout = _quantity(timeout, _TIME_UNITS, "[limits] timeout", "5s")
        fuel = table.get("fuel")
        if fuel is not None and (isinstance(fuel, bool) or not isinstance(fuel, int)
                                 or fuel <= 0 or fuel >= 1 << 63):
            raise ValueError(f"[limits] fuel must be a positive integer, not {fuel!r}")
        interruptible = table.get("interruptible", True)
        if not isinstance(interruptible, bool):
            raise ValueError(f"[limits] interruptible must be true or false, not "
                             f"{type(interruptible).__name__}")
        if not interruptible and timeout is not None:
            raise ValueError("[limits] timeout needs interruptible calls: a call that "
                             "cannot be interrupted cannot be stopped at its time limit")
    except ValueError as exc:
        raise ManifestError(f"{source}: {exc}") from None
    return Limits(memory, timeout, fuel, interruptible)


def _known_keys(table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    """Refuse a key the table may not have: a typo is an error, never silently ignored."""
    for key in table:
        if key not in allowed:
            raise ManifestError(f"{prefix} unknown key {key!r} (expected one of "
                                f"{', '.join(sorted(allowed))})")


def _optional_str(table: Mapping[str, Any], key: str, source: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ManifestError(f"{source}: {where} must be a string, not {type(value).__name__}")
    return value


def _abi(table: Any, source: str) -> AbiOptions:
    if not isinstance(table, dict):
        raise ManifestError(f"{source}: [abi] must be a table")
    _known_keys(table, _ABI_KEYS, f"{source}: [abi]")
    values = {key: _optional_str(table, key, source, f"[abi] {key}") for key in table}
    if values.get("alloc") and values.get("realloc"):
        raise ManifestError(f"{source}: [abi] sets both realloc and alloc; choose one")
    return AbiOptions(**{k: v for k, v in values.items() if v is not None})


def _function(name: str, value: Any, source: str, space: TypeSpace) -> FunctionEntry:
    where = f"[functions] {name}"
    if not name:
        raise ManifestError(f"{source}: [functions] has an empty function name")
    if isinstance(value, str):
        return FunctionEntry(name, name, parse_signature(value, source, where, space), None)
    if not isinstance(value, dict):
        raise ManifestError(f"{source}: {where} must be a signature string or a table, "
                            f"not {type(value).__name__}")
    _known_keys(value, _FUNCTION_KEYS, f"{source}: {where}:")
    text = _optional_str(value, "signature", source, f"{where}.signature")
    export = _optional_str(value, "export", source, f"{where}.export") or name
    doc = _optional_str(value, "doc", source, f"{where}.doc")
    release_gil = value.get("release_gil", False)
    if not isinstance(release_gil, bool):
        raise ManifestError(f"{source}: {where}.release_gil must be true or false, not "
                            f"{type(release_gil).__name__}")
    signature = parse_signature(text, source, where, space) if text is not None else None
    for key in ("type_errors", "value_errors"):
        if value.get(key):
            signature = _worded(signature, key, value[key], f"{source}: {where}.{key}")
    raises = _optional_str(value, "raises", source, f"{where}.raises")
    if raises is not None and not (signature is not None and
                                   isinstance(signature.result, ResultType) and
                                   python_name(raises, attribute=True)):
        raise ManifestError(f"{source}: {where}.raises must name an exception class as "
                            "\"package.module:Class\", for a function whose result is a "
                            "result[T, E]")
    oversize = _optional_str(value, "oversize", source, f"{where}.oversize")
    if oversize is not None and not python_name(oversize, attribute=True):
        raise ManifestError(f"{source}: {where}.oversize must name a Python function as "
                            "\"package.module:function\"")
    return FunctionEntry(name, export, signature, doc, release_gil, raises, oversize)


def _worded(signature: Signature | None, key: str, errors: Any, where: str) -> Signature:
    """``signature`` with the messages of ``type_errors = {param = "..."}`` (or of
    ``value_errors``: ``key`` says which)."""
    names = [p.name for p in signature.params] if signature is not None else []
    if not isinstance(errors, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items()):
        raise ManifestError(f"{where} must be a table of parameter names and messages")
    unknown = sorted(set(errors) - set(names))
    if signature is None or unknown:
        raise ManifestError(f"{where}: the signature has no parameter "
                            f"{', '.join(map(repr, unknown or sorted(errors)))}")
    def worded(p: Param) -> Param:
        type_error, value_error = p.type_error, p.value_error
        if key == "type_errors":
            type_error = errors.get(p.name, type_error)
        else:
            value_error = errors.get(p.name, value_error)
        return Param(p.name, p.type, p.default, p.kind, type_error, value_error)
    return Signature(tuple(map(worded, signature.params)), signature.result, signature.text,
                     signature.multi)


def parse_signature(text: str, source: str, where: str, space: TypeSpace | None = None,
                    host: bool = False) -> Signature:
    """Parse ``(a: i32, b: u32 = 0) -> i32`` into a Signature.

    ``space`` holds the manifest's declared types; ``host`` is True for a host function's
    signature (whose parameters cannot be ``buffer``).
    """
    import ast

    def fail(message: str) -> ManifestError:
        return ManifestError(f"{source}: {where}: {message} in signature {text!r}")

    try:
        tree = ast.parse(f"def f{text.strip()}: pass", mode="exec")
    except SyntaxError as exc:
        raise fail(f"invalid syntax ({exc.msg}); expected '(name: type, ...) -> type'") from None
    except ValueError as exc:     # Python 3.10: a NUL byte is a ValueError, not a SyntaxError
        raise fail(f"invalid syntax ({exc}); expected '(name: type, ...) -> type'") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise fail("expected '(name: type, ...) -> type'")
    fn = tree.body[0]
    args = fn.args
    if args.vararg or args.kwarg:
        raise fail("*args and **kwargs are not supported")
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    kinds = ([POSITIONAL_ONLY] * len(args.posonlyargs)
             + [POSITIONAL_OR_KEYWORD] * len(args.args))
    entries = list(zip(positional, defaults, kinds))
    entries += [(a, d, KEYWORD_ONLY) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    space = space or TypeSpace()
    params: list[Param] = []
    seen: set[str] = set()
    for arg, default_node, kind in entries:
        if arg.arg in seen:
            raise fail(f"duplicate parameter {arg.arg!r}")
        seen.add(arg.arg)
        if arg.annotation is None:
            raise fail(f"parameter {arg.arg!r} has no type")
        ptype = parse_type(arg.annotation, space, HOST_PARAM if host else PARAM, fail)
        assert ptype is not None, "only results may be None"
        default: Any = NO_DEFAULT
        if default_node is not None:
            try:
                default = ast.literal_eval(default_node)
            except ValueError:
                raise fail(f"default of {arg.arg!r} is not a Python literal") from None
            try:
                ptype.converter(f"default of {arg.arg!r}")(default)
            except (TypeError, OverflowError, ValueError) as exc:
                raise fail(str(exc)) from None
        params.append(Param(arg.arg, ptype, default, kind))
    result = parse_type(fn.returns, space, RESULT, fail) if fn.returns is not None else None
    return Signature(tuple(params), result, text)
