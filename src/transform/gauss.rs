//! Sampled Gaussians for the Morlet filters (`filters.rs`), built for plan
//! speed: their values on a run of DFT bins without an `exp` per bin, and a
//! Morlet filter's time-domain L1 norm without an inverse FFT. Both were
//! most of the scattering plan's second (issue 14): a million bins times
//! `2P - 1` periods of `exp`, and f64 FFTs up to half the padded length.

use std::f64::consts::PI;

/// Bins between exact restarts of the product recurrence in [`add_gauss`]:
/// its relative error grows like `BLOCK^2 * eps / 2`, ~1e-12 here.
const BLOCK: usize = 128;

/// `ln` of the smallest normal f64: terms below it add nothing.
const NEGLIGIBLE: f64 = -708.0;

/// `out[i] += weight * exp(-alpha * (x0 + i)^2)` (`|weight| <= 1`, `x` in
/// bins). Each block starts from an exact `exp` and steps with
/// `g(x + 1) = g(x) r(x)`, `r(x + 1) = r(x) exp(-2 alpha)`; blocks where the
/// Gaussian is below f64's range are skipped (the far periods).
pub(crate) fn add_gauss(out: &mut [f64], x0: f64, alpha: f64, weight: f64) {
    let lw = weight.abs().ln();
    let q = (-2.0 * alpha).exp();
    for (bi, block) in out.chunks_mut(BLOCK).enumerate() {
        let a = x0 + (bi * BLOCK) as f64;
        let b = a + (block.len() - 1) as f64;
        let nearest = if a > 0.0 {
            a
        } else if b < 0.0 {
            b
        } else {
            0.0
        };
        if lw - alpha * nearest * nearest < NEGLIGIBLE {
            continue;
        }
        // Steep (a few bins wide) or starting near underflow, where the
        // recurrence would carry a subnormal's error: exact values.
        if alpha > 1.0 || alpha * a * a > 600.0 {
            for (i, o) in block.iter_mut().enumerate() {
                let x = a + i as f64;
                *o += weight * (-alpha * x * x).exp();
            }
            continue;
        }
        let mut g = weight * (-alpha * a * a).exp();
        let mut r = (-alpha * (2.0 * a + 1.0)).exp();
        for o in block.iter_mut() {
            *o += g;
            g *= r;
            r *= q;
        }
    }
}

/// `out[i] += weight * sum_{k=1-p}^{p-1} exp(-(f + k - centre)^2 / 2 sigma^2)`
/// with `f` bin `start + i` of `n` taken into `[0, 1)` cycles per sample:
/// Kymatio's Gaussian periodised over `2p - 1` periods.
pub(crate) fn add_periodised(
    out: &mut [f64],
    start: i64,
    n: usize,
    centre: f64,
    sigma: f64,
    p: i64,
    weight: f64,
) {
    let (ni, nf) = (n as i64, n as f64);
    let alpha = 1.0 / (2.0 * sigma * sigma * nf * nf);
    let mut i = 0;
    while i < out.len() {
        // A run of bins in one period `[w n, (w + 1) n)`, where `f = b / n - w`.
        let b = start + i as i64;
        let w = b.div_euclid(ni);
        let end = (((w + 1) * ni - start) as usize).min(out.len());
        for k in (1 - p)..p {
            let centre_bins = (centre + (w - k) as f64) * nf;
            add_gauss(&mut out[i..end], b as f64 - centre_bins, alpha, weight);
        }
        i = end;
    }
}

/// `sum_t |h[t]|` over one period, `h` the inverse DFT on `n` bins of the
/// filter `(G(f - xi) - kappa G(f)) / (2p - 1)` periodised (see
/// [`add_periodised`]), or `None` where the closed form below does not hold
/// or would cost more than `max_terms` terms.
///
/// By Poisson summation `h[t] = C exp(-a t^2) (exp(2 pi i xi t) - kappa)`
/// with `a = 2 pi^2 sigma^2`, `C = sigma sqrt(2 pi) / (2p - 1)`, when the
/// copies of this envelope `n` samples apart are negligible (`sigma n >= 4`:
/// below `e^-79`) and so are the periods beyond the `2p - 1` summed (their
/// Gaussians are at least a full period away: below `e^-22` for
/// `sigma <= 0.15`). Without `kappa` the sum is `1 / (2p - 1)` up to
/// `e^(-1 / 2 sigma^2)`; with it, a short sum over `t` (`sigma_t = 1 /
/// 2 pi sigma`).
pub(crate) fn morlet_l1(
    n: usize,
    xi: f64,
    sigma: f64,
    p: i64,
    kappa: f64,
    max_terms: usize,
) -> Option<f64> {
    if sigma > 0.15 || sigma * (n as f64) < 4.0 {
        return None;
    }
    let periods = (2 * p - 1) as f64;
    if kappa == 0.0 {
        // Poisson again: sum_t exp(-a t^2) = sqrt(pi / a) sum_k exp(-k^2 / 2 sigma^2).
        let theta = 1.0 + 2.0 * (-1.0 / (2.0 * sigma * sigma)).exp();
        return Some(theta / periods);
    }
    let a = 2.0 * PI * PI * sigma * sigma;
    // exp(-a t^2) < 1e-20 beyond `last`.
    let last = (46.0 / a).sqrt().ceil() as usize;
    if last > max_terms {
        return None;
    }
    let c = sigma * (2.0 * PI).sqrt() / periods;
    let k2 = 1.0 + kappa * kappa;
    let mut sum = 0.0;
    for t in 1..=last {
        let t = t as f64;
        let modulus = (k2 - 2.0 * kappa * (2.0 * PI * xi * t).cos()).sqrt();
        sum += (-a * t * t).exp() * modulus;
    }
    Some(c * ((1.0 - kappa).abs() + 2.0 * sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recurrence_matches_exact_exp() {
        // Wide and narrow, centred inside, left and right of the run.
        for (x0, alpha) in [(-3000.0, 1e-6), (-40.0, 0.01), (25.0, 0.3), (-900.5, 2e-3)] {
            let mut out = vec![0.0; 1000];
            add_gauss(&mut out, x0, alpha, -0.25);
            for (i, v) in out.iter().enumerate() {
                let x = x0 + i as f64;
                let exact = -0.25 * (-alpha * x * x).exp();
                assert!(
                    (v - exact).abs() <= 1e-11 * exact.abs() + 1e-300,
                    "{x0} {i}"
                );
            }
        }
    }
}
