"""The pyres component (pyres.wit), in Python: componentize-py builds it.  The interface's
functions are here; its resource, by componentize-py's rule, in the module named after the
interface (counters.py).

Not imported by the test suite's Python: componentize-py's bindings (wit_world) exist only
inside the component.  See tests/guests/Makefile (pyres) for the build.
"""

import counters
import wit_world.exports  # type: ignore[import-not-found]


class Counters(wit_world.exports.Counters):  # type: ignore[misc]
    def total(self, a: counters.Counter, b: counters.Counter) -> int:
        return a.value() + b.value()

    def merge(self, a: counters.Counter, b: counters.Counter) -> counters.Counter:
        return counters.Counter(a.value() + b.value())    # a and b: now ours, let go
