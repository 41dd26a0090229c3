#!/usr/bin/env bash
# Fuzz the road from bytes to features for a bounded time (issue 14):
#   bash tests/fuzz/run.sh [SECONDS]      (default 60, split over the targets,
#                                           which run side by side, one per core)
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
# Coverage instrumentation stays out of the FFT loops (see the script).
export RUSTC_WRAPPER="$PWD/tests/fuzz/rustc-wrapper.sh"
cache="$HOME/.cache/scatterbrain"
# No sanitizer: symphonia's crates forbid unsafe code and ours has none on
# this road, so AddressSanitizer finds nothing a panic would not; measured
# here (2 cores), it made the cold build 4.5 min instead of 3.4 and every
# execution 4.3× slower.
opts=(--fuzz-dir tests/fuzz --target-dir "$cache/fuzz-target" --sanitizer none)

cargo fuzz build "${opts[@]}"

# PCM seeds from the 6-channel WAV fixture's samples, behind pcm_pipeline's
# 7-byte header (channels, rate selector, chunk, mode): so the fuzzer starts
# from audio that reaches the transform, not from empty inputs.
pcm_seed() { # NAME HEADER-BYTES (printf escapes)
    { printf "$2"; head -c $((44 + 65529)) tests/fixtures/audio/tone300_8k_6ch.wav | tail -c +45; } \
        >"$cache/fuzz-corpus/pcm_pipeline/seed-$1"
}

# One target: its corpus, its run, and what to print, in $cache/fuzz-$1.report;
# fails when it found a crash.
fuzz_one() {
    local target=$1
    local corpus="$cache/fuzz-corpus/$target"
    local report="$cache/fuzz-$target.report"
    mkdir -p "$corpus"
    local dirs=("$corpus") max_len
    case $target in
        decode_pipeline)
            cp tests/fixtures/audio/*.{mp3,ogg,flac,wav} "$corpus/"
            max_len=262144 # the largest fixture is 192 KB
            ;;
        pcm_pipeline)
            pcm_seed 6ch-8k-i16 '\x06\x00\x00\x00\x00\x10\x80'     # 16-bit, 8 kHz, as recorded
            pcm_seed 1ch-16k-f32 '\x01\x10\x00\x00\x00\x03\x00'    # the same bytes as floats
            pcm_seed 1ch-44101-i16 '\x01\xee\x42\x05\x00\x40\x81'  # an odd rate: large resampler FFTs
            max_len=65536
            ;;
    esac
    [ -d "tests/fixtures/fuzz/$target" ] && dirs+=("tests/fixtures/fuzz/$target")
    local log="$cache/fuzz-$target.log"
    {
        echo "fuzz: $target for $per s (log: $log)"
        if cargo fuzz run "${opts[@]}" "$target" "${dirs[@]}" -- \
            -max_total_time="$per" -max_len="$max_len" -timeout=20 -rss_limit_mb=3072 \
            -print_final_stats=1 >"$log" 2>&1; then
            # The last status line (executions, coverage) and the speed.
            grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
            grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
        else
            grep -E -m1 -A2 'panicked at|ERROR: libFuzzer' "$log" || tail -20 "$log"
            local input
            input=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/Test unit written to //')
            echo "fuzz: $target FAILED (log: $log); input: ${input:-none saved}"
            if [ -n "$input" ] && [ -f "$input" ]; then
                # Kept with the tests, so that every later run replays it (commit it
                # with the fix).
                local keep="tests/fixtures/fuzz/$target/$(basename "$input")"
                mkdir -p "$(dirname "$keep")"
                cp "$input" "$keep"
                echo "fuzz: the input is kept as $keep (commit it with the fix; every run replays it)"
                echo "fuzz: reproduce: RUSTC_BOOTSTRAP=1 RUSTC_WRAPPER=$RUSTC_WRAPPER cargo fuzz run ${opts[*]} $target $keep"
            fi
            return 1
        fi
    } >"$report" 2>&1
}

# Each libFuzzer run takes one core: the two side by side.
targets=(decode_pipeline pcm_pipeline)
pids=()
for target in "${targets[@]}"; do
    fuzz_one "$target" &
    pids+=($!)
done
failed=()
for i in "${!targets[@]}"; do
    wait "${pids[$i]}" || failed+=("${targets[$i]}")
    cat "$cache/fuzz-${targets[$i]}.report"
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: failures in ${failed[*]}" >&2; exit 1; }
echo "fuzz: no crash in ${secs} s"
