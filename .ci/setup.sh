#!/usr/bin/env bash
# Idempotent installers for everything the project needs on a fresh machine.
#   bash .ci/setup.sh wasm-target|rust-wasm|node|npm|chromium|vulkan|fuzz|media|all
# Each step checks first and does nothing when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# `cargo install` in a folder of its own: in the project's target folder
# (tests/run exports CARGO_TARGET_DIR) it would wait, whole minutes, on the
# lock of the host artifacts the WASM build, started beside the set-up, holds.
tool_install() {
    env -u CARGO_TARGET_DIR cargo install "$@"
}

setup_wasm_target() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
}

setup_rust_wasm() {
    setup_wasm_target
    local want
    want="$(wasm_bindgen_version)"
    if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
        # Not --locked: the CLI's own lock file pins crates that no longer build.
        tool_install wasm-bindgen-cli --version "$want"
    fi
}

setup_node() {
    command -v node >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }
}

# npm packages of the page's tooling (binaryen's wasm-opt, playwright-core for
# the browser tests), pinned by www/package-lock.json. Skipped when
# node_modules already matches the lock file.
setup_npm() {
    setup_node
    local stamp=www/node_modules/.scatterbrain-lock.sha256
    local want
    want="$(sha256sum www/package-lock.json | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        (cd www && npm ci --no-audit --no-fund)
        echo "$want" >"$stamp"
    fi
}

# Debian packages, installed only when missing, in one apt run:
#   chromium for the browser tests; Mesa's Vulkan drivers (lavapipe) so native
#   wgpu has a device on a machine without a GPU.
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    # Wait for another apt client rather than fail on its lock.
    apt-get -o DPkg::Lock::Timeout=900 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q "${missing[@]}"
}

setup_chromium() { apt_install chromium; }
setup_vulkan() { apt_install mesa-vulkan-drivers libvulkan1; }
# ffmpeg: the browser benchmark encodes its test audio as MP3, the goal's format.
setup_media() { apt_install ffmpeg; }

# cargo-fuzz for tests/fuzz/run.sh: --locked first (the dependency versions
# its release was tested with), without it should those no longer build.
setup_fuzz() {
    command -v cargo-fuzz >/dev/null && return 0
    tool_install cargo-fuzz --locked || tool_install cargo-fuzz
}

case "${1:-all}" in
    wasm-target) setup_wasm_target ;;
    rust-wasm) setup_rust_wasm ;;
    node) setup_node ;;
    npm) setup_npm ;;
    chromium) setup_chromium ;;
    vulkan) setup_vulkan ;;
    fuzz) setup_fuzz ;;
    media) setup_media ;;
    # mma: its style library is read by the corpus recipe tests (trainer/corpus/test_arrange.py);
    # numpy, scipy and soundfile (for Debian's python3): the procedural recipe's audio checks (trainer/corpus/test_procedural.py)
    all) setup_rust_wasm; setup_fuzz; setup_node; setup_npm; apt_install chromium mesa-vulkan-drivers libvulkan1 mma python3-numpy python3-scipy python3-soundfile ;;
    *) echo "usage: $0 wasm-target|rust-wasm|node|npm|chromium|vulkan|fuzz|media|all" >&2; exit 2 ;;
esac
