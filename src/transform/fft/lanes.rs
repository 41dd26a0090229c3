//! The column butterflies of [`super::Radix3`]: `N` complex values side by
//! side ([`Lanes`]: WASM's `v128` in SIMD builds, two plain lanes elsewhere so
//! the lane logic is tested natively), and the 3- and 9-point DFTs on them.

use rustfft::num_complex::Complex;

/// `N` complex values side by side, for the column butterflies.
pub(super) trait Lanes: Copy {
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
pub(super) type Vector = [Complex<f32>; 2];

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
pub(super) type Vector = simd::V;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::Lanes;
    use core::arch::wasm32::*;
    use rustfft::num_complex::Complex;

    /// Two complex values `[re0, im0, re1, im1]`.
    #[derive(Clone, Copy)]
    pub(in crate::transform::fft) struct V(v128);

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
pub(super) fn dft3<V: Lanes>(x0: V, x1: V, x2: V, s: f32) -> [V; 3] {
    let t = x1.add(x2);
    let u = x1.sub(x2).rot(s).scale(SIN_3);
    let m = x0.sub(t.scale(0.5));
    [x0.add(t), m.add(u), m.sub(u)]
}

/// 9-point DFT as 3 × 3: for `a = 3 p + q` and `k = s + 3 t`,
/// `X[k] = Σ_q w3^(q t) w9^(q s) Σ_p x[3 p + q] w3^(p s)`.
#[inline(always)]
pub(super) fn dft9<V: Lanes>(x: [V; 9], s: f32, w9: &[Complex<f32>; 3]) -> [V; 9] {
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
