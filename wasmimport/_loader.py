"""The loader: reads a ``.wasm``/``.wat`` file and its sidecar manifest, builds the module.

It reads through the archive when the module lives in a zip (``zipimport`` or a wheel on
``sys.path``), never through the filesystem, so zip imports need no extraction.  Like a
multi-phase extension module, every ``exec_module`` makes a new instance.
"""

from __future__ import annotations

import os

from ._errors import WasmImportError
from ._manifest import Manifest, manifest_from_mapping, parse_manifest
from ._module import COMPONENT_HEADER, build_module
from .backends import get_backend

TYPE_CHECKING = False
if TYPE_CHECKING:
    import importlib.machinery
    import types
    import zipimport
    from collections.abc import Mapping
    from importlib.abc import Loader as _Loader
    from typing import Any

    from .component import ComponentManifest
else:
    _Loader = object   # importlib.abc costs milliseconds to import; mypy sees the real base

SIDECAR_SUFFIX = ".toml"


class WasmLoader(_Loader):
    """Loads one wasm module file (``path``), optionally from inside ``archive``.

    A loader in the sense of PEP 451 (``create_module``/``exec_module``) plus the
    ``ResourceLoader``/``ExecutionLoader`` methods; it does not subclass ``importlib.abc``
    because importing that costs several milliseconds of every warm import.
    """

    def __init__(self, fullname: str, path: str, *, archive: zipimport.zipimporter | None = None,
                 backend: str | None = None, data: bytes | None = None,
                 manifest: Manifest | _Given | None = None):
        self.name = fullname
        self.path = path
        self.archive = archive
        self.backend = backend
        self._data = data            # set by wasmimport.load() for in-memory modules
        self._manifest = manifest    # an explicit manifest wins over sidecar and embedded

    def __repr__(self) -> str:
        return f"<WasmLoader {self.name!r} from {self.path!r}>"

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None   # a plain module object; exec_module fills it

    def exec_module(self, module: types.ModuleType) -> None:
        data = self._data if self._data is not None else self.get_data(self.path)
        given = self._manifest if self._manifest is not None else self._sidecar()
        manifest = given.parsed(data) if isinstance(given, _Given) else given
        build_module(module, data, self.path, manifest, get_backend(self.backend),
                     None if self._data is not None else self.get_data)

    def _sidecar(self) -> _Given | None:
        if self._data is not None:
            return None
        path = self.path + SIDECAR_SUFFIX
        try:
            return _Given(self.get_data(path), path)
        except OSError:
            return None

    def get_filename(self, fullname: str | None = None) -> str:
        return self.path

    def get_data(self, path: str) -> bytes:
        """Bytes of ``path``, read through the zip archive when there is one."""
        if self.archive is not None:
            return self.archive.get_data(path)
        with open(path, "rb") as f:
            return f.read()

    def is_package(self, fullname: str) -> bool:
        return False

    def get_code(self, fullname: str) -> None:
        return None

    def get_source(self, fullname: str) -> None:
        return None


class _Given:
    """A manifest's TOML (or its table), parsed once the module's bytes say which schema it
    has: a component's names its imports by WIT name, a core module's by module and field."""

    __slots__ = ("value", "source")

    def __init__(self, value: dict[str, Any] | str | bytes, source: str):
        self.value = value
        self.source = source

    def parsed(self, data: bytes) -> Manifest | ComponentManifest:
        value, source = self.value, self.source
        if data[4:8] == COMPONENT_HEADER:
            from .component import component_manifest, parse_component_manifest
            return component_manifest(value, source) if isinstance(value, dict) \
                else parse_component_manifest(value, source)
        return manifest_from_mapping(value, source) if isinstance(value, dict) \
            else parse_manifest(value, source)


def _manifest_argument(manifest: Any) -> Manifest | _Given | None:
    if manifest is None or isinstance(manifest, Manifest):
        return manifest
    if isinstance(manifest, dict):
        return _Given(manifest, "<manifest argument>")
    if isinstance(manifest, os.PathLike):
        path = os.fspath(manifest)
        with open(path, "rb") as f:
            return _Given(f.read(), str(path))
    if isinstance(manifest, (str, bytes)):
        return _Given(manifest, "<manifest argument>")
    raise TypeError("manifest must be a dict, TOML text (str) or a pathlib.Path, "
                    f"not {type(manifest).__name__}")


def load(source: str | os.PathLike[str] | bytes | bytearray | memoryview, name: str | None = None,
         manifest: Mapping[str, Any] | str | os.PathLike[str] | None = None,
         backend: str | None = None) -> types.ModuleType:
    """Load a wasm module without the import hook and return it.

    ``source`` is a path to a ``.wasm``/``.wat`` file (its sidecar manifest is used) or the
    module's bytes.  ``manifest`` overrides the sidecar or embedded manifest: a dict, TOML
    text, or a ``pathlib.Path`` to a TOML file.  The module is not added to ``sys.modules``.
    """
    explicit = _manifest_argument(manifest)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        default_name = os.path.basename(path).partition(".")[0]
        loader = WasmLoader(name or default_name, path, backend=backend, manifest=explicit)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name = name or "wasm_module"
        loader = WasmLoader(name, f"<{name}>", backend=backend, data=bytes(source),
                            manifest=explicit)
    else:
        raise TypeError("load() source must be a path or bytes, not "
                        f"{type(source).__name__}")
    if not loader.name.replace(".", "_").isidentifier():
        raise WasmImportError(f"load(): module name {loader.name!r} is not a valid module name",
                              path=loader.path)
    # importlib.util's own functions; importing importlib.util costs ~5 ms (contextlib...)
    import _frozen_importlib
    spec = _frozen_importlib.spec_from_loader(loader.name, loader, origin=loader.path)
    assert spec is not None
    spec.has_location = loader._data is None
    module = _frozen_importlib.module_from_spec(spec)
    loader.exec_module(module)
    return module
