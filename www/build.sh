#!/usr/bin/env bash
# Builds the page's WASM package into www/pkg/ (git-ignored):
#   cargo (release, wasm32, feature `web`, SIMD) → wasm-bindgen --target web →
#   wasm-opt (npm binaryen) when installed.
# usage: www/build.sh [--no-opt]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scatterbrain/target}"

opt=1
[ "${1:-}" = "--no-opt" ] && opt=0

start=$(date +%s)
echo "== cargo build (wasm32, release, SIMD, --features web: front end + model on CPU and WebGPU)"
# The same flags as tests/run, so both share one wasm build.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
    cargo build --lib --release --target wasm32-unknown-unknown --features web
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/scatterbrain.wasm"

echo "== wasm-bindgen --target web → www/pkg"
rm -rf www/pkg.tmp
wasm-bindgen --target web --no-typescript --out-dir www/pkg.tmp "$wasm"
out=www/pkg.tmp/scatterbrain_bg.wasm
size_of() { stat -c %s "$1"; }
echo "   wasm-bindgen output: $(size_of "$out") bytes"

wasm_opt=www/node_modules/.bin/wasm-opt
if [ "$opt" = 1 ] && [ -x "$wasm_opt" ]; then
    echo "== wasm-opt -O3 ($("$wasm_opt" --version))"
    # The features rustc emits for wasm32 (+simd128); wasm-opt must accept them.
    "$wasm_opt" -O3 \
        --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-multivalue \
        --enable-reference-types \
        "$out" -o "$out.opt"
    mv "$out.opt" "$out"
    echo "   after wasm-opt: $(size_of "$out") bytes"
else
    echo "== wasm-opt skipped (run: bash .ci/setup.sh npm)"
fi
# Replace the old package in one step, so a running server never serves a mix.
rm -rf www/pkg.old
[ -d www/pkg ] && mv www/pkg www/pkg.old
mv www/pkg.tmp www/pkg
rm -rf www/pkg.old
echo "== built www/pkg in $(( $(date +%s) - start )) s: $(size_of www/pkg/scatterbrain_bg.wasm) bytes wasm, gzip $(gzip -9c www/pkg/scatterbrain_bg.wasm | wc -c) bytes"
