#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build (run.sh): keeps coverage instrumentation
# out of the numeric hot loops. Instrumented, the scattering's loops (ours,
# and rustfft's generics instantiated in our crate) made one execution ~6×
# slower (0.6 s instead of 0.1 s for a 2 s file), and they depend on sizes,
# not on the input's bytes, so the fuzzer has nothing to steer by there:
# - the FFT crates are built without coverage;
# - our crate keeps its edge counters but not comparison tracing (the
#   decoders in symphonia, where the input's bytes are compared, keep both).
rustc=$1
shift
case " $* " in
    *" --crate-name rustfft "* | *" --crate-name realfft "* | *" --crate-name rubato "* | *" --crate-name transpose "* | *" --crate-name num_complex "*)
        drop='-Cpasses=sancov-module|-Cllvm-args=-sanitizer-coverage*' ;;
    *" --crate-name scatterbrain "*)
        drop='-Cllvm-args=-sanitizer-coverage-trace-compares' ;;
    *) exec "$rustc" "$@" ;;
esac
args=()
for a in "$@"; do
    # shellcheck disable=SC2254 # $drop is a pattern
    case $a in
        $drop) ;;
        *) args+=("$a") ;;
    esac
done
exec "$rustc" "${args[@]}"
