"""The pyguest component (pyguest.wit), in Python: componentize-py builds it.

Not imported by the test suite's Python: componentize-py's bindings (wit_world) exist only
inside the component.  See tests/guests/Makefile (pyguest) for the build.
"""

import wit_world  # type: ignore[import-not-found]


class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
    def greet(self, name: str) -> str:
        return f"Hello, {name}!"

    def describe(self, p: "wit_world.Person") -> str:
        return f"{p.name} ({p.age})"

    def oldest(self, people: "list[wit_world.Person]") -> "wit_world.Person | None":
        return max(people, key=lambda p: p.age, default=None)
