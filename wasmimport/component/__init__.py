"""WebAssembly components, typed by their own WIT (SPEC section 8).

``_decode`` reads the component binary into its exports and WIT types (``_wit``);
``_lower`` turns a component made from one core module into that module plus a manifest,
so it runs on the core path.  Imported only when an import meets a component.
"""

from __future__ import annotations

import types
from typing import Any

from .._errors import ManifestError, WasmImportError
from .._manifest import Limits, Manifest, manifest_from_mapping
from .._wasmbin import WasmFormatError
from ._decode import Component, decode, is_component
from ._lower import Lowered, Unlowerable, lower, place_types
from ._manifest import (
    ComponentManifest,
    component_manifest,
    not_provided,
    parse_component_manifest,
    python_for,
    wasi_not_granted,
)
from ._wit import snake

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..backends import Backend

__all__ = ["ComponentManifest", "RuntimeNeeded", "as_core", "component_manifest",
           "is_component", "parse_component_manifest"]


class RuntimeNeeded(Exception):
    """The component does not run as one core module (``reason`` says why): wasmtime's
    component runtime runs it (``_runtime``)."""

    def __init__(self, component: Component, manifest: ComponentManifest | None, reason: str):
        super().__init__(reason)
        self.component, self.manifest, self.reason = component, manifest, reason

    def build(self, module: types.ModuleType, data: bytes, origin: str, backend: Backend
              ) -> None:
        """Compile, instantiate and bind the component into ``module`` on that runtime."""
        self._check(origin, backend)
        from ._runtime import build
        build(module, self.component, data, origin, self.manifest, self.reason, backend)

    def compile(self, data: bytes, origin: str, backend: Backend) -> None:
        """Compile the component into the cache, as an import does."""
        self._check(origin, backend)
        from ._runtime import compile_component, runtime
        limits = self.manifest.core.limits if self.manifest is not None else Limits()
        compile_component(runtime(backend, limits, origin), data, origin)

    def _check(self, origin: str, backend: Backend) -> None:
        if backend.name != "wasmtime":
            raise WasmImportError(f"{origin}: this component does not run as one core module "
                                  f"({self.reason}), so it needs wasmtime's component "
                                  f"runtime: the wasmtime backend, not {backend.name}",
                                  path=origin)


def as_core(data: bytes, origin: str, manifest: Manifest | ComponentManifest | None
            ) -> tuple[bytes, Manifest, Arrangement]:
    """The core module that runs the component in ``data``, its manifest (the WIT's
    functions and types, with ``manifest``'s [wasi] and [limits]), and the function that
    arranges the populated module as the WIT says."""
    try:
        component = decode(data)
    except WasmFormatError as exc:
        raise WasmImportError(f"{origin}: not a valid component: {exc}", path=origin) from None
    if isinstance(manifest, Manifest):    # load(manifest=...): the core schema
        if manifest.functions or manifest.imports or manifest.types.declared:
            raise ManifestError(f"{manifest.source}: a component's manifest may only hold "
                                "[imports] (by WIT name), [wasi] and [limits]: its "
                                "functions and types come from its WIT", path=origin)
        manifest = ComponentManifest(manifest.source, {}, manifest)
    try:
        lowered = lower(component, data)
    except Unlowerable as exc:
        raise RuntimeNeeded(component, manifest, str(exc)) from None
    given = manifest.imports if manifest is not None else {}
    missing = []
    for module, name, wit_name, attribute, wit_type in lowered.imports:
        spec = given.get(wit_name)
        entry = lowered.table["imports"][module][name]
        if spec is None:
            member = "" if name == wit_name else f" {name}"   # a member of an interface
            missing.append(f"  {wit_name}{member}: {wit_type}")
        else:
            entry["python"] = python_for(spec, None if attribute == snake(wit_name)
                                         else attribute)
    if missing:
        raise not_provided(origin, missing)
    if lowered.wasi and (manifest is None or manifest.core.wasi is None):
        raise wasi_not_granted(origin, [i.name for i in component.imports])
    typed = manifest_from_mapping(lowered.table, f"{origin} (its WIT)")
    if manifest is not None:
        typed.wasi, typed.limits = manifest.core.wasi, manifest.core.limits

    return lowered.core, typed, Arrangement(lowered)


class Arrangement:
    """Where a component's functions and types go (its WIT's layout, from ``Lowered``);
    called with the populated module, it arranges it so."""

    def __init__(self, lowered: Lowered):
        self.types = lowered.types
        self.functions = lowered.functions
        self.interfaces = lowered.interfaces
        self.docs = lowered.docs

    def __call__(self, module: types.ModuleType) -> None:
        """Move each type to its interface under its WIT name, with the WIT's docs; show
        only the WIT's names."""
        namespace = module.__dict__
        public = {py for (space, py) in self.functions.values() if space is None}
        classes = {key: namespace.pop(key) for key in self.types}
        public |= place_types(module, classes, self.types, self.interfaces, self.docs)
        _show_only(module, public)


def _show_only(module: types.ModuleType, public: set[str]) -> None:
    """Let the module show ``public`` and its interfaces, not the core module's names."""
    namespace = module.__dict__
    public.update(n for n in module.__all__   # the interfaces (``shapes``)
                  if isinstance(namespace.get(n), types.SimpleNamespace))
    core_getattr = namespace["__getattr__"]

    def __getattr__(attr: str) -> Any:
        if attr in public:
            return core_getattr(attr)
        raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")

    def __dir__() -> list[str]:
        return sorted({*public, *(k for k in namespace if k.startswith("__"))})

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
    module.__all__ = sorted(public)  # type: ignore[attr-defined]
