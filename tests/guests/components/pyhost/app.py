"""The pyhost component (pyhost.wit), in Python: componentize-py builds it; its imports are
the host's (the manifest's [imports] in the tests).

Not imported by the test suite's Python: componentize-py's bindings (wit_world) exist only
inside the component.  See tests/guests/Makefile (pyhost) for the build.
"""

import wit_world  # type: ignore[import-not-found]
from componentize_py_types import Err  # type: ignore[import-not-found]
from wit_world.imports import host  # type: ignore[import-not-found]


class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
    def work(self, n: int) -> int:
        total = host.add(n, 1)
        wit_world.log(f"work({n}) = {total}")
        return int(total)

    def hello(self, name: str) -> str:
        return str(host.greeting(name)).upper()

    def located(self, text: str, word: str) -> str:
        at = host.find(text, word)
        if at is None:
            return "absent"
        return f"{host.excerpt(text, at)} at {at.start}+{at.len}"

    def cased(self, word: str) -> str:
        return str(host.case_of(word).name.lower())

    def parsed(self, text: str) -> str:
        try:
            return f"ok {host.parse(text)}"
        except Err as err:
            return f"err {err.value}"
