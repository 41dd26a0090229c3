//! The scattering plan's building blocks: the internal sample rates of each
//! path, and the frequency-domain steps (folding a filtered spectrum onto a
//! lower rate, the low bins of a real signal's spectrum).

use super::config::Precision;
use crate::transform::fft::{Paired, Real};
use crate::transform::filters::SparseFilter;
use crate::transform::signal::is_5_smooth;
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

    /// [`Precision::Reference`]'s, in f64 (`rates_sweep_reference`): every
    /// fixture within 3.0e-5 of the full-rate definition, for 3.2× the FFT
    /// volume of [`Rates::DEFAULT`]. Higher rates change no worst figure
    /// beyond music's order 2 (U2 at 8×: 2.7e-5 → 1.2e-5, for 5× the volume);
    /// lower ones bring music, noise or quiet to 6–9e-5 (U1 at 4× or 6×, U2
    /// at 3×), too close to the bound.
    pub(crate) const REFERENCE: Rates = Rates {
        u1: 8.0,
        u2: 4.0,
        floor1: 2000.0,
        floor2: 500.0,
    };

    pub(crate) fn of(precision: Precision) -> Rates {
        match precision {
            Precision::Fast => Rates::DEFAULT,
            Precision::Reference => Rates::REFERENCE,
        }
    }

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

/// Smallest even length `>= need` whose half (the length planned, see
/// [`fold_halves`]) is a fast FFT size, at most `cap`.
fn fast_len(need: usize, cap: usize) -> usize {
    if need >= cap {
        return cap;
    }
    let mut len = need.max(2);
    while !(len.is_multiple_of(2) && fast_half(len / 2)) {
        len += 1;
    }
    len.min(cap)
}

/// `2^a 3^b` with `b <= a + 2`: rustfft's radix-2/3 kernels, without the
/// lengths made mostly of threes, which are slower per point than longer
/// ones of mixed radix (rustfft forward, f32, EPYC host: 2·3^10 = 118 098
/// points in 275 µs, 2^9·3^5 = 124 416 in 230 µs). Criterion, same host,
/// alternating runs, clip / plan: no limit 80–81 / 49 ms; `b <= a + 4`
/// 78 / 47; `+ 3` 77–78 / 43; `+ 2` 76–77 / 40–42; `+ 1` 79 / 41; `b <= a`
/// 79 / 42 (fewer distinct lengths to plan, more volume to transform).
fn fast_half(n: usize) -> bool {
    if !fast_size(n) {
        return false;
    }
    let a = n.trailing_zeros();
    let mut b = 0;
    let mut m = n >> a;
    while m > 1 {
        m /= 3;
        b += 1;
    }
    b <= a + 2
}

/// `2^a 3^b`: rustfft's radix-5 passes are markedly slower per point than
/// its radix-2/3 ones here (min of 60 clips: 83 ms with 5-smooth lengths,
/// 67 ms with 3-smooth ones, despite 2% more FFT volume).
fn fast_size(n: usize) -> bool {
    !n.is_multiple_of(5) && is_5_smooth(n)
}

/// `out[b mod out.len()] = sum of conj(spectrum(b) * filter(b))` over the
/// filter's support, where `spectrum` is the full spectrum of a real signal of
/// length `len` given by its half spectrum: filtering then sampling every
/// `len / out.len()` samples, done in frequency. `out` is overwritten (what the
/// filter does not reach is zeroed, rather than the whole buffer cleared
/// first: a memory pass over every band). Conjugated because every
/// product goes through an inverse FFT, run as a forward FFT of the conjugate
/// (`ifft(x) = conj(fft(conj(x)))`; what follows takes a modulus or a real
/// part, so the outer `conj` is free): forward and inverse transforms of one
/// length then share one plan, a fifth less plan building.
#[inline]
pub(super) fn fold_product<T: Real>(
    half: &[Complex<T>],
    len: usize,
    start: i64,
    values: &[T],
    out: &mut [Complex<T>],
) {
    fold(half, len, start, values, &mut Band(out));
}

/// [`fold_product`] onto a band `b` of even length `2h`, ready for its FFT
/// as two FFTs of length `h`: `band[..h]` gets `b_q + b_(q+h)` and
/// `band[h..]` gets `(b_q - b_(q+h)) W_2h^q`, whose FFTs are the even and
/// the odd outputs of `b`'s (`X[2s] = Σ_q (b_q + b_(q+h)) W_h^(qs)`,
/// `X[2s+1] = Σ_q (b_q - b_(q+h)) W_2h^q W_h^(qs)`). The outputs come out
/// split by parity, which is how [`low_bins`] packs a real signal, and only
/// the half length is planned (planning cost more than a transform). Done in
/// the fold, only where the filter reaches: as a pass of its own over whole
/// bands it was a sixth of the transform, all memory traffic.
/// `twiddles`: `W_2h^q` for `q < h` at least.
#[inline]
pub(super) fn fold_halves<T: Real>(
    half: &[Complex<T>],
    len: usize,
    start: i64,
    values: &[T],
    twiddles: &[Complex<T>],
    band: &mut [Complex<T>],
) {
    let (lo, hi) = band.split_at_mut(band.len() / 2);
    // Bins `h..2h` of the band are `lo`'s bins with the opposite sign.
    let sign = if start.rem_euclid(2 * lo.len() as i64) < lo.len() as i64 {
        T::one()
    } else {
        -T::one()
    };
    fold(
        half,
        len,
        start,
        values,
        &mut Halves {
            lo,
            hi,
            twiddles,
            sign,
        },
    );
}

/// Where a fold puts its values: bins `at..` of an output of `len()` bins,
/// written (the first cover of a bin) or added.
trait Sink<T> {
    fn len(&self) -> usize;
    fn zero(&mut self, bins: std::ops::Range<usize>);
    fn put<const WRITE: bool>(&mut self, at: usize, v: impl Iterator<Item = Complex<T>>);
    /// The fold wrapped around the output.
    fn wrapped(&mut self) {}
}

struct Band<'a, T>(&'a mut [Complex<T>]);

impl<T: Real> Sink<T> for Band<'_, T> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn zero(&mut self, bins: std::ops::Range<usize>) {
        self.0[bins].fill(Complex::default());
    }
    #[inline(always)]
    fn put<const WRITE: bool>(&mut self, at: usize, v: impl Iterator<Item = Complex<T>>) {
        for (o, v) in self.0[at..].iter_mut().zip(v) {
            if WRITE { *o = v } else { *o += v }
        }
    }
}

struct Halves<'a, T> {
    lo: &'a mut [Complex<T>],
    hi: &'a mut [Complex<T>],
    twiddles: &'a [Complex<T>],
    sign: T,
}

impl<T: Real> Sink<T> for Halves<'_, T> {
    fn len(&self) -> usize {
        self.lo.len()
    }
    fn zero(&mut self, bins: std::ops::Range<usize>) {
        self.lo[bins.clone()].fill(Complex::default());
        self.hi[bins].fill(Complex::default());
    }
    #[inline(always)]
    fn put<const WRITE: bool>(&mut self, at: usize, v: impl Iterator<Item = Complex<T>>) {
        let sign = self.sign;
        for (((l, h), w), v) in self.lo[at..]
            .iter_mut()
            .zip(self.hi[at..].iter_mut())
            .zip(&self.twiddles[at..])
            .zip(v)
        {
            let t = v * w * sign;
            if WRITE {
                *l = v;
                *h = t;
            } else {
                *l += v;
                *h += t;
            }
        }
    }
    fn wrapped(&mut self) {
        self.sign = -self.sign;
    }
}

#[inline(always)]
fn fold<T: Real, S: Sink<T>>(
    half: &[Complex<T>],
    len: usize,
    start: i64,
    values: &[T],
    out: &mut S,
) {
    let m = out.len();
    let dst = start.rem_euclid(m as i64) as usize;
    let k = start.rem_euclid(len as i64) as usize;
    // The first m values land on distinct bins: written, not added.
    let first = values.len().min(m);
    let end = dst + first;
    if end <= m {
        out.zero(end..m);
        out.zero(0..dst);
    } else {
        out.zero(end - m..dst);
    }
    let (k, dst) = fold_runs::<true, T, S>(half, len, k, dst, &values[..first], out);
    fold_runs::<false, T, S>(half, len, k, dst, &values[first..], out);
}

/// [`fold`]'s loop from input bin `k` and output bin `dst`, in runs
/// that wrap neither the input bins, nor the output, nor cross Nyquist, so
/// that the inner loops have no branch and vectorise (per value, this was a
/// tenth of the transform). Returns where it stopped.
#[inline(always)]
fn fold_runs<const WRITE: bool, T: Real, S: Sink<T>>(
    half: &[Complex<T>],
    len: usize,
    mut k: usize,
    mut dst: usize,
    mut values: &[T],
    out: &mut S,
) -> (usize, usize) {
    let m = out.len();
    let nyquist = len / 2;
    while !values.is_empty() {
        let room = values.len().min(m - dst);
        let run = if k <= nyquist {
            let run = room.min(nyquist + 1 - k);
            let v = half[k..k + run].iter().zip(&values[..run]);
            out.put::<WRITE>(dst, v.map(|(h, w)| h.conj() * *w));
            run
        } else {
            // Bins above Nyquist are the conjugates of the mirrored ones,
            // read downwards from `len - k`.
            let run = room.min(len - k);
            let top = len - k;
            let v = half[top + 1 - run..=top].iter().rev().zip(&values[..run]);
            out.put::<WRITE>(dst, v.map(|(h, w)| *h * *w));
            run
        };
        values = &values[run..];
        k += run;
        if k == len {
            k = 0;
        }
        dst += run;
        if dst == m {
            dst = 0;
            out.wrapped();
        }
    }
    (k, dst)
}

/// How many bins of the half spectrum of a real signal of `len` samples
/// [`fold_product`] reads for a filter of `count` values from bin `start`.
pub(super) fn bins_read(len: usize, start: i64, count: usize) -> usize {
    if count == 0 {
        return 0;
    }
    // Bin b reads index |b| folded into 0..=len/2: a triangle wave, whose
    // maximum over an interval is Nyquist where it holds one, else at an end
    // (in closed form: per value, this was a sixth of planning).
    let (len, nyquist) = (len as i64, len as i64 / 2);
    let end = start + count as i64 - 1;
    let index = |b: i64| {
        let k = b.rem_euclid(len);
        if k <= nyquist { k } else { len - k }
    };
    let next_nyquist = start + (nyquist - start).rem_euclid(len);
    let max = if next_nyquist <= end {
        nyquist
    } else {
        index(start).max(index(end))
    };
    max as usize + 1
}

/// `W_len^k = exp(-2 pi i k / len)` for `k < count`: products of a coarse
/// and a fine table (`W^(qM + r) = W^(qM) W^r`, in f64), so ~2 sqrt(count)
/// `sin`/`cos` calls instead of one per entry (these tables are as long as
/// the FFTs they serve, and `sincos` was most of planning).
pub(super) fn twiddles<T: Real>(len: usize, count: usize) -> Vec<Complex<T>> {
    let w = |k: usize| {
        let a = -2.0 * std::f64::consts::PI * k as f64 / len as f64;
        Complex::new(a.cos(), a.sin())
    };
    let step = (count as f64).sqrt().ceil().max(1.0) as usize;
    let fine: Vec<Complex<f64>> = (0..step).map(w).collect();
    let mut out = Vec::with_capacity(count);
    for q in 0..count.div_ceil(step) {
        let coarse = w(q * step);
        let fine = &fine[..step.min(count - q * step)];
        out.extend(fine.iter().map(|f| {
            let z = coarse * f;
            Complex::new(T::of(z.re), T::of(z.im))
        }));
    }
    out
}

/// The first `out.len()` bins of the DFT of a real signal of even length
/// `2 * packed.len()`, given packed as `x[2t] + i x[2t + 1]` (destroyed): a
/// complex FFT of half the length, then the even/odd split only for the bins
/// wanted. The low-pass reads a few dozen bins of U2's spectrum, so this skips
/// nearly all of a real FFT's split step (a sixth of the run time). U1's
/// spectrum goes the same way (up to the bins its filters read) rather than
/// through realfft, whose inner FFT would bypass `fft::Planner`'s WASM kernels.
/// `packed` is in `half_fft`'s scrambled order (see [`Paired`]).
pub(super) fn low_bins<T: Real>(
    packed: &mut [Complex<T>],
    half_fft: &dyn Paired<T>,
    twiddles: &[Complex<T>],
    scratch: &mut [Complex<T>],
    out: &mut [Complex<T>],
) {
    half_fft.forward_from_scrambled(packed, scratch);
    let h = packed.len();
    // Bin k pairs bins k and h - k of the half-length FFT, where bins 0 and
    // h are both bin 0; the middle ones go in one branch-free loop.
    let half = T::of(0.5);
    let split = |z: Complex<T>, zc: Complex<T>, w: Complex<T>| {
        let even = (z + zc) * half;
        let odd = (z - zc) * Complex::new(T::zero(), -half);
        even + w * odd
    };
    let count = out.len().min(twiddles.len());
    if count == 0 {
        return;
    }
    out[0] = split(packed[0], packed[0].conj(), twiddles[0]);
    let mid = (count - 1).min(h - 1);
    for (((o, w), z), zc) in out[1..=mid]
        .iter_mut()
        .zip(&twiddles[1..=mid])
        .zip(&packed[1..=mid])
        .zip(packed[h - mid..h].iter().rev())
    {
        *o = split(*z, zc.conj(), *w);
    }
    if count > h {
        out[h] = split(packed[0], packed[0].conj(), twiddles[h]);
    }
}

/// `packed = |z| * scale` for the signal whose even samples are `halves[..h]`
/// and odd samples `halves[h..]` (see [`fold_halves`]), packed two
/// samples per complex value (even in the real parts, odd in the imaginary)
/// as [`low_bins`] reads them. `|z|` without `hypot`'s overflow guard (a libm
/// call per sample, a fifth of the run time): magnitudes here are far from
/// f32's range.
#[inline]
pub(super) fn modulus<T: Real>(halves: &[Complex<T>], scale: T, packed: &mut [Complex<T>]) {
    let (even, odd) = halves.split_at(halves.len() / 2);
    let abs = |z: &Complex<T>| (z.re * z.re + z.im * z.im).sqrt() * scale;
    for ((p, e), o) in packed.iter_mut().zip(even).zip(odd) {
        *p = Complex::new(abs(e), abs(o));
    }
}

/// `len` zeros, from the allocator's zeroed pages: `vec![Complex::default();
/// n]` writes every value (not a type the standard library knows to be zero),
/// and the plan's ~20 MB of scratch cost it a sixth of its time in page faults
/// and `memset`, for buffers the transform overwrites before reading.
pub(super) fn zeroed<T: Real>(len: usize) -> Vec<Complex<T>> {
    let mut v = std::mem::ManuallyDrop::new(vec![T::zero(); 2 * len]);
    let capacity = v.capacity() / 2;
    // SAFETY: `Complex<T>` is `#[repr(C)]` { re: T, im: T } (twice T's size,
    // T's alignment), so `2 * len` values of T (`vec!` allocates exactly
    // that: an even capacity), all `T::zero()` (calloc'd for f32 and f64), are
    // `len` valid complex values, and ownership moves to the new Vec.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast(), len, capacity) }
}

/// The first bin and value range of `filter` restricted to the bins a signal of `len` samples represents,
/// `(-len/2, len/2]`.
pub(super) fn truncate<T>(filter: &SparseFilter<T>, len: usize) -> (i64, std::ops::Range<usize>) {
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
pub(super) fn lowpass<T: Real>(
    half: &[Complex<T>],
    len: usize,
    phi: &SparseFilter<T>,
    out: &mut [Complex<T>],
    scale: T,
) {
    fold_product(half, len, phi.start, &phi.values, out);
    for o in out.iter_mut() {
        *o *= scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::scattering::tests::noise;

    /// The plain per-bin forms that the run-based loops replace.
    fn fold_reference(
        half: &[Complex<f32>],
        len: usize,
        start: i64,
        values: &[f32],
        out: &mut [Complex<f32>],
    ) {
        for (i, &w) in values.iter().enumerate() {
            let k = (start + i as i64).rem_euclid(len as i64) as usize;
            let v = if k <= len / 2 {
                half[k].conj()
            } else {
                half[len - k]
            };
            out[(start + i as i64).rem_euclid(out.len() as i64) as usize] += v * w;
        }
    }

    /// A half spectrum of `len / 2 + 1` noise bins.
    fn half_spectrum(len: usize, seed: u64) -> Vec<Complex<f32>> {
        let v = noise(len + 2, seed);
        v.chunks(2).map(|c| Complex::new(c[0], c[1])).collect()
    }

    #[test]
    fn fold_equals_the_per_bin_form_across_every_wrap() {
        let len = 48;
        let half = half_spectrum(len, 1);
        for m in [6, 16, 48] {
            for start in -60..60i64 {
                for count in [0, 1, 5, 23, 49, 100] {
                    let w = noise(count, start as u64 + 7);
                    // Overwritten, whatever was there.
                    let mut a = vec![Complex::new(9.0, -9.0); m];
                    let mut b = vec![Complex::default(); m];
                    fold_product(&half, len, start, &w, &mut a);
                    fold_reference(&half, len, start, &w, &mut b);
                    for (x, y) in a.iter().zip(&b) {
                        assert!((x - y).norm() < 1e-5, "m {m} start {start} count {count}");
                    }
                }
            }
        }
    }

    #[test]
    fn bins_read_equals_the_per_value_maximum() {
        for len in [2, 8, 30] {
            for start in -70..70i64 {
                for count in 0..80 {
                    let brute = (0..count as i64)
                        .map(|i| {
                            let k = (start + i).rem_euclid(len as i64) as usize;
                            if k <= len / 2 { k } else { len - k }
                        })
                        .max()
                        .map_or(0, |k| k + 1);
                    assert_eq!(bins_read(len, start, count), brute, "{len} {start} {count}");
                }
            }
        }
    }

    #[test]
    fn twiddle_tables_equal_direct_sin_cos() {
        for (len, count) in [(1, 1), (10, 6), (5184, 2593), (559_872, 279_937)] {
            let t = twiddles::<f32>(len, count);
            assert_eq!(t.len(), count);
            for (k, z) in t.iter().enumerate() {
                let a = -2.0 * std::f64::consts::PI * k as f64 / len as f64;
                assert!((z.re as f64 - a.cos()).abs() < 1e-7, "{len} {k}");
                assert!((z.im as f64 - a.sin()).abs() < 1e-7, "{len} {k}");
            }
        }
    }

    #[test]
    fn fold_halves_gives_the_even_then_the_odd_outputs_of_the_fold() {
        let len = 60;
        let half = half_spectrum(len, 5);
        for m in [2, 12, 48] {
            let h = m / 2;
            let fft = rustfft::FftPlanner::new().plan_fft_forward(m);
            let half_fft = rustfft::FftPlanner::new().plan_fft_forward(h);
            let tw = twiddles(m, h + 1);
            for start in -70..70i64 {
                for count in [0, 1, 7, 30, 61, 130] {
                    let w = noise(count, start as u64 + 11);
                    let mut full = vec![Complex::default(); m];
                    fold_product(&half, len, start, &w, &mut full);
                    fft.process(&mut full);
                    let mut split = vec![Complex::new(9.0, 9.0); m];
                    fold_halves(&half, len, start, &w, &tw, &mut split);
                    half_fft.process(&mut split);
                    for s in 0..h {
                        let ok = (split[s] - full[2 * s]).norm() < 1e-3
                            && (split[h + s] - full[2 * s + 1]).norm() < 1e-3;
                        assert!(ok, "m {m} start {start} count {count} s {s}");
                    }
                }
            }
        }
    }

    #[test]
    fn low_bins_equal_a_real_fft() {
        let len = 36;
        let x = noise(len, 3);
        let mut full: Vec<Complex<f32>> = x.iter().map(|&v| Complex::new(v, 0.0)).collect();
        rustfft::FftPlanner::new()
            .plan_fft_forward(len)
            .process(&mut full);
        // rustfft's plan: natural order (the scrambled ones are tested in
        // fft/tests.rs).
        let half_fft = crate::transform::fft::Planner::with_radix3(false).paired(len / 2);
        for count in [0, 1, 2, 10, len / 2, len / 2 + 1] {
            let mut packed: Vec<Complex<f32>> =
                x.chunks(2).map(|c| Complex::new(c[0], c[1])).collect();
            let mut scratch = vec![Complex::default(); half_fft.scratch_len()];
            let mut out = vec![Complex::default(); count];
            low_bins(
                &mut packed,
                &*half_fft,
                &twiddles(len, count),
                &mut scratch,
                &mut out,
            );
            for (k, o) in out.iter().enumerate() {
                assert!((o - full[k]).norm() < 1e-4, "bin {k} of {count}");
            }
        }
    }
}
