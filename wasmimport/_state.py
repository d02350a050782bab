"""``__wasmimport__``: what a wasm module was built from, kept on the Python module.

Its own module so that both ways of building one -- the core path (``_module``) and
wasmtime's component runtime (``component._runtime``) -- can make it without importing each
other.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._manifest import Manifest
    from ._plan import ModulePlan
    from .backends import CompiledModule, Instance, Memory


class ModuleState:
    """Kept on the module as ``__wasmimport__``: what it was built from, for introspection."""

    __slots__ = ("origin", "backend", "manifest", "plan", "compiled", "instance", "memories")

    @property
    def stdout(self) -> bytes:
        """What the guest wrote to stdout, with ``[wasi] stdout = "capture"``."""
        return self.instance.captured("stdout")

    @property
    def stderr(self) -> bytes:
        """What the guest wrote to stderr, with ``[wasi] stderr = "capture"``."""
        return self.instance.captured("stderr")

    def __init__(self, origin: str, backend: str, manifest: Manifest | None, plan: ModulePlan,
                 compiled: CompiledModule, instance: Instance):
        self.origin = origin
        self.backend = backend
        self.manifest = manifest
        self.plan = plan
        self.compiled = compiled
        self.instance = instance
        self.memories: dict[str, Memory] = {}
