"""The store component's world (../store.wit), in Python: componentize-py builds it, so it
runs on wasmtime's component runtime, where the C store component (store.c) runs as one core
module.  The resource it imports, ``tally``, is the host's (a Python class the manifest's
[imports] names); ``__exit__`` is the guest's drop of its handle.

Not imported by the test suite's Python: componentize-py's bindings (wit_world) exist only
inside the component.  See tests/guests/Makefile (pystore) for the build.
"""

import wit_world  # type: ignore[import-not-found]
from wit_world.imports import tallies  # type: ignore[import-not-found]

_held: list[tallies.Tally] = []


class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
    def run(self, start: int, n: int) -> int:
        t = tallies.Tally(start)
        for _ in range(3):
            t.add(n)
        with tallies.Tally.big() as big:
            t.add(big.total())
        return int(tallies.consume(t))      # t moves to the host: no drop here

    def hold(self, t: tallies.Tally) -> None:
        while _held:
            _held.pop().__exit__(None, None, None)
        _held.append(t)

    def release_held(self) -> int:
        t = _held.pop()                      # nothing held: IndexError, a trap
        with t:
            return int(t.total())

    def peek(self, t: tallies.Tally, keep: bool) -> int:
        # componentize-py's bindings drop a borrowed handle when the export returns (a
        # `with t:` here would drop it twice); with `keep`, the kept object is dead after
        if keep:
            _held.append(t)
        return int(t.total())

    def regift(self, t: tallies.Tally) -> int:
        return int(tallies.consume(t))       # a borrow passed as own: wasmtime traps
