//! Morlet filter-bank design, kept apart from the transform (as Kymatio does).
//!
//! The parameters (centre frequency `xi`, bandwidth `sigma`, maximal dyadic
//! subsampling `j`) follow Kymatio 0.3's `compute_params_filterbank`, so our
//! paths are the same as Kymatio's path for path. Frequencies are in cycles per
//! sample (0.5 = Nyquist).
//!
//! Filters are stored sparsely: a Morlet wavelet is a Gaussian bump in
//! frequency, so only the bins where it exceeds [`SUPPORT_EPS`] of its peak are
//! kept. That is what makes the transform cheap: a product with the signal's
//! spectrum costs the filter's support, not the padded length.

use super::fft::Real;
use super::gauss::{add_periodised, morlet_l1};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use std::f64::consts::SQRT_2;

/// Bins whose magnitude is below this fraction of the filter's peak are dropped.
/// Their contribution to any coefficient is far below the 1e-3 agreement we
/// check against Kymatio.
pub const SUPPORT_EPS: f64 = 1e-7;

/// Kymatio's defaults: redundancy, low-pass width at scale 1, aliasing margin.
const R_PSI: f64 = std::f64::consts::FRAC_1_SQRT_2;
const SIGMA0: f64 = 0.1;
const ALPHA: f64 = 5.0;

/// One band-pass filter's design parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct WaveletParams {
    /// Centre frequency, cycles per sample.
    pub xi: f64,
    /// Gaussian bandwidth in frequency, cycles per sample.
    pub sigma: f64,
    /// Maximal dyadic subsampling without aliasing (Kymatio's `j`).
    pub j: u32,
}

fn xi_max(q: u32) -> f64 {
    (1.0 / (1.0 + 2f64.powf(3.0 / q as f64))).max(0.35)
}

fn sigma_psi(xi: f64, q: u32) -> f64 {
    let factor = 1.0 / 2f64.powf(1.0 / q as f64);
    let term1 = (1.0 - factor) / (1.0 + factor);
    let term2 = 1.0 / (2.0 * (1.0 / R_PSI).ln()).sqrt();
    xi * term1 * term2
}

fn max_dyadic_subsampling(xi: f64, sigma: f64) -> u32 {
    let upper = (xi + ALPHA * sigma).min(0.5);
    ((-upper.log2()).floor() - 1.0).max(0.0) as u32
}

/// The wavelet family for `q` filters per octave down to the scale `2^j_scale`:
/// geometric centre frequencies `q` per octave, then `q - 1` linearly spaced
/// filters of constant width to cover the low frequencies (Kymatio's design).
pub fn wavelet_params(q: u32, j_scale: u32) -> Vec<WaveletParams> {
    let sigma_min = SIGMA0 / 2f64.powi(j_scale as i32);
    let step = 2f64.powf(1.0 / q as f64);
    let mut xis = Vec::new();
    let mut sigmas = Vec::new();
    let x0 = xi_max(q);
    let s0 = sigma_psi(x0, q);
    let elbow = if s0 <= sigma_min {
        s0
    } else {
        xis.push(x0);
        sigmas.push(s0);
        while *sigmas.last().unwrap() > sigma_min * step {
            xis.push(xis.last().unwrap() / step);
            sigmas.push(sigmas.last().unwrap() / step);
        }
        *xis.last().unwrap()
    };
    for i in 1..q {
        xis.push(elbow - i as f64 / q as f64 * elbow);
        sigmas.push(sigma_min);
    }
    xis.iter()
        .zip(&sigmas)
        .map(|(&xi, &sigma)| WaveletParams {
            xi,
            sigma,
            j: max_dyadic_subsampling(xi, sigma),
        })
        .collect()
}

/// Width parameter of the low-pass filter for an averaging window of `t` samples.
pub fn phi_sigma(t: usize) -> f64 {
    SIGMA0 / t as f64
}

/// A real-valued frequency response on `n` bins, stored over a contiguous
/// (circular) range of bins.
#[derive(Debug, Clone)]
pub struct SparseFilter<T = f32> {
    /// First bin, possibly negative (bins are taken modulo `n`).
    pub start: i64,
    /// Response at bins `start, start + 1, …`.
    pub values: Vec<T>,
}

impl<T> SparseFilter<T> {
    /// Number of bins in the support.
    pub fn width(&self) -> usize {
        self.values.len()
    }

    /// Highest absolute bin frequency reached (bins, one-sided).
    pub fn max_abs_bin(&self) -> i64 {
        let end = self.start + self.values.len() as i64 - 1;
        self.start.abs().max(end.abs())
    }
}

/// Kymatio's number of periods for the periodised Gaussian (at most 5).
fn periods(sigma: f64) -> i64 {
    let val = (-2.0 * sigma * sigma * 1e-7f64.ln()).sqrt();
    ((val + 1.0).ceil() as i64).min(5)
}

/// Periodised Gaussian `mean_p exp(-(f + p - centre)^2 / 2 sigma^2)` over Kymatio's
/// `2P - 1` periods (one value; [`add_periodised`] fills runs of bins).
fn periodised_gauss(f: f64, centre: f64, sigma: f64, p: i64) -> f64 {
    let mut acc = 0.0;
    for k in (1 - p)..p {
        let d = f + k as f64 - centre;
        acc += (-d * d / (2.0 * sigma * sigma)).exp();
    }
    acc / (2 * p - 1) as f64
}

/// Design a Morlet wavelet (`xi = Some`) or the Gaussian low-pass (`xi = None`)
/// on `n` frequency bins, normalised to unit L1 norm in time as Kymatio does;
/// designed in `f64`, stored as `T`.
pub fn morlet<T: Real>(n: usize, xi: Option<f64>, sigma: f64) -> SparseFilter<T> {
    let (start, mut values, closed) = unnormalised(n, xi, sigma);
    let l1 = closed.unwrap_or_else(|| time_l1_norm(n, start, &values));
    for v in &mut values {
        *v /= l1;
    }
    SparseFilter {
        start,
        values: values.into_iter().map(T::of).collect(),
    }
}

/// [`morlet`]'s first bin and values before normalisation, and their L1 norm
/// in time where [`morlet_l1`]'s closed form gives it: the norm of the
/// untruncated filter (Kymatio's), ~4e-7 from that of the values kept.
fn unnormalised(n: usize, xi: Option<f64>, sigma: f64) -> (i64, Vec<f64>, Option<f64>) {
    let nf = n as f64;
    let p = periods(sigma);
    // Half-width (in bins) beyond which a Gaussian is below SUPPORT_EPS.
    let half = (sigma * (2.0 * (1.0 / SUPPORT_EPS).ln()).sqrt() * nf).ceil() as i64 + 1;
    let low0 = periodised_gauss(0.0, 0.0, sigma, p);
    let (start, end, kappa, centre) = match xi {
        Some(xi) => {
            let kappa = periodised_gauss(0.0, xi, sigma, p) / low0;
            let c = (xi * nf).round() as i64;
            // The zero-mean correction term is a low-pass bump at 0; include it
            // only when it is not negligible.
            let lo = if kappa > SUPPORT_EPS {
                (-half).min(c - half)
            } else {
                c - half
            };
            (lo, c + half, kappa, xi)
        }
        None => (-half, half, 0.0, 0.0),
    };
    // Never more than one full period.
    let (start, end) = if end - start + 1 > n as i64 {
        let s = if xi.is_some() {
            (centre * nf).round() as i64 - n as i64 / 2
        } else {
            -(n as i64) / 2
        };
        (s, s + n as i64 - 1)
    } else {
        (start, end)
    };
    let mut values = vec![0.0f64; (end - start + 1) as usize];
    let w = 1.0 / (2 * p - 1) as f64;
    add_periodised(&mut values, start, n, centre, sigma, p, w);
    if kappa > 0.0 {
        add_periodised(&mut values, start, n, 0.0, sigma, p, -kappa * w);
    }
    // The low-pass bump at bin 0 is in the support (or weighs nothing): the
    // closed form's kappa; else only an FFT of the values is exact.
    let bump_in = kappa > SUPPORT_EPS || end - start + 1 == n as i64;
    let kappa_in = match (bump_in, kappa) {
        (true, k) => Some(k),
        (false, k) if k < 1e-14 => Some(0.0),
        _ => None,
    };
    let l1 = kappa_in.and_then(|k| morlet_l1(n, centre, sigma, p, k, 2 * values.len()));
    (start, values, l1)
}

/// `sum_t |h[t]|` for the filter whose DFT on `n` bins is `values` from `start`.
///
/// The time samples at a stride `n / m` are an exact inverse FFT of the
/// spectrum folded onto `m` bins. `|h|^2` is band-limited to the support and a
/// Morlet's `|h|` has no zeros (a smooth envelope), so with `m` at least twice
/// the support the Riemann sum times the stride is accurate to far below our
/// tolerance, at a fraction of an `n`-point FFT (this was most of the plan's
/// time with `m` at 8 times the support).
fn time_l1_norm(n: usize, start: i64, values: &[f64]) -> f64 {
    let mut m = n;
    while m.is_multiple_of(2) && m / 2 >= 2 * values.len() && m / 2 >= 64 {
        m /= 2;
    }
    let mut buf = vec![Complex::new(0.0f64, 0.0); m];
    for (i, v) in values.iter().enumerate() {
        let b = (start + i as i64).rem_euclid(m as i64) as usize;
        buf[b].re += v;
    }
    FftPlanner::new().plan_fft_inverse(m).process(&mut buf);
    // ifft_n(h)[k * n/m] = (1/n) * unnormalised ifft_m(folded)[k]
    let stride = (n / m) as f64;
    buf.iter().map(|c| c.norm()).sum::<f64>() * stride / n as f64
}

/// Numerical support (half-width, samples) of the low-pass filter in time: the
/// smallest `s` with the L1 mass outside `[-s, s]` below `criterion`
/// (Kymatio's `compute_temporal_support`).
pub fn phi_time_support(t: usize, criterion: f64) -> usize {
    // The Gaussian in time has std 1 / (2 pi sigma); evaluate it directly.
    let sigma_t = 1.0 / (2.0 * std::f64::consts::PI * phi_sigma(t));
    let total: f64 = SQRT_2 * sigma_t * std::f64::consts::PI.sqrt();
    let mut tail = total / 2.0;
    let mut s = 0usize;
    while tail > criterion * total {
        let x = s as f64;
        tail -= (-x * x / (2.0 * sigma_t * sigma_t)).exp();
        s += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_order_centre_frequencies_are_geometric_with_q_per_octave() {
        let p = wavelet_params(8, 13);
        assert!((p[0].xi - 1.0 / (1.0 + 2f64.powf(3.0 / 8.0))).abs() < 1e-12);
        // Geometric part: ratio 2^(1/8) between neighbours.
        let sigma_min = SIGMA0 / 2f64.powi(13);
        let n_geo = p.iter().filter(|w| w.sigma > sigma_min * 1.000_001).count();
        let geometric: Vec<_> = p[..n_geo].windows(2).collect();
        assert!(geometric.len() > 80);
        for w in geometric {
            let r = w[0].xi / w[1].xi;
            assert!((r - 2f64.powf(1.0 / 8.0)).abs() < 1e-12, "ratio {r}");
            // Constant Q: bandwidth proportional to the centre frequency.
            assert!((w[0].sigma / w[0].xi - w[1].sigma / w[1].xi).abs() < 1e-12);
        }
        // Kymatio's count for these parameters.
        assert_eq!(p.len(), 94);
        assert_eq!(wavelet_params(1, 13).len(), 14);
    }

    #[test]
    fn littlewood_paley_sum_is_bounded() {
        // Sum of |psi|^2 (+ the analytic mirror) and |phi|^2 covers the band
        // without gaps or large overlaps: bounded above and below away from 0
        // between the lowest and highest centre frequencies.
        let n = 1 << 16;
        let params = wavelet_params(8, 10);
        let mut lp = vec![0.0f64; n];
        let mut add = |f: &SparseFilter, scale: f64| {
            for (i, v) in f.values.iter().enumerate() {
                let b = (f.start + i as i64).rem_euclid(n as i64) as usize;
                lp[b] += scale * (*v as f64).powi(2);
                lp[(n - b) % n] += scale * (*v as f64).powi(2);
            }
        };
        for p in &params {
            add(&morlet::<f32>(n, Some(p.xi), p.sigma), 1.0);
        }
        let peak = lp.iter().cloned().fold(0.0, f64::max);
        let lo_bin =
            (params.last().unwrap().xi.max(params[params.len() - 8].xi) * n as f64) as usize;
        let hi_bin = (0.35 * n as f64) as usize;
        let min = lp[lo_bin..hi_bin]
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min);
        assert!(
            min / peak > 0.3,
            "gap in coverage: min/peak = {}",
            min / peak
        );
    }

    #[test]
    fn closed_form_norm_agrees_with_the_fft_of_the_values() {
        // `morlet_l1` is the norm of the untruncated filter; dropping the bins
        // below SUPPORT_EPS moves it by ~4e-7 (the cut's ringing in time).
        let n = 3 << 15;
        let mut closed = 0;
        for q in [1, 8] {
            for p in wavelet_params(q, 12) {
                let (start, values, l1) = unnormalised(n, Some(p.xi), p.sigma);
                let Some(l1) = l1 else { continue };
                let fft = time_l1_norm(n, start, &values);
                assert!((l1 / fft - 1.0).abs() < 1e-6, "{l1} vs {fft} for {p:?}");
                closed += 1;
            }
        }
        assert!(closed > 80, "closed form for {closed} filters");
    }

    #[test]
    fn filters_have_unit_l1_norm_and_zero_mean() {
        let n = 1 << 14;
        for p in wavelet_params(8, 9).iter().step_by(7) {
            let f = morlet::<f32>(n, Some(p.xi), p.sigma);
            // Zero mean in time <=> zero at bin 0.
            let at0 = (0 - f.start) as usize;
            if at0 < f.values.len() {
                assert!(f.values[at0].abs() < 1e-6, "psi(0) = {}", f.values[at0]);
            }
            // Dense check of the L1 norm with a full inverse FFT.
            let mut buf = vec![Complex::new(0.0f64, 0.0); n];
            for (i, v) in f.values.iter().enumerate() {
                buf[(f.start + i as i64).rem_euclid(n as i64) as usize].re += *v as f64;
            }
            FftPlanner::new().plan_fft_inverse(n).process(&mut buf);
            let l1: f64 = buf.iter().map(|c| c.norm()).sum::<f64>() / n as f64;
            assert!((l1 - 1.0).abs() < 1e-5, "L1 = {l1} for xi = {}", p.xi);
        }
    }
}
