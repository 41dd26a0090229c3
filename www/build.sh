#!/usr/bin/env bash
# Builds the two WASM builds (git-ignored) straight into the npm package
# folder the page runs on: www/package/pkg/ (feature `web`: front end and
# model on the CPU, decoder) and www/package/pkg-webgpu/ (feature `webgpu`:
# only the model on burn's wgpu backend), each:
#   cargo (release, wasm32, SIMD) → wasm-bindgen --target web →
#   wasm-opt (npm binaryen) when installed.
# Then the package gets the repository's LICENSE, and is self-contained.
# usage: www/build.sh [--no-opt]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scatterbrain/target}"

opt=1
[ "${1:-}" = "--no-opt" ] && opt=0

start=$(date +%s)
size_of() { stat -c %s "$1"; }
wasm_opt=www/node_modules/.bin/wasm-opt
# The features rustc emits for wasm32 (+simd128); wasm-opt must accept them.
# -O3 for the CPU flavour, whose code is the hot path (transform, model). The
# WebGPU flavour only dispatches the model's kernels: -O1 there (measured
# 2026-12-06 on its 32 MB: 136 s and 4.16 MB gzipped, against -O2's 334 s and
# -O3's ~10 min, both 4.40 MB gzipped).
opt_level() { [ "$1" = pkg-webgpu ] && echo -O1 || echo -O3; }
opt_flags=(--enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int
    --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-reference-types)

# One flavour in two steps. compile: cargo (features $1) → a copy of the .wasm
# in the target folder ($CARGO_TARGET_DIR/scatterbrain-$2.wasm: tests/run makes
# the Node package from the CPU one). finish: that copy → wasm-bindgen →
# wasm-opt → www/package/$2, replaced in one step. finish reads only the copy, so it
# can run while the next flavour compiles.
compile() {
    local features=$1 dir=$2
    echo "== cargo build (wasm32, release, SIMD, --features $features)"
    # The same flags as tests/run, so both share one wasm build.
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
        cargo build --lib --release --target wasm32-unknown-unknown --features "$features"
    cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/scatterbrain.wasm" \
        "$CARGO_TARGET_DIR/scatterbrain-$dir.wasm"
}

finish() {
    local dir=$1 out_dir=www/package/$1
    # tests/run starts this build while it still installs wasm-bindgen and
    # wasm-opt, holding this lock until they are in.
    if [ -n "${SCATTERBRAIN_SETUP_LOCK:-}" ]; then flock -s "$SCATTERBRAIN_SETUP_LOCK" true; fi
    local wasm="$CARGO_TARGET_DIR/scatterbrain-$dir.wasm"
    echo "== wasm-bindgen --target web → $out_dir"
    rm -rf "$out_dir.tmp"
    wasm-bindgen --target web --no-typescript --out-name scatterbrain --out-dir "$out_dir.tmp" "$wasm"
    local out="$out_dir.tmp/scatterbrain_bg.wasm"
    echo "   wasm-bindgen output: $(size_of "$out") bytes"
    if [ "$opt" = 1 ] && [ -x "$wasm_opt" ]; then
        # wasm-opt takes minutes on these: keep its output by the hash of its
        # input, version and flags, so an unchanged build (tests/run after
        # www/serve, a second serve) does not pay again.
        local cache="$CARGO_TARGET_DIR/wasm-opt-cache"
        local key
        local level
        level=$(opt_level "$dir")
        key="$( { sha256sum <"$out"; "$wasm_opt" --version; echo "$level ${opt_flags[*]}"; } | sha256sum | cut -c1-32)"
        if [ -f "$cache/$key.wasm" ]; then
            echo "== wasm-opt: unchanged input, output reused from $cache"
            cp "$cache/$key.wasm" "$out"
        else
            echo "== wasm-opt $level ($("$wasm_opt" --version))"
            "$wasm_opt" "$level" "${opt_flags[@]}" "$out" -o "$out.opt"
            mv "$out.opt" "$out"
            mkdir -p "$cache"
            # Only the newest few (both flavours, a build or two back).
            find "$cache" -name '*.wasm' -printf '%T@ %p\n' | sort -rn | tail -n +7 | cut -d' ' -f2- | xargs -r rm -f
            cp "$out" "$cache/$key.wasm.tmp" && mv "$cache/$key.wasm.tmp" "$cache/$key.wasm"
        fi
        echo "   after wasm-opt: $(size_of "$out") bytes"
    else
        echo "== wasm-opt skipped (run: bash .ci/setup.sh npm)"
    fi
    # Replace the old package in one step, so a running server never serves a mix.
    rm -rf "$out_dir.old"
    [ -d "$out_dir" ] && mv "$out_dir" "$out_dir.old"
    mv "$out_dir.tmp" "$out_dir"
    rm -rf "$out_dir.old"
    echo "== built $out_dir: $(size_of "$out_dir/scatterbrain_bg.wasm") bytes wasm, gzip $(gzip -9c "$out_dir/scatterbrain_bg.wasm" | wc -c) bytes"
}

# The page loads package/pkg/ (front end and model on the CPU) and, only when
# WebGPU is chosen, package/pkg-webgpu/ (only the model, on burn's wgpu
# backend).
# The WebGPU flavour's wasm-opt (single-threaded, minutes) runs beside the CPU
# flavour's cargo build (~4 min cold) instead of after it.
compile webgpu pkg-webgpu
gpu_log="$(mktemp)"
finish pkg-webgpu >"$gpu_log" 2>&1 &
gpu_pid=$!
# If the CPU flavour fails, the script exits: stop the WebGPU flavour's
# finishing job too rather than leave it running (it would still replace
# www/package/pkg-webgpu minutes later).
trap 'pkill -TERM -P "$gpu_pid" 2>/dev/null; kill "$gpu_pid" 2>/dev/null || true' EXIT
compile web pkg
finish pkg
gpu_ok=0
wait "$gpu_pid" || gpu_ok=$?
trap - EXIT
cat "$gpu_log"
rm -f "$gpu_log"
[ "$gpu_ok" = 0 ] || { echo "finishing www/package/pkg-webgpu failed"; exit 1; }
echo "== built both in $(( $(date +%s) - start )) s"
cp LICENSE www/package/LICENSE   # the npm package folder (www/package) is now self-contained
