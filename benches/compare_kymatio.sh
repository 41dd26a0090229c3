#!/usr/bin/env bash
# Times our scattering transform (criterion) and Kymatio 0.3 numpy on the same
# 29 s clip, single-threaded, in the same run, and writes the ratio to
# benches/RESULTS.md. Needs a venv with kymatio==0.3.0, numpy<2, scipy<1.15
# (made here under ~/.cache/scatterbrain if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scatterbrain/target}"
venv="$HOME/.cache/scatterbrain/kymatio-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import kymatio' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "kymatio==0.3.0" "numpy<2" "scipy<1.15"
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 RAYON_NUM_THREADS=1

kym_before=$("$venv/bin/python" tests/fixtures/kymatio/make_reference.py --time-only tests/fixtures/kymatio/music.input.npy)
# --workspace --profile ci: the test command's build (release for every crate
# this bench runs), reused instead of a second release build of the workspace.
cargo bench --workspace --profile ci --bench transform -- --warm-up-time 2 --measurement-time 10 2>&1 | tee /tmp/sb-bench.txt
kym_after=$("$venv/bin/python" tests/fixtures/kymatio/make_reference.py --time-only tests/fixtures/kymatio/music.input.npy)

# criterion's point estimate (middle of [lo est hi]) in ms.
ms() {
    grep -E -A1 "^scattering/$1( |\$)" /tmp/sb-bench.txt | grep -o 'time: *\[[^]]*\]' | head -1 |
        awk '{ v=$4; u=$5; if (u=="s") v*=1000; else if (u=="µs") v/=1000; printf "%.1f", v }'
}
clip=$(ms clip_29s)
song=$(ms song_4min)
plan=$(ms plan_29s)
ref_clip=$(ms clip_29s_reference)
wide_clip=$(ms clip_29s_f64)
ref_plan=$(ms plan_29s_reference)
kym=$(python3 -c "print(f'{1000*min($kym_before, $kym_after):.0f}')")
ratio=$(python3 -c "print(f'{$kym/$clip:.1f}')")
ref_ratio=$(python3 -c "print(f'{$kym/$ref_clip:.1f}')")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
load=$(cut -d' ' -f1-3 /proc/loadavg)
# Only the generated part is replaced: "## Earlier runs" and what follows
# it (hand-written) stay.
kept=$(sed -n '/^## Earlier runs/,$p' benches/RESULTS.md 2>/dev/null || true)
cat > benches/RESULTS.md <<MD
# Benchmark results

Measured $(date -u +%Y-%m-%d) at commit $rev on: $cpu (2 cores, shared machine, load average
$load at the end; single-threaded runs). Absolute times on this machine are noisy; the ratio is
measured in the same run, Kymatio timed just before and just after criterion.

## Scattering front end (J = 13, Q = (8, 1), T = 8192, 29 s at 16 kHz → 644 × 114)

| what | time |
| --- | --- |
| Scatterbrain, one 29 s clip (criterion) | $clip ms |
| Scatterbrain, the 9 windows of a 4-min song | $song ms |
| Scatterbrain, building the plan (once per length) | $plan ms |
| Kymatio 0.3 numpy, one 29 s clip (best of two runs of 2) | $kym ms |
| **speed-up over Kymatio numpy** | **${ratio}×** |
| Scatterbrain at reference precision (\`scatter --precise\`: float64, within 1e-4 of the definition), one 29 s clip | $ref_clip ms |
| its plan | $ref_plan ms |
| its speed-up over Kymatio numpy | ${ref_ratio}× |
| Scatterbrain for a file below 16 kHz (the default plan in float64: README, "Decoding is the CLI's"), one 29 s clip | $wide_clip ms |

Goals (issue 2): ≥ 50× faster than Kymatio numpy, ≤ 40 ms per clip on one core.
Reproduce: \`bash benches/compare_kymatio.sh\`.
MD
[ -z "$kept" ] || printf '\n%s\n' "$kept" >> benches/RESULTS.md
cat benches/RESULTS.md
