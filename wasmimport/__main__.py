"""``python -m wasmimport``: see ``wasmimport._cli``."""

from ._cli import main

raise SystemExit(main())
