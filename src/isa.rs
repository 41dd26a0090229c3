//! Which vector instructions the hot loops run with.
//!
//! The crate is built for baseline x86-64 (a binary that runs anywhere), where
//! the compiler may use SSE2 only. The GRU's products and gates
//! (`model::panels`, `model::host_gru`) are compiled again for AVX2 and
//! AVX-512 with `#[target_feature]` and chosen at run time from
//! [`Isa::best`]; WASM builds enable simd128 for the whole crate and use the
//! portable code. (The scattering compiled the same way measured no faster:
//! its FFTs are rustfft's own run-time-dispatched AVX code, and its spectrum
//! folds move ~36 bytes per multiply-add through memory.)

/// The vector instructions a kernel is compiled for, chosen at run time:
/// one detection per call (cached by the standard library).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) enum Isa {
    /// x86-64 with AVX-512F: 32 registers of 16 lanes.
    Avx512,
    /// x86-64 with AVX2 and FMA: 16 registers of 8 lanes.
    Avx2,
    /// What the target has by default (WASM: simd128, enabled by the build).
    Portable,
}

impl Isa {
    /// The widest this CPU has.
    pub(crate) fn best() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Every one this CPU can run (for tests of each compiled kernel).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut all = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                all.push(Isa::Avx2);
            }
            if has!("avx512f") {
                all.push(Isa::Avx512);
            }
        }
        all
    }
}
