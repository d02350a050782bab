"""What an import works out from the files before compiling, remembered across processes.

For a module's bytes and its manifest an import reads the binary's sections, finds the
embedded manifest when no other is given, checks the manifest against the exports and plans
every binding (``_plan``), and notes the C stack pointer.  That work grows with the number of
exports (tens of milliseconds for thousands of them), and its result is the same whenever the
same bytes meet the same manifest: so it is kept in the cache (``_cache.remembered``), keyed
by the digest of the bytes, the manifest's plain form, the engine and ``FORMAT``, and a warm
import reads it back instead of reading the binary at all.  A cold import goes through the
same plain form, so both build the same module.  Nothing is remembered of a module that
fails: its errors are found again, in the same order, at every import.
"""

from __future__ import annotations

from . import _cache
from ._errors import BackendError, ManifestError, WasmImportError
from ._manifest import EMBEDDED_SECTION, from_plain, parse_manifest, to_plain
from ._plan import ModulePlan, plan_module
from ._wasmbin import WasmFormatError, is_wasm_binary, read_module, with_export

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._manifest import Manifest
    from ._wasmbin import ModuleInfo
    from .backends import Backend

# Bump when the remembered form, or anything planning decides, changes: it is in the key.
FORMAT = 4

# C guests keep their stack in linear memory below the mutable global ``__stack_pointer``.
# A trap skips the epilogues that would restore it, so each trap would leak the trapped
# frames until the stack is gone.  wasmimport exports that global under this name and puts
# back, after every trap, the value it had between calls.
STACK_POINTER_EXPORT = "__wasmimport_stack_pointer"
# How ``prepare`` changes a module, named in the keys of its compiled code and of its facts:
# bump it when the binary ``prepare`` makes changes.
PREPARED = b"\0prepared: stack pointer export 1"


class Facts:
    """The plan of a module with its manifest (given or embedded), and whether the compiled
    binary exports the stack pointer, with the code's move that caused (see ``prepare``)."""

    __slots__ = ("plan", "manifest", "stack_pointer", "moved")

    def __init__(self, plan: ModulePlan, manifest: Manifest | None, stack_pointer: bool,
                 moved: tuple[int, int]):
        self.plan = plan
        self.manifest = manifest
        self.stack_pointer = stack_pointer
        self.moved = moved


def module_facts(data: bytes, digest: bytes, origin: str, manifest: Manifest | None,
                 backend: Backend) -> tuple[Facts, bytes | None]:
    """The facts of ``data`` (whose sha256 is ``digest``) with ``manifest`` (None: the
    embedded one, if any), and the binary to compile when it was prepared just now.

    Raises what a cold import raises (WasmImportError, ManifestError), remembering nothing.
    """
    prepared: list[bytes] = []

    def build() -> tuple[object, ...]:
        wasm, info, moved = prepare(data, origin, backend)
        found = manifest if manifest is not None else read_manifest(info, origin)
        plan = plan_module(info, found, origin)
        prepared.append(wasm)
        embedded = to_plain(found) if manifest is None and found is not None else None
        return (embedded, info.stack_pointer is not None, moved, plan.to_plain())

    given = b"embedded" if manifest is None else repr(to_plain(manifest)).encode()
    # the stack pointer's move is a fact of the prepared binary: PREPARED is in the key too
    source = b"\0".join((digest, PREPARED, backend.cache_tag.encode(), given))
    embedded, stack_pointer, moved, plan = _cache.remembered(
        f"plan-{FORMAT}", source, build, _cache.PLAN_SUFFIX)
    if embedded is not None:
        manifest = from_plain(embedded, f"{origin} (embedded manifest)")
    facts = Facts(ModulePlan.from_plain(plan, manifest), manifest, stack_pointer, moved)
    return facts, prepared[0] if prepared else None


def read_manifest(info: ModuleInfo, origin: str) -> Manifest | None:
    """The manifest embedded in the module's ``wasmimport`` custom section, if any."""
    embedded = info.custom(EMBEDDED_SECTION)
    if len(embedded) > 1:
        raise ManifestError(f"{origin}: has {len(embedded)} {EMBEDDED_SECTION!r} custom "
                            "sections; expected at most one")
    if embedded:
        return parse_manifest(embedded[0], f"{origin} (embedded manifest)")
    return None


def prepare(data: bytes, origin: str, backend: Backend
            ) -> tuple[bytes, ModuleInfo, tuple[int, int]]:
    """The binary to compile for ``data`` (wasm or wat), what it exports, and how its code
    moved: (offset, bytes) -- what lies at or after ``offset`` in the binary lay ``bytes``
    earlier in the module as given.

    The binary is the module plus an export of its C stack pointer, when it has one; the
    import hook and ``python -m wasmimport compile`` both compile exactly these bytes.
    """
    if is_wasm_binary(data):
        wasm = data
    elif "wat" in backend.limitations:
        raise WasmImportError(f"{origin}: not a wasm binary; text (wat) is not supported by "
                              f"the {backend.name} backend ({backend.limitations['wat']})",
                              path=origin)
    else:
        try:
            wasm = backend.wat2wasm(data.decode("utf-8"))
        except (UnicodeDecodeError, BackendError) as exc:
            raise WasmImportError(f"{origin}: neither a wasm binary nor valid wasm text: "
                                  f"{exc}", path=origin) from None
    try:
        info = read_module(wasm)
    except WasmFormatError as exc:
        try:
            backend.validate(wasm)   # the engine's diagnosis is the more precise one
        except BackendError as invalid:
            raise WasmImportError(f"{origin}: not a valid wasm module: {invalid}",
                                  path=origin) from None
        raise WasmImportError(f"{origin}: {exc}", path=origin) from None
    moved = (0, 0)
    if info.stack_pointer is not None:
        exported, boundary = with_export(wasm, STACK_POINTER_EXPORT, "global",
                                         info.stack_pointer)
        wasm, moved = exported, (boundary, len(exported) - len(wasm))
    return wasm, info, moved
