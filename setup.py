"""Builds the compiled call path, ``wasmimport._speedups`` (metadata is in pyproject.toml).

The extension is optional: where it cannot be compiled, setuptools warns and wasmimport
runs on its pure-Python call path, which behaves the same, only slower.
"""

import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                             "-Wno-missing-field-initializers"]
setup(ext_modules=[Extension("wasmimport._speedups", ["wasmimport/_speedups.c"],
                             depends=["wasmimport/_speedups_compound.h"],
                             extra_compile_args=flags, optional=True)])
