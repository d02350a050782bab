#!/usr/bin/env bash
# A Debian sid root for the CPythons this machine's Debian does not have (3.14, 3.15), and
# the commands that run in it.  Used by the Makefile (`make test`); see the README's
# "Development".
#
#   tools/sid.sh ROOT root        make the root, or check that it is made (cached: reused)
#   tools/sid.sh ROOT sync SRC    copy the checkout SRC to ROOT/src (what the tests run on)
#   tools/sid.sh ROOT run CMD...  run CMD inside the root, in /src
#   tools/sid.sh ROOT demo SRC    `make demo` in a clean copy of SRC's HEAD, inside the root
#
# Commands run in a private mount namespace (unshare): /proc, /dev/shm and /dev/pts are
# mounted there and vanish with it, so nothing stays mounted inside the root, and deleting
# the root can never reach the host's /dev or /proc.  The checkout is copied, not bound.
set -euo pipefail

ROOT=${1:?usage: tools/sid.sh ROOT root|sync SRC|run CMD...|demo SRC}
shift
ACTION=${1:?usage: tools/sid.sh ROOT root|sync SRC|run CMD...|demo SRC}
shift
MIRROR=${SID_MIRROR:-http://deb.debian.org/debian}
# the interpreters and what building wasmimport's extension and its test dependencies needs;
# python3 (3.14 in sid) for `make demo`; the wasm toolchain comes from ensure-toolchain.sh,
# run in the root (so sid's package names are what it is tested with); nodejs runs jco (the
# checkout's .cache/component, copied in by sync) for `build --wit`
PACKAGES="python3.14 python3.14-venv python3.14-dev python3.15 python3.15-venv python3.15-dev
python3 python3-venv python3-dev gcc g++ libc6-dev make ca-certificates git nodejs"
TOOLCHAIN=$(dirname "$0")/ensure-toolchain.sh

fail() {
    echo "error: $*" >&2
    exit 1
}

need_root() {
    [ "$(id -u)" -eq 0 ] || fail "the sid root needs root (debootstrap, chroot): run this as root"
}

# Everything a command in the root sees of the environment: nothing of the host's but what
# wasmimport's own settings are.
in_root() {
    local cwd=$1
    shift
    local env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
               LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive
               PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 PIP_ROOT_USER_ACTION=ignore)
    local name
    for name in $(compgen -e); do
        case $name in WASMIMPORT_*) env+=("$name=${!name}") ;; esac
    done
    # the host's resolver and certificate authorities (a TLS proxy's, say), for apt and pip
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
    local ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
    if [ -f "$ca" ]; then
        mkdir -p "$ROOT/etc/wasmimport"
        cp -L "$ca" "$ROOT/etc/wasmimport/host-ca.crt"
        env+=(SSL_CERT_FILE=/etc/wasmimport/host-ca.crt PIP_CERT=/etc/wasmimport/host-ca.crt
              REQUESTS_CA_BUNDLE=/etc/wasmimport/host-ca.crt)
    fi
    unshare --mount --propagation private -- /bin/sh -ec '
        root=$1; shift 2
        mount -t proc proc "$root/proc"
        mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
        mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
        exec chroot "$root" /usr/bin/env -i "$@"' sh "$ROOT" "$cwd" \
        "${env[@]}" /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
}

make_root() {
    need_root
    if [ -f "$ROOT/.ready" ] && [ "$(cat "$ROOT/.ready")" = "$PACKAGES" ]; then
        return 0
    fi
    command -v unshare >/dev/null || fail "unshare (util-linux) is missing: apt-get install util-linux"
    if ! command -v debootstrap >/dev/null; then
        command -v apt-get >/dev/null || fail "debootstrap is missing and there is no apt-get to install it"
        echo "installing debootstrap" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
            fail "could not install debootstrap: apt-get install debootstrap"
    fi
    local tmp=$ROOT.partial
    rm -rf "$tmp"
    mkdir -p "$(dirname "$ROOT")"
    echo "making a Debian sid root in $ROOT (once; about a minute)" >&2
    debootstrap --variant=minbase sid "$tmp" "$MIRROR" >"$tmp.log" 2>&1 ||
        fail "debootstrap of Debian sid from $MIRROR failed (see $tmp.log); set SID_MIRROR to another mirror"
    # sid's Release file may be older than its Valid-Until where the mirror is a snapshot
    echo 'Acquire::Check-Valid-Until "false";' > "$tmp/etc/apt/apt.conf.d/99wasmimport"
    ROOT=$tmp in_root / /bin/sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $(echo $PACKAGES) >/dev/null" ||
        fail "installing $(echo $PACKAGES) in the sid root failed (see the output above)"
    cp "$TOOLCHAIN" "$tmp/tmp/ensure-toolchain.sh"
    ROOT=$tmp in_root / /bin/bash /tmp/ensure-toolchain.sh ||
        fail "tools/ensure-toolchain.sh failed in the sid root (see the output above)"
    rm -f "$tmp.log"
    rm -rf "$ROOT"
    mv "$tmp" "$ROOT"
    echo "$PACKAGES" > "$ROOT/.ready"
}

sync_source() {
    local src=${1:?tools/sid.sh ROOT sync SRC}
    [ -f "$ROOT/.ready" ] || fail "no sid root at $ROOT: run tools/sid.sh $ROOT root first"
    rm -rf "$ROOT/src"
    mkdir "$ROOT/src"
    tar -C "$src" --exclude=./.cache --exclude='./.venv*' --exclude='./.bench-venv*' \
        --exclude=./build --exclude='*.egg-info' --exclude='./wasmimport/*.so' -cf - . |
        tar -C "$ROOT/src" -xf -
    if [ -d "$src/.cache/component" ]; then      # npm jco, for `build --wit` (make component-deps)
        mkdir -p "$ROOT/src/.cache"
        tar -C "$src/.cache" -cf - component | tar -C "$ROOT/src/.cache" -xf -
    fi
}

demo() {
    local src=${1:?tools/sid.sh ROOT demo SRC}
    [ -f "$ROOT/.ready" ] || fail "no sid root at $ROOT: run tools/sid.sh $ROOT root first"
    rm -rf "$ROOT/demo"
    mkdir "$ROOT/demo"
    git -C "$src" archive HEAD | tar -C "$ROOT/demo" -xf -
    in_root /demo make demo
}

case $ACTION in
    root) make_root ;;
    sync) sync_source "$@" ;;
    run) need_root; [ -f "$ROOT/.ready" ] || fail "no sid root at $ROOT: run tools/sid.sh $ROOT root first"; in_root /src "$@" ;;
    demo) need_root; demo "$@" ;;
    *) fail "unknown action $ACTION (root, sync, run or demo)" ;;
esac
