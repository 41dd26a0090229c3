//! Complex FFT plans for the scattering transform: rustfft's, except in WASM
//! for lengths with a factor 9 (the scattering's `2^a 3^b` sizes), where
//! rustfft's SIMD128 planner falls back to its generic mixed-radix algorithm
//! (scalar transposes and twiddles: 5–7× native per point, against ~2.5× for
//! its radix-4 sizes). There [`Radix3`] takes factors 9 and 3 off with SIMD
//! column butterflies (twiddles fused) and leaves the rest to rustfft: these
//! lengths cost 1.1–1.8× less than with rustfft alone, the whole scattering
//! a third less (benches/RESULTS-browser.md, "Profile").

use rustfft::num_complex::Complex;
use rustfft::{Direction, Fft, FftDirection, FftPlanner, Length};
use std::collections::HashMap;
use std::sync::Arc;

mod lanes;
use lanes::{Lanes, Vector, dft3, dft9};

/// Plans complex FFTs of any length; see the module docs.
pub(crate) struct Planner {
    rustfft: FftPlanner<f32>,
    cache: HashMap<(usize, bool), Arc<dyn Fft<f32>>>,
    radix3: bool,
}

impl Planner {
    pub(crate) fn new() -> Self {
        Self::with_radix3(cfg!(all(
            target_arch = "wasm32",
            target_feature = "simd128"
        )))
    }

    /// `radix3`: whether [`Radix3`] takes the lengths it suits (tests use
    /// both ways on every target).
    pub(crate) fn with_radix3(radix3: bool) -> Self {
        Planner {
            rustfft: FftPlanner::new(),
            cache: HashMap::new(),
            radix3,
        }
    }

    pub(crate) fn forward(&mut self, len: usize) -> Arc<dyn Fft<f32>> {
        self.plan(len, FftDirection::Forward)
    }

    #[cfg(test)]
    pub(crate) fn inverse(&mut self, len: usize) -> Arc<dyn Fft<f32>> {
        self.plan(len, FftDirection::Inverse)
    }

    fn plan(&mut self, len: usize, direction: FftDirection) -> Arc<dyn Fft<f32>> {
        let key = (len, direction == FftDirection::Forward);
        if let Some(f) = self.cache.get(&key) {
            return f.clone();
        }
        let mut radices = Vec::new();
        let mut rest = len;
        while let Some(r) = self.radix3.then(|| radix_for(rest)).flatten() {
            radices.push(r);
            rest /= r;
        }
        let base = self.rustfft.plan_fft(rest, direction);
        let fft: Arc<dyn Fft<f32>> = if radices.is_empty() {
            base
        } else {
            Arc::new(Radix3::new(&radices, base, direction))
        };
        self.cache.insert(key, fft.clone());
        fft
    }
}

/// The radix [`Radix3`] peels off `len`, or `None` where rustfft is fast
/// in WASM too: lengths without a factor 9 (`2^a 3` is its SIMD radix-4),
/// small ones (hand-written butterflies), other primes.
fn radix_for(len: usize) -> Option<usize> {
    let mut rest = len;
    let mut threes = 0;
    while rest.is_multiple_of(3) && rest > 0 {
        rest /= 3;
        threes += 1;
    }
    if len <= 64 || threes < 2 || !rest.is_power_of_two() {
        return None;
    }
    Some(if threes == 2 { 3 } else { 9 })
}

/// A complex FFT of length `len = r_0 r_1 … r_(L-1) m` (each `r` 3 or 9):
/// at each level, `r`-point DFTs down the columns of each row seen as
/// `r × m` with the twiddles `w_(r m)^(b c)` applied, in place; rustfft's FFT
/// of length `m` on the rows left at the end; then one pass puts the values
/// in order. For one level, input `x[m a + b]` gives
/// `X[c + r d] = Σ_b w_m^(b d) w_(r m)^(b c) Σ_a x[m a + b] w_r^(a c)`: row
/// `c` holds the outputs `c + r d`, so the levels' transposes compose into
/// one reordering (a digit reversal) instead of one pass per level.
pub(crate) struct Radix3 {
    len: usize,
    /// Outermost first.
    levels: Vec<Level>,
    base: Arc<dyn Fft<f32>>,
    direction: FftDirection,
}

struct Level {
    r: usize,
    m: usize,
    /// `w_(r m)^(b c)` for `c` in `1..r`, `b` in `0..m`, at `(c - 1) m + b`.
    twiddles: Vec<Complex<f32>>,
    /// `w_9^k` for `k` = 1, 2, 4 (radix 9's inner twiddles).
    w9: [Complex<f32>; 3],
}

impl Radix3 {
    /// `radices` outermost first; `base` the FFT of what is left.
    fn new(radices: &[usize], base: Arc<dyn Fft<f32>>, direction: FftDirection) -> Self {
        assert_eq!(base.fft_direction(), direction);
        let sign = match direction {
            FftDirection::Forward => -1.0,
            FftDirection::Inverse => 1.0,
        };
        let w = |k: usize, n: usize| {
            let a = sign * 2.0 * std::f64::consts::PI * k as f64 / n as f64;
            Complex::new(a.cos() as f32, a.sin() as f32)
        };
        let len = radices.iter().product::<usize>() * base.len();
        let mut m = len;
        let levels = radices
            .iter()
            .map(|&r| {
                assert!(r == 3 || r == 9);
                let n = m;
                m /= r;
                Level {
                    r,
                    m,
                    twiddles: (1..r)
                        .flat_map(|c| (0..m).map(move |b| w((b * c) % n, n)))
                        .collect(),
                    w9: [w(1, 9), w(2, 9), w(4, 9)],
                }
            })
            .collect();
        Radix3 {
            len,
            levels,
            base,
            direction,
        }
    }

    fn sign(&self) -> f32 {
        match self.direction {
            FftDirection::Forward => -1.0,
            FftDirection::Inverse => 1.0,
        }
    }

    /// The FFT of `data` (one transform, destroyed) into `out`.
    fn run(
        &self,
        data: &mut [Complex<f32>],
        out: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
    ) {
        assert!(data.len() == self.len && out.len() == self.len);
        let s = self.sign();
        for l in &self.levels {
            let vectors = l.m - l.m % Vector::N;
            for row in data.chunks_exact_mut(l.r * l.m) {
                // SAFETY: `row` holds `r m` values and `twiddles` `(r - 1) m`;
                // the columns visited are below `m`.
                unsafe {
                    let (x, t) = (row.as_mut_ptr(), l.twiddles.as_ptr());
                    for b in (0..vectors).step_by(Vector::N) {
                        l.column::<Vector>(x, t, b, s);
                    }
                    for b in vectors..l.m {
                        l.column::<Complex<f32>>(x, t, b, s);
                    }
                }
            }
        }
        self.base.process_with_scratch(data, scratch);
        self.reorder(0, data, out, 0, 1);
    }

    /// `data` holds, row after row, the outputs of level `level` and below
    /// whose index is `offset + stride j`; write them there.
    fn reorder(
        &self,
        level: usize,
        data: &[Complex<f32>],
        out: &mut [Complex<f32>],
        offset: usize,
        stride: usize,
    ) {
        match self.levels.get(level) {
            None => {
                for (o, v) in out[offset..].iter_mut().step_by(stride).zip(data) {
                    *o = *v;
                }
            }
            Some(l) => {
                for (c, row) in data.chunks_exact(l.m).enumerate() {
                    self.reorder(level + 1, row, out, offset + c * stride, stride * l.r);
                }
            }
        }
    }
}

impl Level {
    /// The DFT of column `b` (and the next `V::N - 1`), twiddled, in place.
    #[inline(always)]
    unsafe fn column<V: Lanes>(
        &self,
        x: *mut Complex<f32>,
        t: *const Complex<f32>,
        b: usize,
        s: f32,
    ) {
        let m = self.m;
        unsafe {
            let at = |a: usize| x.add(a * m + b);
            let tw = |c: usize| V::load(t.add((c - 1) * m + b));
            if self.r == 3 {
                let y = dft3(V::load(at(0)), V::load(at(1)), V::load(at(2)), s);
                y[0].store(at(0));
                y[1].mul(tw(1)).store(at(1));
                y[2].mul(tw(2)).store(at(2));
            } else {
                let mut v = [V::splat(Complex::default()); 9];
                for (a, v) in v.iter_mut().enumerate() {
                    *v = V::load(at(a));
                }
                let y = dft9(v, s, &self.w9);
                y[0].store(at(0));
                for (c, y) in y.into_iter().enumerate().skip(1) {
                    y.mul(tw(c)).store(at(c));
                }
            }
        }
    }
}

impl Length for Radix3 {
    fn len(&self) -> usize {
        self.len
    }
}

impl Direction for Radix3 {
    fn fft_direction(&self) -> FftDirection {
        self.direction
    }
}

impl Fft<f32> for Radix3 {
    fn process_with_scratch(&self, buffer: &mut [Complex<f32>], scratch: &mut [Complex<f32>]) {
        assert!(buffer.len().is_multiple_of(self.len), "FFT buffer length");
        let (data, scratch) = scratch.split_at_mut(self.len);
        for chunk in buffer.chunks_exact_mut(self.len) {
            data.copy_from_slice(chunk);
            self.run(data, chunk, scratch);
        }
    }

    fn process_outofplace_with_scratch(
        &self,
        input: &mut [Complex<f32>],
        output: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
    ) {
        assert!(
            input.len() == output.len() && input.len().is_multiple_of(self.len),
            "FFT buffer length"
        );
        for (i, o) in input
            .chunks_exact_mut(self.len)
            .zip(output.chunks_exact_mut(self.len))
        {
            self.run(i, o, scratch);
        }
    }

    fn process_immutable_with_scratch(
        &self,
        input: &[Complex<f32>],
        output: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
    ) {
        assert!(
            input.len() == output.len() && input.len().is_multiple_of(self.len),
            "FFT buffer length"
        );
        let (data, scratch) = scratch.split_at_mut(self.len);
        for (i, o) in input
            .chunks_exact(self.len)
            .zip(output.chunks_exact_mut(self.len))
        {
            data.copy_from_slice(i);
            self.run(data, o, scratch);
        }
    }

    fn get_inplace_scratch_len(&self) -> usize {
        self.len + self.base.get_inplace_scratch_len()
    }

    fn get_outofplace_scratch_len(&self) -> usize {
        self.base.get_inplace_scratch_len()
    }

    fn get_immutable_scratch_len(&self) -> usize {
        self.get_inplace_scratch_len()
    }
}

#[cfg(test)]
mod tests;
