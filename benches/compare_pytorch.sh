#!/usr/bin/env bash
# Training throughput of our trainer's step (scatterbrain bench-train) against
# PyTorch on the same model and batch, in the same run, at 1 thread and at all
# cores; writes benches/RESULTS-train.md. Extra arguments go to
# compare_pytorch.py (--steps, --warmup, --rounds, --batch).
#
# The venv (~/.cache/scatterbrain/torch-venv) is made here if missing. PyPI's
# Linux torch wheel is a CUDA build: it imports only if the CUDA libraries it
# links against are present, but runs on the CPU without a GPU. We install
# torch without its dependency list plus just those libraries (4.1 GB in all;
# triton, cusolver and the CUDA toolkit metapackages are left out), and fall
# back to the full dependency list if that ever stops importing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scatterbrain/target}"
venv="$HOME/.cache/scatterbrain/torch-venv"
torch_ok() { "$venv/bin/python" -c 'import torch, numpy' 2>/dev/null; }
if [ ! -x "$venv/bin/python" ] || ! torch_ok; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --no-deps "torch==2.15.0" \
        filelock typing_extensions sympy mpmath networkx jinja2 MarkupSafe fsspec numpy \
        nvidia-cuda-runtime==13.2.86 nvidia-cuda-cupti==13.2.86 nvidia-cuda-nvrtc==13.2.86 \
        nvidia-cublas==13.4.1.3 nvidia-cudnn-cu13==9.26.0.51 nvidia-cufft==12.2.0.57 \
        nvidia-cufile==1.17.1.22 nvidia-cusparse==12.7.10.12 nvidia-cusparselt-cu13==0.8.1 \
        nvidia-nccl-cu13==2.30.7 nvidia-nvshmem-cu13==3.7.2 nvidia-nvjitlink==13.5.37
    torch_ok || "$venv/bin/pip" install -q "torch==2.15.0" numpy
fi
# The machine is shared: build and measure at the lowest priority.
nice -n 19 cargo build --release -p scatterbrain-trainer
exec nice -n 19 "$venv/bin/python" benches/compare_pytorch.py "$@"
