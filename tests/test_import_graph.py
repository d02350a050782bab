"""wasmimport's own imports: ``import wasmimport`` loads nothing else, and its modules import
each other without cycles, lazy (function-level) imports included.

A cycle makes the import order matter and hides which layer depends on which (one went
``_backend`` -> ``_manifest`` -> ``_cache`` -> ``_backend``).  Imports under
``if TYPE_CHECKING:`` are for mypy only and never run, so they do not count.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "wasmimport"


def _runtime_imports(tree: ast.AST) -> list[ast.ImportFrom]:
    """Every relative ``from ... import`` that can run, at any depth."""
    found: list[ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(tree)
    return found


def _dotted(path: Path) -> str:
    """A module's name inside the package: ``_cache``, ``backends``, ``backends._wasmtime``
    (``""`` for the package itself)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports ("" for the package itself), subpackages
    included, relative imports of any level resolved."""
    sources = {_dotted(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(sources) | {_dotted(path) for path in PACKAGE.rglob("*.pyi")}  # C, too
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = graph[name] = set()
        for node in _runtime_imports(tree):
            base = package.split(".") if package else []
            base = base[:len(base) - (node.level - 1)]
            target = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is not None:
                edges.add(target)
            else:               # from . import x: a module, or a name of the package
                edges.update(f"{target}.{alias.name}".lstrip(".")
                             if f"{target}.{alias.name}".lstrip(".") in modules else target
                             for alias in node.names)
        edges &= modules
        edges.discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each module that is on a cycle (depth-first search)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def walk(node: str, stack: list[str]) -> None:
        if node in stack:
            found.append([*stack[stack.index(node):], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            walk(nxt, [*stack, node])
        done.add(node)
    for node in sorted(graph):
        walk(node, [])
    return found


def test_the_graph_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    graph = import_graph()
    assert "_manifest" in graph["backends._base"]    # inside Backend.configured
    assert "backends" not in graph["_cache"]         # only under TYPE_CHECKING there
    assert {"_errors", "backends._base", "backends._wasmtime_capi"} <= graph["backends._wasmtime"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles_among_wasmimport_modules() -> None:
    assert cycles(import_graph()) == []


SURFACE = """
import sys, wasmimport
print(sorted(m for m in sys.modules if m.startswith("wasmimport")))
missing = [name for name in wasmimport.__all__ if getattr(wasmimport, name, None) is None]
print(missing, sorted(set(wasmimport.__all__) - set(dir(wasmimport))))
print(wasmimport.install.__module__, wasmimport.Trap.__module__, wasmimport.__version__)
from wasmimport import load, CacheWarning
print(load.__module__, CacheWarning.__name__)
try:
    wasmimport.nothing_here
except AttributeError as exc:
    print(exc)
"""


def test_import_wasmimport_loads_only_the_package_and_every_public_name_resolves() -> None:
    done = subprocess.run([sys.executable, "-c", SURFACE], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.stderr == ""
    assert done.stdout.splitlines() == [
        "['wasmimport']", "[] []", "wasmimport._finder wasmimport 0.1.0",
        "wasmimport._loader CacheWarning",
        "module 'wasmimport' has no attribute 'nothing_here'"]
