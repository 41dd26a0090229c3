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

/// `N` complex values side by side, for the column butterflies.
trait Lanes: Copy {
    const N: usize;
    /// # Safety
    /// `p` points at `N` readable values.
    unsafe fn load(p: *const Complex<f32>) -> Self;
    /// # Safety
    /// `p` points at `N` writable values.
    unsafe fn store(self, p: *mut Complex<f32>);
    fn splat(c: Complex<f32>) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    /// Lane-wise complex product.
    fn mul(self, o: Self) -> Self;
    fn scale(self, s: f32) -> Self;
    /// Times `s i` (`s` = ±1).
    fn rot(self, s: f32) -> Self;
}

impl Lanes for Complex<f32> {
    const N: usize = 1;
    unsafe fn load(p: *const Complex<f32>) -> Self {
        unsafe { *p }
    }
    unsafe fn store(self, p: *mut Complex<f32>) {
        unsafe { *p = self }
    }
    fn splat(c: Complex<f32>) -> Self {
        c
    }
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn sub(self, o: Self) -> Self {
        self - o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
    fn scale(self, s: f32) -> Self {
        self * s
    }
    fn rot(self, s: f32) -> Self {
        Complex::new(-s * self.im, s * self.re)
    }
}

/// Two lanes in plain Rust: what WASM's `v128` computes, so the lane logic
/// is tested natively too.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
type Vector = [Complex<f32>; 2];

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Lanes for [Complex<f32>; 2] {
    const N: usize = 2;
    unsafe fn load(p: *const Complex<f32>) -> Self {
        unsafe { [*p, *p.add(1)] }
    }
    unsafe fn store(self, p: *mut Complex<f32>) {
        unsafe {
            *p = self[0];
            *p.add(1) = self[1];
        }
    }
    fn splat(c: Complex<f32>) -> Self {
        [c, c]
    }
    fn add(self, o: Self) -> Self {
        [self[0] + o[0], self[1] + o[1]]
    }
    fn sub(self, o: Self) -> Self {
        [self[0] - o[0], self[1] - o[1]]
    }
    fn mul(self, o: Self) -> Self {
        [self[0] * o[0], self[1] * o[1]]
    }
    fn scale(self, s: f32) -> Self {
        [self[0] * s, self[1] * s]
    }
    fn rot(self, s: f32) -> Self {
        [self[0].rot(s), self[1].rot(s)]
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Vector = simd::V;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::Lanes;
    use core::arch::wasm32::*;
    use rustfft::num_complex::Complex;

    /// Two complex values `[re0, im0, re1, im1]`.
    #[derive(Clone, Copy)]
    pub(super) struct V(v128);

    impl Lanes for V {
        const N: usize = 2;
        #[inline(always)]
        unsafe fn load(p: *const Complex<f32>) -> Self {
            V(unsafe { v128_load(p as *const v128) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut Complex<f32>) {
            unsafe { v128_store(p as *mut v128, self.0) }
        }
        #[inline(always)]
        fn splat(c: Complex<f32>) -> Self {
            V(f32x4(c.re, c.im, c.re, c.im))
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            V(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            V(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            // (a + bi)(c + di) = (ac - bd) + (ad + bc)i, two at a time.
            let (x, w) = (self.0, o.0);
            let re = i32x4_shuffle::<0, 0, 2, 2>(w, w);
            let im = i32x4_shuffle::<1, 1, 3, 3>(w, w);
            let swapped = i32x4_shuffle::<1, 0, 3, 2>(x, x);
            let sign = f32x4(-1.0, 1.0, -1.0, 1.0);
            V(f32x4_add(
                f32x4_mul(x, re),
                f32x4_mul(f32x4_mul(swapped, im), sign),
            ))
        }
        #[inline(always)]
        fn scale(self, s: f32) -> Self {
            V(f32x4_mul(self.0, f32x4_splat(s)))
        }
        #[inline(always)]
        fn rot(self, s: f32) -> Self {
            let swapped = i32x4_shuffle::<1, 0, 3, 2>(self.0, self.0);
            V(f32x4_mul(swapped, f32x4(-s, s, -s, s)))
        }
    }
}

/// `sin(2 pi / 3)`.
const SIN_3: f32 = 0.866_025_4;

/// 3-point DFT, `s` = -1 forward, +1 inverse.
#[inline(always)]
fn dft3<V: Lanes>(x0: V, x1: V, x2: V, s: f32) -> [V; 3] {
    let t = x1.add(x2);
    let u = x1.sub(x2).rot(s).scale(SIN_3);
    let m = x0.sub(t.scale(0.5));
    [x0.add(t), m.add(u), m.sub(u)]
}

/// 9-point DFT as 3 × 3: for `a = 3 p + q` and `k = s + 3 t`,
/// `X[k] = Σ_q w3^(q t) w9^(q s) Σ_p x[3 p + q] w3^(p s)`.
#[inline(always)]
fn dft9<V: Lanes>(x: [V; 9], s: f32, w9: &[Complex<f32>; 3]) -> [V; 9] {
    let a0 = dft3(x[0], x[3], x[6], s);
    let a1 = dft3(x[1], x[4], x[7], s);
    let a2 = dft3(x[2], x[5], x[8], s);
    let [w1, w2, w4] = w9.map(V::splat);
    let a1 = [a1[0], a1[1].mul(w1), a1[2].mul(w2)];
    let a2 = [a2[0], a2[1].mul(w2), a2[2].mul(w4)];
    let x0 = dft3(a0[0], a1[0], a2[0], s);
    let x1 = dft3(a0[1], a1[1], a2[1], s);
    let x2 = dft3(a0[2], a1[2], a2[2], s);
    [
        x0[0], x1[0], x2[0], x0[1], x1[1], x2[1], x0[2], x1[2], x2[2],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(n: usize) -> Vec<Complex<f32>> {
        let mut s = 7u64;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let a = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let b = (s >> 16 & 0xffffff) as f32 / (1u64 << 24) as f32 - 0.5;
                Complex::new(a, b)
            })
            .collect()
    }

    /// `|a - b| / |b|` over the whole vector (L2).
    fn relative(a: &[Complex<f32>], b: &[Complex<f32>]) -> f64 {
        let num: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).norm_sqr() as f64)
            .sum();
        let den: f64 = b.iter().map(|y| y.norm_sqr() as f64).sum();
        (num / den).sqrt()
    }

    #[test]
    fn radix3_plans_equal_rustfft_both_directions_all_entry_points() {
        let mut ours = Planner::with_radix3(true);
        let mut theirs = FftPlanner::<f32>::new();
        // The scattering's 3-heavy sizes (odd ones: real FFTs' halves), and
        // every branch of `radix_for`.
        for len in [
            81,
            162,
            243,
            576,
            2592,
            5184,
            19683,
            39366,
            46656,
            59049 * 2,
        ] {
            for forward in [true, false] {
                let (a, b) = if forward {
                    (ours.forward(len), theirs.plan_fft_forward(len))
                } else {
                    (ours.inverse(len), theirs.plan_fft_inverse(len))
                };
                assert!(
                    radix_for(len).is_none() || a.get_inplace_scratch_len() > 0,
                    "{len}"
                );
                // Two chunks: a buffer may hold several transforms.
                let x = signal(2 * len);
                let mut want = x.clone();
                b.process(&mut want);

                let mut got = x.clone();
                a.process(&mut got);
                let e = relative(&got, &want);
                assert!(e < 2e-6, "len {len} forward {forward} in place: {e}");

                let mut input = x.clone();
                let mut out = vec![Complex::default(); 2 * len];
                let mut scratch = vec![Complex::default(); a.get_outofplace_scratch_len()];
                a.process_outofplace_with_scratch(&mut input, &mut out, &mut scratch);
                assert!(relative(&out, &want) < 2e-6, "len {len} out of place");

                let mut out = vec![Complex::default(); 2 * len];
                let mut scratch = vec![Complex::default(); a.get_immutable_scratch_len()];
                a.process_immutable_with_scratch(&x, &mut out, &mut scratch);
                assert!(relative(&out, &want) < 2e-6, "len {len} immutable");
            }
        }
    }

    #[test]
    fn radix_choice() {
        assert_eq!(radix_for(64), None);
        assert_eq!(radix_for(3 << 10), None);
        assert_eq!(radix_for(9 << 6), Some(3));
        assert_eq!(radix_for(2 * 19683), Some(9));
        assert_eq!(radix_for(5 * 81), None);
    }
}
