# Shared by the scripts in this folder: where things are, and how to run a
# command with the project's Python (directly, or inside the development root
# filesystem built by scripts/setup when the machine has no Python >= 3.14.2).
# shellcheck shell=bash

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVROOT="$REPO/.devroot"
VENV="$REPO/.venv"
# The newest Home Assistant on PyPI, for the end-to-end tests and scripts/develop.
NEWEST_VENV="$REPO/.venv-newest"
MODE_FILE="$VENV/.qrad-mode"
MIN_PYTHON="3.14.2"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# Debian packages of the development root: the interpreter, a compiler for
# wheels without binaries, the real broker the tests talk to, and what Home
# Assistant's media and camera code load (ffmpeg, libturbojpeg).
# What debootstrap installs (its resolver copes with these), then what apt adds
# on top (chromium's dependency tree is beyond debootstrap: it gives up).
DEVROOT_BASE_PACKAGES="python3.14,python3.14-venv,python3.14-dev,build-essential,ca-certificates,git,mosquitto,ffmpeg,libturbojpeg0"
DEVROOT_PACKAGES="$DEVROOT_BASE_PACKAGES,chromium,fonts-dejavu-core"

say() { printf 'qrad: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Prints the path of a Python >= MIN_PYTHON found on PATH, if any.
find_host_python() {
    local candidate path
    for candidate in python3.14 python3.15 python3; do
        path="$(command -v "$candidate" 2>/dev/null)" || continue
        if "$path" -c "import sys; sys.exit(sys.version_info < (3, 14, 2))" 2>/dev/null; then
            printf '%s\n' "$path"
            return 0
        fi
    done
    return 1
}

qrad_mode() {
    [[ -f "$MODE_FILE" ]] || die "the environment is not set up; run scripts/setup first."
    cat "$MODE_FILE"
}

# True when this process may create network namespaces (root, or an
# unprivileged user namespace allowed by the kernel).
can_make_lan() {
    if [[ $EUID -eq 0 ]]; then
        unshare -n true 2>/dev/null
    else
        unshare -rn true 2>/dev/null
    fi
}

# qrad_run [--lan] COMMAND...: runs COMMAND with the project's venv first on
# PATH. With --lan it runs inside a private network namespace holding the
# emulated home network (see scripts/_enter); without a way to make one it says
# so and runs on loopback only.
qrad_run() {
    local lan=0
    if [[ ${1:-} == --lan ]]; then lan=1; shift; fi
    local mode; mode="$(qrad_mode)"
    if ((lan)) && ! can_make_lan; then
        say "cannot create a network namespace here (needs root or user namespaces): running on loopback only, without the emulated LAN."
        lan=0
    fi
    local flags=()
    if [[ $mode == devroot ]]; then
        flags=(-m --propagation private)
        ((lan)) && flags+=(-n)
    elif ((lan)); then
        flags=(-n)
        [[ $EUID -eq 0 ]] || flags=(-r -n)
    fi
    if ((${#flags[@]} == 0)); then
        QRAD_MODE="$mode" QRAD_LAN=0 "$REPO/scripts/_enter" "$@"
    else
        QRAD_MODE="$mode" QRAD_LAN="$lan" unshare "${flags[@]}" -- "$REPO/scripts/_enter" "$@"
    fi
}
