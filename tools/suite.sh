#!/usr/bin/env bash
# The whole test suite, and mmh3's own suite on mmh3-wasm, on one interpreter: PYTHON.
#
#   tools/suite.sh PYTHON VENV [pytest arguments]
#
# Makes (or reuses) the virtual environment VENV from PYTHON, installs wasmimport there
# editable (which builds its compiled call path for PYTHON) with the test extras and the
# sample packages, then runs the suite (where tests/test_call_paths.py fails if the extension
# did not build for PYTHON).  Run from the checkout's top (the Makefile's `make test` runs it
# for EXTRA_PYTHONS and, inside the Debian sid root, for CPython 3.14 and 3.15).  The wasm
# guests and third-party modules must be built and fetched (`make wasm real-modules`).
set -euo pipefail
PYTHON=${1:?usage: tools/suite.sh PYTHON VENV [pytest arguments]}
VENV=${2:?usage: tools/suite.sh PYTHON VENV [pytest arguments]}
shift 2
command -v "$PYTHON" >/dev/null 2>&1 || { echo "error: no interpreter $PYTHON" >&2; exit 1; }
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    { echo "error: $PYTHON is older than Python 3.10, which wasmimport needs" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" ||
    { echo "error: $PYTHON cannot make a venv (Debian: apt-get install python3.X-venv)" >&2; exit 1; }
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e '.[test,dask]'
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps ./sample_pkgs/textkit ./sample_pkgs/numkit
echo "== the suite on $("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])') ($PYTHON)"
"$VENV/bin/python" -m pytest "$@"
"$VENV/bin/python" tools/mmh3_suite.py --python "$PYTHON" --venv "$VENV-mmh3"
