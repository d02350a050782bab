"""Builds the compiled call path, ``wasmimport._speedups`` (metadata is in pyproject.toml).

The extension is optional: where it cannot be compiled, setuptools warns and wasmimport
runs on its pure-Python call path, which behaves the same, only slower.

``WASMIMPORT_PURE_WHEEL=1`` (anything but ``0`` or empty) builds without the extension: a
distribution with no ext_modules is pure, so its wheel is ``py3-none-any``, the one that
installs where no platform wheel can (micropip in Pyodide).  ``make dist`` builds both.
"""

import os
import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                             "-Wno-missing-field-initializers"]
speedups = Extension("wasmimport._speedups", ["wasmimport/_speedups.c"],
                     depends=["wasmimport/_speedups_compound.h"],
                     extra_compile_args=flags, optional=True)
pure = os.environ.get("WASMIMPORT_PURE_WHEEL", "0") not in ("", "0")
setup(ext_modules=[] if pure else [speedups])
