#!/usr/bin/env bash
# Fuzz the road from bytes to features for a bounded time (issue 14):
#   bash tests/fuzz/run.sh [SECONDS]      (default 60, split over the targets)
# decode_pipeline: any bytes → AudioReader → Pipeline; pcm_pipeline: any PCM →
# ToMono → Pipeline (fuzz_targets/). A crash, a hang (over -timeout s on one
# input) or running out of memory fails the run and names the saved input;
# reproduce it with the command cargo-fuzz prints.
# The build and the corpus live in ~/.cache/scatterbrain (fuzz-target/,
# fuzz-corpus/), so every run starts from what earlier runs found. Seeds:
# tests/fixtures/audio (copied in), and tests/fixtures/fuzz/TARGET (inputs
# that once crashed: they must keep passing).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-60}"
per=$(( secs / 2 > 0 ? secs / 2 : 1 ))

bash .ci/setup.sh fuzz
# cargo-fuzz passes rustc -Z flags; stable rustc accepts them with this.
export RUSTC_BOOTSTRAP=1
cache="$HOME/.cache/scatterbrain"
# No sanitizer: the targets are safe Rust over safe crates, where ASan finds
# nothing that a panic would not, and it costs build and run time (README of
# this folder: tests/fuzz/README.md).
opts=(--fuzz-dir tests/fuzz --target-dir "$cache/fuzz-target" --sanitizer none)

cargo fuzz build "${opts[@]}"

failed=()
for target in decode_pipeline pcm_pipeline; do
    corpus="$cache/fuzz-corpus/$target"
    mkdir -p "$corpus"
    dirs=("$corpus")
    case $target in
        decode_pipeline)
            cp tests/fixtures/audio/*.{mp3,ogg,flac,wav} "$corpus/"
            max_len=262144 # the largest fixture is 192 KB
            ;;
        pcm_pipeline) max_len=65536 ;;
    esac
    [ -d "tests/fixtures/fuzz/$target" ] && dirs+=("tests/fixtures/fuzz/$target")
    log="$cache/fuzz-$target.log"
    echo "fuzz: $target for $per s (log: $log)"
    if cargo fuzz run "${opts[@]}" "$target" "${dirs[@]}" -- \
        -max_total_time="$per" -max_len="$max_len" -timeout=20 -rss_limit_mb=3072 \
        -print_final_stats=1 >"$log" 2>&1; then
        # The last status line (executions, coverage) and the speed.
        grep -E '^#[0-9]+ +DONE' "$log" | tail -1 || true
        grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
    else
        tail -40 "$log"
        input=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/Test unit written to //')
        echo "fuzz: $target FAILED; input: ${input:-(none saved, see $log)}" >&2
        failed+=("$target")
    fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: failures in ${failed[*]}" >&2; exit 1; }
echo "fuzz: no crash in ${secs} s"
