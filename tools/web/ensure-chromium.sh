#!/usr/bin/env bash
# Make sure the Chromium that `make test-chromium` drives is here: Debian's chromium package,
# installed when /usr/bin/chromium is missing (needs root, or sudo).  Prints its version.
# CHROMIUM overrides the path (a browser installed some other way: nothing is installed then).
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
    if [ "$CHROMIUM" != /usr/bin/chromium ]; then
        echo "error: CHROMIUM=$CHROMIUM is not an executable" >&2
        exit 1
    fi
    SUDO=
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null; then
            echo "error: installing chromium needs root or sudo" >&2
            exit 1
        fi
        SUDO=sudo
    fi
    echo "installing Debian's chromium (apt-get install -y chromium)" >&2
    # a package index fetched by nobody yet has no chromium in it
    candidate=$(apt-cache policy chromium 2>/dev/null | sed -n 's/^ *Candidate: *//p')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
        $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium
fi
"$CHROMIUM" --version
