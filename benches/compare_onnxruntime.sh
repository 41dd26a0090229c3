#!/usr/bin/env bash
# Times our scat-5l-512h-gru forward pass (criterion) against onnxruntime on
# the same weights and input, in the same run; writes benches/RESULTS-model.md.
# Needs a venv with numpy, onnx and onnxruntime (made here under
# ~/.cache/scatterbrain if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scatterbrain/target}"
venv="$HOME/.cache/scatterbrain/model-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import onnxruntime, onnx, numpy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "numpy==1.26.4" "onnx==1.17.0" "onnxruntime==1.20.1"
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 RAYON_NUM_THREADS=1
exec "$venv/bin/python" benches/compare_onnxruntime.py
