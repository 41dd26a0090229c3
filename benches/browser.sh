#!/usr/bin/env bash
# Browser benchmark: the tagger page on the CPU and WebGPU (headless Chromium)
# next to the native CLI, same files, same run → benches/RESULTS-browser.md.
#   bash benches/browser.sh [--reps N] [--webgpu-timeout S] [--no-webgpu]
# Builds what is missing (www/package/pkg, the release CLI); a shared machine, so the
# whole run is niced.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scatterbrain/target}"
bash .ci/setup.sh npm
bash .ci/setup.sh chromium
bash .ci/setup.sh media
[ -f www/package/pkg/scatterbrain_bg.wasm ] || nice -n 19 bash www/build.sh
# SCATTERBRAIN_CLI names a CLI already built (e.g. the test command's `ci` one).
[ -n "${SCATTERBRAIN_CLI:-}" ] || [ -x "$CARGO_TARGET_DIR/release/scatterbrain" ] ||
    nice -n 19 cargo build --release -p scatterbrain-trainer
exec nice -n 19 node benches/browser.mjs "$@"
