//! The scattering plan's building blocks: the internal sample rates of each
//! path, and the frequency-domain steps (folding a filtered spectrum onto a
//! lower rate, the low bins of a real signal's spectrum).

use crate::transform::filters::SparseFilter;
use crate::transform::signal::is_5_smooth;
use rustfft::Fft;
use rustfft::num_complex::Complex;

/// Internal sample rates (in bins of the padded length) of `U1` and `U2`.
///
/// Sampling `x * psi` at any rate gives its exact samples (folding a spectrum
/// is sampling), so the modulus is exact too; the only error is the aliasing
/// of the modulus' spectrum, which spreads around 0 over about the filter's
/// support with slowly decaying tails, onto the bins the next filters read.
/// So a path's rate is a multiple of what those filters read plus the
/// filter's support, and at least a floor (in low-pass supports) for the
/// low-frequency filters, whose modulus has the heaviest tails (zero
/// crossings) but whose paths are cheap.
///
/// Tuned on tests/kymatio.rs against a full-rate computation: `u1 = 1.5`,
/// `u2 = 0.7` or `floor1 = 300` each push a fixture past 1e-3 of Kymatio;
/// these values keep every fixture's error at Kymatio's own level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rates {
    pub u1: f64,
    pub u2: f64,
    pub floor1: f64,
    pub floor2: f64,
}

impl Rates {
    pub(crate) const DEFAULT: Rates = Rates {
        u1: 2.0,
        u2: 1.2,
        floor1: 800.0,
        floor2: 100.0,
    };

    /// Length of U1 for a first-order filter of support `width` whose next
    /// filters read up to bin `reach`.
    pub(super) fn len1(&self, reach: usize, width: usize, phi_reach: usize, n: usize) -> usize {
        let need = (self.u1 * (reach + width) as f64).max(self.floor1 * phi_reach as f64);
        fast_len(need.ceil() as usize, n)
    }

    /// Length of U2 for a second-order filter of support `width`, read by the
    /// low-pass up to bin `phi_reach`.
    pub(super) fn len2(&self, width: usize, phi_reach: usize, len1: usize) -> usize {
        let need = (self.u2 * (phi_reach + width) as f64).max(self.floor2 * phi_reach as f64);
        fast_len(need.ceil() as usize, len1)
    }
}

/// Smallest even fast length `>= need` (fast FFT sizes), at most `cap`.
fn fast_len(need: usize, cap: usize) -> usize {
    if need >= cap {
        return cap;
    }
    let mut len = need.max(2);
    while !(len.is_multiple_of(2) && fast_size(len)) {
        len += 1;
    }
    len.min(cap)
}

/// `2^a 3^b`: rustfft's radix-5 passes are markedly slower per point than
/// its radix-2/3 ones here (min of 60 clips: 83 ms with 5-smooth lengths,
/// 67 ms with 3-smooth ones, despite 2% more FFT volume).
fn fast_size(n: usize) -> bool {
    !n.is_multiple_of(5) && is_5_smooth(n)
}

/// `out[b mod out.len()] += conj(spectrum(b) * filter(b))` over the filter's
/// support, where `spectrum` is the full spectrum of a real signal of length
/// `len` given by its half spectrum: filtering then sampling every
/// `len / out.len()` samples, done in frequency. Conjugated because every
/// product goes through an inverse FFT, run as a forward FFT of the conjugate
/// (`ifft(x) = conj(fft(conj(x)))`; what follows takes a modulus or a real
/// part, so the outer `conj` is free): forward and inverse transforms of one
/// length then share one plan, a fifth less plan building.
#[inline]
pub(super) fn fold_product(
    half: &[Complex<f32>],
    len: usize,
    start: i64,
    values: &[f32],
    out: &mut [Complex<f32>],
) {
    let m = out.len();
    let mut dst = start.rem_euclid(m as i64) as usize;
    let mut k = start.rem_euclid(len as i64) as usize;
    let nyquist = len / 2;
    for &w in values {
        // Bins above Nyquist are the conjugates of the mirrored ones.
        let v = if k <= nyquist {
            half[k].conj()
        } else {
            half[len - k]
        };
        out[dst] += v * w;
        k += 1;
        if k == len {
            k = 0;
        }
        dst += 1;
        if dst == m {
            dst = 0;
        }
    }
}

/// How many bins of the half spectrum of a real signal of `len` samples
/// [`fold_product`] reads for a filter of `count` values from bin `start`.
pub(super) fn bins_read(len: usize, start: i64, count: usize) -> usize {
    let nyquist = len / 2;
    (0..count as i64)
        .map(|i| {
            let k = (start + i).rem_euclid(len as i64) as usize;
            if k <= nyquist { k } else { len - k }
        })
        .max()
        .map_or(0, |k| k + 1)
}

/// `W_len^k = exp(-2 pi i k / len)` for `k < count`.
pub(super) fn twiddles(len: usize, count: usize) -> Vec<Complex<f32>> {
    (0..count)
        .map(|k| {
            let a = -2.0 * std::f64::consts::PI * k as f64 / len as f64;
            Complex::new(a.cos() as f32, a.sin() as f32)
        })
        .collect()
}

/// The first `out.len()` bins of the DFT of a real signal of even length
/// `2 * packed.len()`, given packed as `x[2t] + i x[2t + 1]` (destroyed): a
/// complex FFT of half the length, then the even/odd split only for the bins
/// wanted. The low-pass reads a few dozen bins of U2's spectrum, so this skips
/// nearly all of a real FFT's split step (a sixth of the run time). U1's
/// spectrum goes the same way (up to the bins its filters read) rather than
/// through realfft, whose inner FFT would bypass `fft::Planner`'s WASM kernels.
pub(super) fn low_bins(
    packed: &mut [Complex<f32>],
    half_fft: &dyn Fft<f32>,
    twiddles: &[Complex<f32>],
    scratch: &mut [Complex<f32>],
    out: &mut [Complex<f32>],
) {
    half_fft.process_with_scratch(packed, scratch);
    let h = packed.len();
    for (k, (o, w)) in out.iter_mut().zip(twiddles).enumerate() {
        // Bins k and h - k of the half-length FFT, modulo h (no division:
        // this runs for every bin U1's filters read).
        let (z, zc) = if k == 0 || k == h {
            (packed[0], packed[0].conj())
        } else {
            (packed[k], packed[h - k].conj())
        };
        let even = (z + zc) * 0.5;
        let odd = (z - zc) * Complex::new(0.0, -0.5);
        *o = even + w * odd;
    }
}

/// `|z|` without `hypot`'s overflow guard (a libm call per sample, a fifth of
/// the run time): magnitudes here are far from f32's range, and this form
/// vectorises.
#[inline(always)]
pub(super) fn abs(z: Complex<f32>) -> f32 {
    (z.re * z.re + z.im * z.im).sqrt()
}

/// The first bin and value range of `filter` restricted to the bins a signal of `len` samples represents,
/// `(-len/2, len/2]`.
pub(super) fn truncate(filter: &SparseFilter, len: usize) -> (i64, std::ops::Range<usize>) {
    let lo = -((len as i64 - 1) / 2);
    let hi = len as i64 / 2;
    let start = filter.start.max(lo);
    let end = (filter.start + filter.values.len() as i64).min(hi + 1);
    let first = (start - filter.start) as usize;
    (start, first..((end - filter.start) as usize).max(first))
}

/// Fold `spectrum * phi` onto the output rate, scaled and conjugated, ready
/// for the output FFT (see [`fold_product`]).
#[inline]
pub(super) fn lowpass(
    half: &[Complex<f32>],
    len: usize,
    phi: &SparseFilter,
    out: &mut [Complex<f32>],
    scale: f32,
) {
    out.fill(Complex::default());
    fold_product(half, len, phi.start, &phi.values, out);
    for o in out.iter_mut() {
        *o *= scale;
    }
}
