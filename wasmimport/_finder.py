"""The finder: makes ``.wasm``/``.wat`` files importable with C-extension precedence.

Rather than a meta-path finder (which would look everywhere *before* ``sys.path`` order and
let ``./json.wasm`` hijack ``import json``), wasmimport adds path hooks: directories get a
``FileFinder`` whose loader list is the standard one with the wasm suffixes right after the
extension-module suffixes, and zip archives get a finder wrapping ``zipimporter``.  So the
first ``sys.path`` entry holding the name wins, a package directory beats a module file, and
inside one directory ``x.so`` > ``x.wasm`` > ``x.wat`` > ``x.py`` — exactly as for extensions.

One deliberate difference: a module of the standard library (one whose top-level package is
in ``sys.stdlib_module_names``) is never served by a wasm file, so a ``.wasm`` lying in the
current directory can never shadow the standard library.  Where the standard library is itself
a zip (Pyodide, Windows' embeddable Python, frozen apps), its modules are found by zipimport
alone, and so are whatever ``zipfile`` imports while the zip finder reads an archive with it.

``python -m wasmimport enable`` imports this module at every interpreter start, so it imports
nothing that start-up has not loaded already: the loader (and everything that builds a
module) is imported when a wasm file is actually found.  The import machinery's classes come
from ``_frozen_importlib_external``, which ``importlib.machinery`` re-exports: importing that
package imports ``warnings`` too, about a millisecond of start-up on Python 3.10-3.12.  (The
annotations are quoted for the same reason: ``from __future__ import annotations`` is an
import as well.)
"""

import _frozen_importlib as _bootstrap
import _frozen_importlib_external as _external
import _imp
import _thread
import os
import sys
import zipimport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.machinery import ModuleSpec
    from typing import Any

    from ._loader import WasmLoader

WASM_SUFFIXES = [".wasm", ".wat"]
_STDLIB = sys.stdlib_module_names
_PLAIN_DETAILS: "list[tuple[Any, list[str]]]" = [
    (_external.ExtensionFileLoader, _imp.extension_suffixes()),
    (_external.SourceFileLoader, _external.SOURCE_SUFFIXES),
    (_external.SourcelessFileLoader, _external.BYTECODE_SUFFIXES),
]


# Threads reading an archive with zipfile (WasmZipFinder._has): what they import meanwhile
# (zipfile itself, a codec, an audit hook's module) is left to zipimport, else it could start
# the same reading again, without end (zipimport likewise decompresses nothing while it
# imports zlib).
_reading: "set[int]" = set()


def _is_stdlib(fullname: str) -> bool:
    """Whether ``fullname`` is in the standard library: its top-level package is."""
    return fullname.partition(".")[0] in _STDLIB


def _toc(importer: "zipimport.zipimporter") -> "dict[str, Any] | None":
    """The table of contents zipimporter read from the archive (keys use ``os.sep``).

    It keeps it privately (``_get_files()`` from Python 3.13, ``_files`` before): None where
    neither is there.
    """
    files = getattr(importer, "_get_files", None)
    toc = files() if files is not None else getattr(importer, "_files", None)
    return toc if isinstance(toc, dict) else None


class WasmFileFinder(_external.FileFinder):
    """A FileFinder that also knows wasm suffixes, and never shadows the stdlib with them."""

    def find_spec(self, fullname: str, target: "Any" = None) -> "ModuleSpec | None":
        spec = super().find_spec(fullname, target)
        if spec is not None and _is_stdlib(fullname) and spec.origin is not None \
                and spec.origin.endswith(tuple(WASM_SUFFIXES)):
            return _external.FileFinder(self.path, *_PLAIN_DETAILS).find_spec(fullname, target)
        return spec


class WasmZipFinder:
    """Finds wasm modules inside a zip archive; defers everything else to zipimporter."""

    def __init__(self, path: str, backend: "str | None"):
        self._zip = zipimport.zipimporter(path)   # ZipImportError (an ImportError) if not a zip
        self._backend = backend
        self._names: frozenset[str] | None = None

    def __repr__(self) -> str:
        return f"<WasmZipFinder {self._zip.archive!r} prefix {self._zip.prefix!r}>"

    def _has(self, inner: str) -> bool:
        """Whether the archive holds ``inner`` (a path inside it, ``os.sep``-separated):
        from zipimporter's table of contents, or ``zipfile``'s reading where there is none."""
        toc = _toc(self._zip)
        if toc is not None:
            return inner in toc
        if self._names is None:
            _reading.add(_thread.get_ident())
            try:
                import zipfile
                with zipfile.ZipFile(self._zip.archive) as archive:
                    self._names = frozenset(name.replace("/", os.sep)
                                            for name in archive.namelist())
            finally:
                _reading.discard(_thread.get_ident())
        return inner in self._names

    def find_spec(self, fullname: str, target: "Any" = None) -> "ModuleSpec | None":
        spec = self._zip.find_spec(fullname, target)
        if spec is not None and spec.loader is not None and spec.submodule_search_locations:
            return spec   # a regular package directory wins, as on the filesystem
        if _is_stdlib(fullname) or (_reading and _thread.get_ident() in _reading):
            return spec   # as zipimport alone would find it (and without reading the archive)
        tail = fullname.rpartition(".")[2]
        for suffix in WASM_SUFFIXES:
            inner = self._zip.prefix + tail + suffix
            if self._has(inner):
                from ._loader import WasmLoader
                path = os.path.join(self._zip.archive, inner)
                loader = WasmLoader(fullname, path, archive=self._zip, backend=self._backend)
                found = _bootstrap.ModuleSpec(fullname, loader, origin=path)
                found.has_location = True
                return found
        return spec

    def invalidate_caches(self) -> None:
        self._names = None
        self._zip.invalidate_caches()


_hooks: "list[Callable[[str], Any]]" = []
_backend: "str | None" = None


def _forget_finders(kinds: "tuple[type, ...]") -> None:
    """Drop cached path finders of ``kinds`` so the next import re-runs the path hooks.

    Nothing else: ``importlib.invalidate_caches()`` would import ``importlib.metadata`` on
    Python 3.13, tens of milliseconds at every start-up of an enabled environment.
    """
    for key, finder in list(sys.path_importer_cache.items()):
        if isinstance(finder, kinds):
            del sys.path_importer_cache[key]


def _replacement(finder: "_external.FileFinder",
                 hook: "Callable[[str], Any]") -> "WasmFileFinder | None":
    """A WasmFileFinder for ``finder``'s directory (None if it is gone) that starts with the
    directory listing ``finder`` read (FileFinder's private cache, renewed as usual when the
    directory changes): at start-up the standard library's folders are listed already, and
    listing them again would cost an enabled environment's every start ~0.4 ms."""
    try:
        new: WasmFileFinder = hook(finder.path)
    except ImportError:
        return None
    for cached in ("_path_mtime", "_path_cache", "_relaxed_path_cache"):
        if hasattr(finder, cached):
            setattr(new, cached, getattr(finder, cached))
    return new


def install(backend: "str | None" = None) -> None:
    """Make ``import name`` find ``name.wasm``/``name.wat`` along sys.path.  Idempotent.

    ``backend`` picks the engine (default: ``$WASMIMPORT_BACKEND`` or wasmtime); calling
    again with another backend switches it for later imports.
    """
    global _backend
    if is_installed() and backend == _backend:
        return
    if _hooks:
        uninstall()

    def wasm_loader(fullname: str, path: str) -> "WasmLoader":
        from ._loader import WasmLoader
        return WasmLoader(fullname, path, backend=backend)

    def zip_hook(path: str) -> WasmZipFinder:
        return WasmZipFinder(path, backend)

    details = [_PLAIN_DETAILS[0], (wasm_loader, WASM_SUFFIXES), *_PLAIN_DETAILS[1:]]
    directory_hook = WasmFileFinder.path_hook(*details)
    _hooks[:] = [zip_hook, directory_hook]
    sys.path_hooks[0:0] = _hooks
    _backend = backend
    _forget_finders((zipimport.zipimporter,))
    for key, finder in list(sys.path_importer_cache.items()):
        if isinstance(finder, _external.FileFinder):
            sys.path_importer_cache[key] = _replacement(finder, directory_hook)


def uninstall() -> None:
    """Remove the import hook; modules already imported keep working.  Idempotent."""
    for hook in _hooks:
        while hook in sys.path_hooks:
            sys.path_hooks.remove(hook)
    _hooks.clear()
    _forget_finders((WasmFileFinder, WasmZipFinder))


def is_installed() -> bool:
    """True while the import hook is active."""
    return bool(_hooks) and all(hook in sys.path_hooks for hook in _hooks)
