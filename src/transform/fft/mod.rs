//! Complex FFT plans for the scattering transform: rustfft's, except in WASM
//! for lengths with a factor 9 (the scattering's `2^a 3^b` sizes), where
//! rustfft's SIMD128 planner falls back to its generic mixed-radix algorithm
//! (scalar transposes and twiddles: 5–7× native per point, against ~2.5× for
//! its radix-4 sizes). There [`Radix3`] takes factors 9 and 3 off with SIMD
//! column butterflies (twiddles fused) and leaves the rest to rustfft: these
//! lengths cost 1.1–1.8× less than with rustfft alone, the whole scattering
//! a third less (benches/RESULTS-browser.md, "Profile"). [`Paired`] plans
//! leave out its reordering pass where two FFTs have only a pointwise step
//! between them (another sixth less).
//!
//! Plans are generic over [`Real`]: `f32` for the product, `f64` for the
//! scattering's reference precision (rustfft alone: [`Radix3`] is `f32`).

use rustfft::num_complex::Complex;
use rustfft::num_traits::{Float, NumAssign};
use rustfft::{Direction, Fft, FftDirection, FftNum, FftPlanner, Length};
use std::collections::HashMap;
use std::sync::Arc;

mod lanes;
use lanes::{Lanes, Vector, dft3, dft9};

/// The floating-point types the scattering computes in: `f32` (the product)
/// and `f64` (its reference precision).
pub trait Real: FftNum + Float + NumAssign + Default + From<f32> {
    /// A [`Radix3`] plan where it suits `len` (only `f32` has one).
    fn radix3(
        rustfft: &mut FftPlanner<Self>,
        len: usize,
        direction: FftDirection,
    ) -> Option<Views<Self>>;

    fn of(v: f64) -> Self {
        Self::from_f64(v).expect("finite")
    }

    fn to_f32_lossy(self) -> f32 {
        self.to_f32().unwrap_or(f32::NAN)
    }
}

/// One plan seen as an [`Fft`] and as a [`Paired`].
pub type Views<T> = (Arc<dyn Fft<T>>, Arc<dyn Paired<T>>);

impl Real for f32 {
    fn radix3(
        rustfft: &mut FftPlanner<f32>,
        len: usize,
        direction: FftDirection,
    ) -> Option<Views<f32>> {
        radix_for(len)?;
        let mut radices = Vec::new();
        let mut rest = len;
        while let Some(r) = radix_for(rest) {
            radices.push(r);
            rest /= r;
        }
        let base = rustfft.plan_fft(rest, direction);
        let plan = Arc::new(Radix3::new(&radices, base, direction));
        Some((plan.clone(), plan))
    }
}

impl Real for f64 {
    fn radix3(_: &mut FftPlanner<f64>, _: usize, _: FftDirection) -> Option<Views<f64>> {
        None
    }
}

/// Plans complex FFTs of any length; see the module docs.
pub(crate) struct Planner<T: Real = f32> {
    rustfft: FftPlanner<T>,
    cache: HashMap<(usize, bool), Views<T>>,
    radix3: bool,
}

impl<T: Real> Planner<T> {
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

    pub(crate) fn forward(&mut self, len: usize) -> Arc<dyn Fft<T>> {
        self.plan(len, FftDirection::Forward).0
    }

    /// A forward FFT for two transforms with a pointwise step between them
    /// (see [`Paired`]).
    pub(crate) fn paired(&mut self, len: usize) -> Arc<dyn Paired<T>> {
        self.plan(len, FftDirection::Forward).1
    }

    #[cfg(test)]
    pub(crate) fn inverse(&mut self, len: usize) -> Arc<dyn Fft<T>> {
        self.plan(len, FftDirection::Inverse).0
    }

    /// The plan, as an [`Fft`] and as a [`Paired`] (rustfft's in [`Plain`]).
    fn plan(&mut self, len: usize, direction: FftDirection) -> Views<T> {
        let key = (len, direction == FftDirection::Forward);
        if let Some(p) = self.cache.get(&key) {
            return p.clone();
        }
        let views = match self
            .radix3
            .then(|| T::radix3(&mut self.rustfft, len, direction))
            .flatten()
        {
            Some(views) => views,
            None => {
                let f = self.rustfft.plan_fft(len, direction);
                let paired: Arc<dyn Paired<T>> = Arc::new(Plain(f.clone()));
                (f, paired)
            }
        };
        self.cache.insert(key, views.clone());
        views
    }
}

/// A forward FFT of length `len` for a pair of transforms with a pointwise
/// step between them (the scattering's modulus): the first may leave its
/// output in the plan's own scrambled order, and the second reads its input
/// in that order, so neither pays the reordering pass (in WASM, a ninth of
/// the scattering, all memory traffic). Each call transforms every `len`
/// values of `buffer`, in place.
pub trait Paired<T = f32>: Send + Sync {
    /// Natural input, output in the scrambled order.
    fn forward_scrambled(&self, buffer: &mut [Complex<T>], scratch: &mut [Complex<T>]);
    /// Input in the scrambled order, natural output.
    fn forward_from_scrambled(&self, buffer: &mut [Complex<T>], scratch: &mut [Complex<T>]);
    fn scratch_len(&self) -> usize;
}

/// rustfft's plan: its order is the natural one.
struct Plain<T>(Arc<dyn Fft<T>>);

impl<T: Real> Paired<T> for Plain<T> {
    fn forward_scrambled(&self, buffer: &mut [Complex<T>], scratch: &mut [Complex<T>]) {
        self.0.process_with_scratch(buffer, scratch);
    }
    fn forward_from_scrambled(&self, buffer: &mut [Complex<T>], scratch: &mut [Complex<T>]) {
        self.0.process_with_scratch(buffer, scratch);
    }
    fn scratch_len(&self) -> usize {
        self.0.get_inplace_scratch_len()
    }
}

/// The order [`Radix3::run`] leaves before its reordering pass: the first
/// transform is that run without the pass; the second runs the same steps
/// transposed and in reverse (decimation in time: the rows' FFTs first, then
/// each level's columns with the twiddles applied before their DFTs), which
/// reads that order and writes the natural one.
impl Paired<f32> for Radix3 {
    fn forward_scrambled(&self, buffer: &mut [Complex<f32>], scratch: &mut [Complex<f32>]) {
        assert_eq!(self.direction, FftDirection::Forward);
        assert!(buffer.len().is_multiple_of(self.len), "FFT buffer length");
        for data in buffer.chunks_exact_mut(self.len) {
            self.columns(data, false);
            self.base.process_with_scratch(data, scratch);
        }
    }
    fn forward_from_scrambled(&self, buffer: &mut [Complex<f32>], scratch: &mut [Complex<f32>]) {
        assert_eq!(self.direction, FftDirection::Forward);
        assert!(buffer.len().is_multiple_of(self.len), "FFT buffer length");
        for data in buffer.chunks_exact_mut(self.len) {
            self.base.process_with_scratch(data, scratch);
            self.columns(data, true);
        }
    }
    fn scratch_len(&self) -> usize {
        self.base.get_inplace_scratch_len()
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
        self.columns(data, false);
        self.base.process_with_scratch(data, scratch);
        self.reorder(0, data, out, 0, 1);
    }

    /// Every level's column DFTs over one transform's `data`: outermost
    /// level first with the twiddles after the DFTs, or (`transposed`, see
    /// [`Paired`]) innermost first with the twiddles before them.
    fn columns(&self, data: &mut [Complex<f32>], transposed: bool) {
        let s = self.sign();
        let level = |l: &Level, data: &mut [Complex<f32>]| {
            let vectors = l.m - l.m % Vector::N;
            for row in data.chunks_exact_mut(l.r * l.m) {
                // SAFETY: `row` holds `r m` values and `twiddles` `(r - 1) m`;
                // the columns visited are below `m`.
                unsafe {
                    let (x, t) = (row.as_mut_ptr(), l.twiddles.as_ptr());
                    for b in (0..vectors).step_by(Vector::N) {
                        l.column::<Vector>(x, t, b, s, transposed);
                    }
                    for b in vectors..l.m {
                        l.column::<Complex<f32>>(x, t, b, s, transposed);
                    }
                }
            }
        };
        if transposed {
            self.levels.iter().rev().for_each(|l| level(l, data));
        } else {
            self.levels.iter().for_each(|l| level(l, data));
        }
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
    /// The DFT of column `b` (and the next `V::N - 1`), twiddled, in place:
    /// the twiddles after the DFT, or before it when `transposed`.
    #[inline(always)]
    unsafe fn column<V: Lanes>(
        &self,
        x: *mut Complex<f32>,
        t: *const Complex<f32>,
        b: usize,
        s: f32,
        transposed: bool,
    ) {
        let m = self.m;
        unsafe {
            let at = |a: usize| x.add(a * m + b);
            let tw = |c: usize| V::load(t.add((c - 1) * m + b));
            let load = |a: usize| {
                let v = V::load(at(a));
                if transposed && a > 0 { v.mul(tw(a)) } else { v }
            };
            let store = |c: usize, y: V| {
                let y = if !transposed && c > 0 {
                    y.mul(tw(c))
                } else {
                    y
                };
                y.store(at(c));
            };
            if self.r == 3 {
                let y = dft3(load(0), load(1), load(2), s);
                for (c, y) in y.into_iter().enumerate() {
                    store(c, y);
                }
            } else {
                let mut v = [V::splat(Complex::default()); 9];
                for (a, v) in v.iter_mut().enumerate() {
                    *v = load(a);
                }
                for (c, y) in dft9(v, s, &self.w9).into_iter().enumerate() {
                    store(c, y);
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
