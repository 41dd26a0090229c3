#!/usr/bin/env bash
# The paper's Table 2, re-measured on our corpus under one equal compute budget.
#   bash trainer/table2/run.sh [CPU_MINUTES]      (default 15)
# Trains each model with the same data, seed, optimiser and learning-rate
# schedule until its training steps have used CPU_MINUTES of CPU time (all
# threads; validation excluded), then evaluates it on the test split and
# writes trainer/table2/RESULTS.md. CPU time, not wall time, so runs are
# comparable on a shared machine. A model already trained with the same
# budget is not retrained (delete its run folder to redo it). MODELS="a b"
# trains a subset (e.g. to run two lists side by side); the results file
# always covers every model of the table that has been trained.
# Needs the corpus (python3 trainer/corpus/build.py) and the release CLI.
set -euo pipefail
cd "$(dirname "$0")/../.."
budget="${1:-15}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/scatterbrain/target}"
cli="$target/release/scatterbrain"
manifest="${MANIFEST:-$HOME/.cache/scatterbrain/corpus/manifest.csv}"
runs="${RUNS:-$HOME/.cache/scatterbrain/runs/table2-${budget}cpumin}"
table=(scat-5l-512h-gru mel-5l-512h-gru cqt-5l-512h-gru scat-5l-512h-lstm scat-4l-256h-gru scat-4l-cnn)
read -r -a models <<<"${MODELS:-${table[*]}}"

[ -f "$manifest" ] || { echo "no corpus manifest at $manifest: run python3 trainer/corpus/build.py" >&2; exit 1; }
# NO_BUILD=1 uses the CLI as built (e.g. while another build holds the cargo lock).
[ -n "${NO_BUILD:-}" ] || CARGO_TARGET_DIR="$target" cargo build --release -p scatterbrain-trainer
mkdir -p "$runs"
for m in "${models[@]}"; do
    if [ -f "$runs/$m/$m.bpk" ]; then
        echo "== $m: done before ($runs/$m)"
        continue
    fi
    echo "== $m: training for $budget CPU-minutes"
    rm -rf "$runs/$m"
    mkdir -p "$runs/$m"
    "$cli" train --manifest "$manifest" --model "$m" --epochs 40 --lr 1e-3 --lr-decay 0.95 \
        --batch 16 --seed 0 --cpu-budget "$budget" --out "$runs/$m" 2>&1 | tee "$runs/$m/train.log" |
        grep -v '\[' || true
    [ -f "$runs/$m/$m.bpk" ] || { echo "$m: training failed, see $runs/$m/train.log" >&2; exit 1; }
done
done_models=()
for m in "${table[@]}"; do [ -f "$runs/$m/$m.bpk" ] && done_models+=("$m"); done
python3 trainer/table2/summarise.py "$cli" "$runs" "$budget" "${done_models[@]}" >trainer/table2/RESULTS.md
cat trainer/table2/RESULTS.md
