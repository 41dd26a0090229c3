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
# The features rustc emits for wasm32 (+simd128); wasm-opt must accept them.
opt_flags=(-O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int
    --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-reference-types)
if [ "$opt" = 1 ] && [ -x "$wasm_opt" ]; then
    # wasm-opt takes minutes on this WASM: keep its output by the hash of its
    # input, version and flags, so an unchanged build (tests/run after
    # www/serve, a second serve) does not pay again.
    cache="$CARGO_TARGET_DIR/wasm-opt-cache"
    key="$( { sha256sum <"$out"; "$wasm_opt" --version; echo "${opt_flags[*]}"; } | sha256sum | cut -c1-32)"
    if [ -f "$cache/$key.wasm" ]; then
        echo "== wasm-opt: unchanged input, output reused from $cache"
        cp "$cache/$key.wasm" "$out"
    else
        echo "== wasm-opt ${opt_flags[0]} ($("$wasm_opt" --version))"
        "$wasm_opt" "${opt_flags[@]}" "$out" -o "$out.opt"
        mv "$out.opt" "$out"
        mkdir -p "$cache"
        # Only the newest few: each is ~19 MB.
        find "$cache" -name '*.wasm' -printf '%T@ %p\n' | sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r rm -f
        cp "$out" "$cache/$key.wasm.tmp" && mv "$cache/$key.wasm.tmp" "$cache/$key.wasm"
    fi
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
node www/package/build.mjs   # the npm package folder (www/package) made self-contained
