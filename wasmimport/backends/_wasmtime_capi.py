"""The few libwasmtime C API functions wasmimport uses, declared with ctypes.

The wasmtime wheel ships ``libwasmtime`` inside the ``wasmtime`` package.  Importing that
package (wasmtime-py) declares thousands of C functions and costs more than everything else
in a warm import together, so wasmimport finds the library file without importing the package
and declares only what it calls.  Declarations follow ``wasmtime.h``/``wasm.h`` of the 50.x
series (pinned in pyproject.toml); opaque types are plain ``void *``, and the two structures
whose contents are read (``wasmtime_extern_t``, ``wasmtime_val_t``) get buffers larger than
the real ones, reading only their documented leading fields.

Two handles on the same library: ``gil`` (``ctypes.PyDLL``) keeps the GIL held during the call,
for wasm calls that must behave like C extension code; ``nogil`` (``ctypes.CDLL``) releases it,
for compiling, which takes long and touches no Python object.
"""

from __future__ import annotations

import _frozen_importlib_external
import ctypes
import os
import sys
from ctypes import POINTER, c_bool, c_char_p, c_size_t, c_uint8, c_uint32, c_void_p

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LIB_NAMES = {"linux": "_libwasmtime.so", "android": "_libwasmtime.so",
             "darwin": "_libwasmtime.dylib", "win32": "_wasmtime.dll"}
_MACHINES = {"AMD64": "x86_64", "arm64": "aarch64", "ARM64": "aarch64"}


def machine() -> str:
    """The CPU architecture as wasmtime names its library folders (x86_64, aarch64)."""
    if hasattr(os, "uname"):
        name = os.uname().machine
    else:  # pragma: no cover - Windows
        import platform
        name = platform.machine()
    return _MACHINES.get(name, name)


def library_path() -> str:
    """Where the installed wasmtime wheel keeps its shared library."""
    # without importing it; importlib.machinery's PathFinder, whose package costs an import
    spec = _frozen_importlib_external.PathFinder.find_spec("wasmtime")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the wasmtime package is not installed: pip install 'wasmtime>=50,<51'")
    system = "android" if hasattr(sys, "getandroidapilevel") else sys.platform
    if system not in LIB_NAMES:
        raise ImportError(f"wasmtime has no library for platform {system!r}")
    folder = os.path.join(spec.submodule_search_locations[0], f"{system}-{machine()}")
    path = os.path.join(folder, LIB_NAMES[system])
    if not os.path.exists(path):
        raise ImportError(f"wasmtime's shared library is missing: {path}")
    return path


# wasm_byte_vec_t (also wasm_name_t, wasm_message_t) and wasm_frame_vec_t: {size, data}, as
# two pointer-sized words -- an array type, not a ctypes.Structure, whose first definition
# imports warnings on Python 3.14 (ctypes._layout), a millisecond of every warm import.
Vec = c_size_t * 2


def take(vec: Any) -> bytes:
    """The contents of a ``wasm_byte_vec_t`` as bytes; frees the vector."""
    size, data = vec
    value = ctypes.string_at(data, size) if size else b""
    nogil.wasm_byte_vec_delete(ctypes.byref(vec))
    return value


# wasmtime_extern_t: uint8 kind, then the union at offset 8 (its members start with a u64).
EXTERN_SIZE = 64
EXTERN_UNION_OFFSET = 8
EXTERN_KINDS = {0: "func", 1: "global", 2: "table", 3: "memory", 4: "sharedmemory", 5: "tag"}
# wasmtime_val_t: uint8 kind, then the union at offset 8 (i32 / i64 / f32 / f64 first).
VAL_SIZE = 64
VAL_UNION_OFFSET = 8
VAL_I32 = 0

TRAP_KINDS = (
    "stack_overflow", "memory_out_of_bounds", "heap_misaligned", "table_out_of_bounds",
    "indirect_call_to_null", "bad_signature", "integer_overflow", "integer_division_by_zero",
    "bad_conversion_to_integer", "unreachable", "interrupt", "out_of_fuel",
    "atomic_wait_non_shared_memory", "null_reference", "array_out_of_bounds",
    "allocation_too_large", "cast_failure",
)

_PATH = library_path()
nogil = ctypes.CDLL(_PATH)
gil = ctypes.PyDLL(_PATH)


def _declare(lib: ctypes.CDLL, name: str, restype: object, *argtypes: object) -> None:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = argtypes


_vp = c_void_p
for _lib in (nogil, gil):
    _declare(_lib, "wasmtime_func_call_unchecked", _vp, _vp, _vp, _vp, c_size_t, _vp)


def _call_unchecked(lib: type[ctypes.CDLL]) -> Any:
    """``wasmtime_func_call_unchecked`` with no argtypes, for the pure call path: called
    with ready-made ctypes objects, ctypes then converts nothing (a quarter faster)."""
    function = lib(_PATH).wasmtime_func_call_unchecked
    function.restype = c_void_p
    return function


call_gil = _call_unchecked(ctypes.PyDLL)
call_nogil = _call_unchecked(ctypes.CDLL)
_declare(nogil, "wasm_config_new", _vp)
_declare(nogil, "wasmtime_config_memory_may_move_set", None, _vp, c_bool)
_declare(nogil, "wasmtime_config_epoch_interruption_set", None, _vp, c_bool)
_declare(nogil, "wasmtime_config_consume_fuel_set", None, _vp, c_bool)
_declare(nogil, "wasmtime_config_signals_based_traps_set", None, _vp, c_bool)
_declare(nogil, "wasmtime_config_host_memory_creator_set", None, _vp, _vp)
_declare(nogil, "wasmtime_config_memory_init_cow_set", None, _vp, c_bool)
_declare(nogil, "wasmtime_engine_increment_epoch", None, _vp)
_declare(nogil, "wasmtime_store_limiter", None, _vp, ctypes.c_int64, ctypes.c_int64,
         ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)
_declare(nogil, "wasmtime_store_epoch_deadline_callback", None, _vp, _vp, _vp, _vp)
_declare(nogil, "wasmtime_context_set_epoch_deadline", None, _vp, ctypes.c_uint64)
_declare(nogil, "wasmtime_context_set_fuel", _vp, _vp, ctypes.c_uint64)
_declare(nogil, "wasmtime_error_new", _vp, c_char_p)
_declare(nogil, "wasmtime_trap_new", _vp, c_char_p, c_size_t)
_declare(nogil, "wasm_valtype_new", _vp, c_uint8)
_declare(nogil, "wasm_valtype_vec_new", None, _vp, c_size_t, _vp)
_declare(nogil, "wasm_functype_new", _vp, _vp, _vp)
_declare(nogil, "wasm_functype_delete", None, _vp)
_declare(nogil, "wasmtime_linker_new", _vp, _vp)
_declare(nogil, "wasmtime_linker_delete", None, _vp)
_declare(nogil, "wasmtime_linker_define_func_unchecked", _vp, _vp, c_char_p, c_size_t, c_char_p,
         c_size_t, _vp, _vp, _vp, _vp)
_declare(gil, "wasmtime_linker_instantiate", _vp, _vp, _vp, _vp, _vp, POINTER(_vp))

VALKINDS = {"i32": 0, "i64": 1, "f32": 2, "f64": 3}


def functype(params: tuple[str, ...], results: tuple[str, ...]) -> int:
    """A new ``wasm_functype_t`` (the caller deletes it)."""
    def vec(kinds: tuple[str, ...]) -> Any:
        types = (c_void_p * max(len(kinds), 1))(*[nogil.wasm_valtype_new(VALKINDS[k])
                                                   for k in kinds])
        out = Vec()                       # a wasm_valtype_vec_t
        nogil.wasm_valtype_vec_new(ctypes.byref(out), len(kinds), types)   # owns the types
        return out
    result: int = nogil.wasm_functype_new(ctypes.byref(vec(params)), ctypes.byref(vec(results)))
    return result
_declare(nogil, "wasm_engine_new_with_config", _vp, _vp)
_declare(nogil, "wasm_engine_delete", None, _vp)
_declare(nogil, "wasmtime_module_new", _vp, _vp, c_char_p, c_size_t, POINTER(_vp))
_declare(nogil, "wasmtime_module_delete", None, _vp)
_declare(nogil, "wasmtime_module_validate", _vp, _vp, c_char_p, c_size_t)
_declare(nogil, "wasmtime_module_serialize", _vp, _vp, _vp)
_declare(nogil, "wasmtime_module_deserialize_file", _vp, _vp, c_char_p, POINTER(_vp))
_declare(nogil, "wasm_byte_vec_delete", None, _vp)
_declare(nogil, "wasmtime_store_new", _vp, _vp, _vp, _vp)
_declare(nogil, "wasmtime_store_context", _vp, _vp)
_declare(nogil, "wasmtime_store_delete", None, _vp)
_declare(gil, "wasmtime_instance_new", _vp, _vp, _vp, _vp, c_size_t, _vp, POINTER(_vp))
_declare(nogil, "wasmtime_instance_export_get", c_bool, _vp, _vp, c_char_p, c_size_t, _vp)
_declare(nogil, "wasmtime_memory_data", _vp, _vp, _vp)
_declare(nogil, "wasmtime_memory_data_size", c_size_t, _vp, _vp)
_declare(nogil, "wasmtime_global_get", None, _vp, _vp, _vp)
_declare(nogil, "wasmtime_global_set", _vp, _vp, _vp, _vp)
_declare(nogil, "wasmtime_error_message", None, _vp, _vp)
_declare(nogil, "wasmtime_error_delete", None, _vp)
_declare(nogil, "wasmtime_error_wasm_trace", None, _vp, _vp)
_declare(nogil, "wasmtime_error_exit_status", c_bool, _vp, POINTER(ctypes.c_int))
_declare(nogil, "wasi_config_new", _vp)
_declare(nogil, "wasi_config_set_argv", c_bool, _vp, c_size_t, _vp)
_declare(nogil, "wasi_config_set_env", c_bool, _vp, c_size_t, _vp, _vp)
_declare(nogil, "wasi_config_inherit_stdin", None, _vp)
_declare(nogil, "wasi_config_inherit_stdout", None, _vp)
_declare(nogil, "wasi_config_inherit_stderr", None, _vp)
_declare(nogil, "wasi_config_set_stdout_file", c_bool, _vp, c_char_p)
_declare(nogil, "wasi_config_set_stderr_file", c_bool, _vp, c_char_p)
_declare(nogil, "wasi_config_preopen_dir", c_bool, _vp, c_char_p, c_char_p, c_bool)
_declare(nogil, "wasmtime_context_set_wasi", _vp, _vp, _vp)
_declare(nogil, "wasmtime_linker_define_wasi", _vp, _vp)


def exit_status(error: int) -> int | None:
    """The status of a WASI ``proc_exit`` carried by ``error`` (not freed), else None."""
    status = ctypes.c_int()
    return status.value if nogil.wasmtime_error_exit_status(error, ctypes.byref(status)) \
        else None


def strings(values: list[str] | tuple[str, ...]) -> Any:
    """A ``const char *[]`` of UTF-8 strings (keep it alive while it is used)."""
    return (c_char_p * max(len(values), 1))(*[v.encode("utf-8") for v in values])
_declare(nogil, "wasm_trap_message", None, _vp, _vp)
_declare(nogil, "wasmtime_trap_code", c_bool, _vp, POINTER(c_uint8))
_declare(nogil, "wasm_trap_trace", None, _vp, _vp)
_declare(nogil, "wasm_trap_delete", None, _vp)
_declare(nogil, "wasm_frame_vec_delete", None, _vp)
_declare(nogil, "wasm_frame_func_index", c_uint32, _vp)
_declare(nogil, "wasm_frame_module_offset", c_size_t, _vp)
_declare(nogil, "wasmtime_frame_func_name", _vp, _vp)
_declare(nogil, "wasmtime_frame_module_name", _vp, _vp)
_declare(nogil, "wasmtime_wat2wasm", _vp, c_char_p, c_size_t, _vp)


def address(function: Any) -> int:
    """The C address of a declared library function (for the compiled call path)."""
    return ctypes.cast(function, c_void_p).value or 0


def error_message(error: int) -> str:
    """The message of a ``wasmtime_error_t *``; frees the error."""
    vec = Vec()
    nogil.wasmtime_error_message(error, ctypes.byref(vec))
    nogil.wasmtime_error_delete(error)
    return take(vec).decode("utf-8", "replace")


def _name(name: int | None) -> str | None:
    """A borrowed ``wasm_name_t *`` as text (None for NULL)."""
    if not name:
        return None
    size, data = Vec.from_address(name)
    return ctypes.string_at(data, size).decode("utf-8", "replace")


Frame = tuple[str | None, str | None, int, int]     # module, function, index, offset


def trap_details(trap: int) -> tuple[str, str | None, list[Frame]]:
    """(message, kind, frames as (module, function, index, offset)) of a trap; frees it."""
    vec = Vec()
    nogil.wasm_trap_message(trap, ctypes.byref(vec))
    message = take(vec).rstrip(b"\0").decode("utf-8", "replace")
    code = c_uint8()
    kind = None
    if nogil.wasmtime_trap_code(trap, ctypes.byref(code)):
        kind = TRAP_KINDS[code.value] if code.value < len(TRAP_KINDS) else f"code_{code.value}"
    frames_vec = Vec()
    nogil.wasm_trap_trace(trap, ctypes.byref(frames_vec))
    frames = _frames(frames_vec)        # before the trap goes: the frames borrow from it
    nogil.wasm_trap_delete(trap)
    return message, kind, frames


def error_details(error: int) -> tuple[str, list[Frame]]:
    """(message, wasm frames) of a ``wasmtime_error_t *`` (from a host callback); frees it."""
    frames_vec = Vec()
    nogil.wasmtime_error_wasm_trace(error, ctypes.byref(frames_vec))
    frames = _frames(frames_vec)
    return error_message(error), frames


def _frames(frames_vec: Any) -> list[Frame]:
    """The frames of a ``wasm_frame_vec_t``; frees it."""
    size, data = frames_vec
    frames = []
    for frame in (c_void_p * size).from_address(data) if size else ():
        frames.append((_name(nogil.wasmtime_frame_module_name(frame)),
                       _name(nogil.wasmtime_frame_func_name(frame)),
                       nogil.wasm_frame_func_index(frame),
                       nogil.wasm_frame_module_offset(frame)))
    nogil.wasm_frame_vec_delete(ctypes.byref(frames_vec))
    return frames
