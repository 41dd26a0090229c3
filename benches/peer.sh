#!/usr/bin/env bash
# The Essentia.js + TF.js musicnn peer timed beside this checkout's bench page,
# in one run (../shared/peers/essentia/run.sh, which rebuilds the peer from the
# registries). That script looks for the project's WASM build in www/pkg/ of
# its clone (SCRATCH/main); the page now loads it from the npm package folder
# (www/package/pkg/), so this copies the build there, and to www/pkg/ only so
# that the script sees a build and does not try to make one.
#   bash benches/peer.sh [SCRATCH] [-- bench.mjs options, e.g. --no-webgpu]
# Environment: as run.sh's (E2E=0 skips its end-to-end check).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=/tmp/peer
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then scratch="$1"; shift; fi
[ -f www/package/pkg/scatterbrain_bg.wasm ] || nice -n 19 bash www/build.sh
mkdir -p "$scratch"
project="$scratch/main"
[ -d "$project/.git" ] || git clone -q "$(pwd)" "$project"
git -C "$project" pull -q --ff-only || true
for to in www/package/pkg www/pkg; do
    rm -rf "${project:?}/$to"
    cp -r www/package/pkg "$project/$to"
done
exec bash ../shared/peers/essentia/run.sh "$scratch" "$@"
