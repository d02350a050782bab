"""A component's sidecar manifest: ``[imports]`` by WIT name, ``[wasi]`` and ``[limits]``.

Its functions and types come from the WIT, so it has no ``[functions]``, ``[types]`` or
``[abi]``; ``[imports]`` maps each WIT import to Python::

    [imports]
    log = "hostside:log"                          # a function: a callable
    "demo:host/clock@0.1.0" = "hostside.clock"    # an interface: a module (or object)
"""

from __future__ import annotations

import os
from typing import Any

from .._errors import ManifestError, WasmImportError
from .._manifest import Manifest, _toml, manifest_from_mapping, python_name

_KEYS = {"imports", "wasi", "limits"}


class ComponentManifest:
    """What a component's manifest says: Python for its imports, its grants and limits."""

    __slots__ = ("source", "imports", "core")

    def __init__(self, source: str, imports: dict[str, str], core: Manifest):
        self.source = source
        self.imports = imports     # WIT import name -> "pkg.mod:attr" or "pkg.mod"
        self.core = core           # the [wasi] and [limits], as a core manifest has them


def parse_component_manifest(text: str | bytes, source: str) -> ComponentManifest:
    """Parse a component's manifest TOML; errors name ``source``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"{source}: manifest is not UTF-8 ({exc.reason})") from None
    return component_manifest(_toml(text, source), source)


def component_manifest(data: dict[str, Any], source: str) -> ComponentManifest:
    """Validate an already-parsed component manifest."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ManifestError(f"{source}: a component's manifest has no "
                            f"{', '.join(f'[{k}]' for k in unknown)} (its functions and "
                            "types come from its WIT); it may hold [imports], [wasi] and "
                            "[limits]")
    imports = data.get("imports", {})
    if not isinstance(imports, dict):
        raise ManifestError(f"{source}: [imports] must be a table of WIT import names")
    for name, value in imports.items():
        if not isinstance(value, str) or not python_name(value):
            raise ManifestError(f"{source}: [imports] {name!r} must name Python as "
                                f"\"package.module:attribute\" or \"package.module\", not "
                                f"{value!r}")
    core = manifest_from_mapping({k: v for k, v in data.items() if k != "imports"}, source)
    return ComponentManifest(source, dict(imports), core)


def python_for(spec: str, attribute: str | None) -> str:
    """The ``module:attr`` of one function: the import's own spec, or a member of the
    interface's module or object."""
    if attribute is None:
        return spec
    return f"{spec}.{attribute}" if ":" in spec else f"{spec}:{attribute}"


# The WASI 0.2 packages wasmtime's WASI implements (http is refused, sockets denied): the
# grants of [wasi] serve them.  Any other ``wasi:`` package (wasi:logging, wasi:keyvalue, ...)
# is a proposal no runtime here implements, an import like any other, for [imports].
_WASI_P2 = {"wasi:cli", "wasi:clocks", "wasi:filesystem", "wasi:http", "wasi:io",
            "wasi:random", "wasi:sockets"}


def is_wasi(name: str) -> bool:
    """Whether the import ``name`` (``wasi:io/streams@0.2.6``) is WASI 0.2 that [wasi]
    grants, rather than an interface the manifest's [imports] must provide."""
    return name.partition("/")[0] in _WASI_P2


def wasi_not_granted(origin: str, imports: list[str]) -> WasmImportError:
    """The error of a component that imports WASI (``imports``: its import names) while its
    manifest has no ``[wasi]`` table: default-deny, naming the WASI packages."""
    packages = ", ".join(sorted({name.partition("/")[0] for name in imports
                                 if is_wasi(name)}))
    return WasmImportError(f"{origin}: the component uses WASI ({packages}), which is granted "
                           "only by a [wasi] table in its manifest "
                           f"({os.path.basename(origin)}.toml); see docs/sandbox.md",
                           path=origin)


def not_provided(origin: str, missing: list[str]) -> WasmImportError:
    """The error of a component whose imports (``missing``: "  name member: type" lines)
    its manifest's ``[imports]`` does not provide."""
    return WasmImportError(f"{origin}: the component imports what its manifest's [imports] "
                           "does not provide:\n" + "\n".join(missing), path=origin)
