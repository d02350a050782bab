#!/usr/bin/env bash
# Make sure C sources can be compiled to wasm here: Debian's clang + lld + wasi-libc.
# Checks by compiling a probe for both targets (freestanding and WASI reactor) and installs
# the Debian packages when the probe fails.  Needs root (or sudo) to install.
set -euo pipefail
CC=${CC:-clang}
PACKAGES="clang lld wasi-libc libclang-rt-14-dev-wasm32"

probe() {
    local dir
    dir=$(mktemp -d)
    printf '#include <stdlib.h>\n__attribute__((export_name("f"))) int f(int n){ void *p = malloc(n); free(p); return n; }\n' > "$dir/probe.c"
    printf '__attribute__((export_name("g"))) int g(int n){ return n + 1; }\n' > "$dir/free.c"
    "$CC" --target=wasm32-wasi -mexec-model=reactor -O2 -o "$dir/probe.wasm" "$dir/probe.c" >/dev/null 2>&1 &&
        "$CC" --target=wasm32 -nostdlib -O2 -Wl,--no-entry -o "$dir/free.wasm" "$dir/free.c" >/dev/null 2>&1
    local status=$?
    rm -rf "$dir"
    return $status
}

if probe; then
    exit 0
fi
echo "wasm C toolchain missing: installing $PACKAGES" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "error: need root to run: apt-get install -y $PACKAGES" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get here; install clang, lld and wasi-libc (wasm32-wasi sysroot) yourself" >&2
    exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PACKAGES >/dev/null
if ! probe; then
    echo "error: installed $PACKAGES but clang still cannot build wasm32 modules" >&2
    exit 1
fi
