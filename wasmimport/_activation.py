"""Environment-wide activation: a ``.pth`` file that installs the import hook at start-up.

A package that imports a wasm module of another package cannot know whether anyone called
``wasmimport.install()``; ``python -m wasmimport enable`` makes the answer always yes for
one environment, as ``site`` runs an ``import`` line of any ``.pth`` file in site-packages at
interpreter start.

The line runs in every interpreter of the environment, most of which never import a wasm
module, so it imports only ``wasmimport._finder``, which installs path hooks made of what
start-up has loaded anyway; the rest of wasmimport is imported when a wasm file is found.  It
does nothing once wasmimport itself is uninstalled (pip does not remove a file it did not
install), so a stale file never breaks start-up.
"""

from __future__ import annotations

import os
import site
import sysconfig

PTH_NAME = "wasmimport-hook.pth"
PTH_TEXT = ("# written by `python -m wasmimport enable`; `python -m wasmimport disable` "
            "removes it\n"
            "import sys; exec('try:\\n from wasmimport import _finder\\nexcept ImportError:\\n"
            " pass\\nelse:\\n _finder.install()')\n")


def site_dir(user: bool = False) -> str:
    """The site-packages folder of the running environment (or the user's)."""
    return site.getusersitepackages() if user else sysconfig.get_path("purelib")


def enable(user: bool = False) -> str:
    """Write the ``.pth`` file; return its path.  Raises OSError when the folder is not
    writable."""
    folder = site_dir(user)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, PTH_NAME)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as file:
            file.write(PTH_TEXT)
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def disable(user: bool = False) -> str | None:
    """Remove the ``.pth`` file; return its path, or None when there was none."""
    path = os.path.join(site_dir(user), PTH_NAME)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return None
    return path


def enabled_by() -> list[str]:
    """The ``.pth`` files that activate the hook for this interpreter."""
    folders = [site_dir()] + ([site_dir(user=True)] if site.ENABLE_USER_SITE else [])
    return [path for folder in dict.fromkeys(folders)
            if os.path.isfile(path := os.path.join(folder, PTH_NAME))]
