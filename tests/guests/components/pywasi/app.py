"""The pywasi component (pywasi.wit), in Python: componentize-py builds it, with WASI 0.2
imported by the component itself (no --stub-wasi).

Not imported by the test suite's Python: componentize-py's bindings (wit_world) exist only
inside the component.  See tests/guests/Makefile (pywasi) for the build.
"""

import os
import sys

import wit_world  # type: ignore[import-not-found]
from componentize_py_types import Err  # type: ignore[import-not-found]


class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
    def env_var(self, name: str) -> "str | None":
        return os.environ.get(name)

    def read_file(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as exc:
            raise Err(f"{type(exc).__name__}: {exc.strerror}") from None

    def write_file(self, path: str, text: str) -> None:
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise Err(f"{type(exc).__name__}: {exc.strerror}") from None

    def say(self, text: str) -> None:
        print(text)
        sys.stdout.flush()

    def args(self) -> "list[str]":
        return list(sys.argv)

    def spin(self) -> None:
        while True:
            pass

    def hoard(self, mebibytes: int) -> int:
        return len(bytearray(mebibytes << 20))
