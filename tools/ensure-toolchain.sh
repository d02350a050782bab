#!/usr/bin/env bash
# Make sure C sources can be compiled to wasm here: clang + lld + wasi-libc + compiler-rt's
# wasm32 builtins (the WASI link needs them).  Checks by compiling a probe for both targets
# (freestanding and WASI reactor) and installs the distribution's packages when the probe
# fails.  Needs root (or sudo) to install.
#
# The builtins' package is named after the clang it belongs to, and the names differ:
# Debian 12 has libclang-rt-14-dev-wasm32, Debian 13/sid libclang-rt-dev-wasm32 and
# libclang-rt-NN-dev-wasm32, Ubuntu 24.04 libclang-rt-18-dev-wasm32.  So this installs
# clang first, reads its major version, and takes the first of those names the package
# index has.  `ensure-toolchain.sh --packages` prints the names it would install.
set -euo pipefail
CC=${CC:-clang}
BASE_PACKAGES="clang lld wasi-libc"

probe() {
    local dir status
    dir=$(mktemp -d)
    printf '#include <stdlib.h>\n__attribute__((export_name("f"))) int f(int n){ void *p = malloc(n); free(p); return n; }\n' > "$dir/probe.c"
    printf '__attribute__((export_name("g"))) int g(int n){ return n + 1; }\n' > "$dir/free.c"
    status=0
    "$CC" --target=wasm32-wasi -mexec-model=reactor -O2 -o "$dir/probe.wasm" "$dir/probe.c" >/dev/null 2>&1 &&
        "$CC" --target=wasm32 -nostdlib -O2 -Wl,--no-entry -o "$dir/free.wasm" "$dir/free.c" >/dev/null 2>&1 ||
        status=$?
    rm -rf "$dir"
    return $status
}

# The compiler-rt wasm32 builtins package for the clang installed now.
builtins_package() {
    local major name
    major=$("$CC" --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
    for name in ${major:+libclang-rt-$major-dev-wasm32} libclang-rt-dev-wasm32; do
        if [ -n "$(apt-cache policy "$name" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)')" ]; then
            echo "$name"
            return 0
        fi
    done
    echo "error: the package index has no compiler-rt wasm32 builtins for clang ${major:-?}" \
         "(looked for ${major:+libclang-rt-$major-dev-wasm32 and }libclang-rt-dev-wasm32)" >&2
    return 1
}

if [ "${1:-}" = "--packages" ]; then
    echo "$BASE_PACKAGES $(builtins_package)"
    exit 0
fi
if probe; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get here; install clang, lld, wasi-libc (a wasm32-wasi sysroot) and compiler-rt's wasm32 builtins yourself" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "error: need root to run: apt-get install -y $BASE_PACKAGES libclang-rt-dev-wasm32 (or -NN- for your clang)" >&2
    exit 1
fi
echo "wasm C toolchain missing: installing $BASE_PACKAGES and compiler-rt's wasm32 builtins" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $BASE_PACKAGES >/dev/null
BUILTINS=$(builtins_package)
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$BUILTINS" >/dev/null
if ! probe; then
    echo "error: installed $BASE_PACKAGES $BUILTINS but clang still cannot build wasm32 modules" >&2
    exit 1
fi
