#!/usr/bin/env bash
# Idempotent installers for everything the project needs on a fresh machine.
#   bash .ci/setup.sh rust-wasm|node|chromium|all
# Each step checks first and does nothing when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

setup_rust_wasm() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
    local want
    want="$(wasm_bindgen_version)"
    if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
        # Not --locked: the CLI's own lock file pins crates that no longer build.
        cargo install wasm-bindgen-cli --version "$want"
    fi
}

setup_node() {
    command -v node >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }
}

setup_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
    fi
}

case "${1:-all}" in
    rust-wasm) setup_rust_wasm ;;
    node) setup_node ;;
    chromium) setup_chromium ;;
    all) setup_rust_wasm; setup_node; setup_chromium ;;
    *) echo "usage: $0 rust-wasm|node|chromium|all" >&2; exit 2 ;;
esac
