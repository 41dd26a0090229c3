//! The paper's scattering normaliser (eq. 4) and per-coefficient
//! standardisation, with the choices recorded in [`NormaliserConfig`] so a
//! model file states exactly what its input was.
//!
//! Eq. 4 divides S1 by S0 = x ⋆ φ, which is ~0 for zero-mean audio (a
//! division by noise). Following Andén & Mallat we divide by |x| ⋆ φ, the
//! local loudness, and put that loudness in row 0 instead of S0. Each
//! denominator gets an ε so silence gives 0, not NaN:
//!
//! - row 0:  A0 = |x| ⋆ φ
//! - order 1: S̃1 = S1 / (A0 + ε1)
//! - order 2: S̃2 = S2 / (S1 + ε2)
//! - optional log compression: v ↦ ln(v + ε_log)
//! - standardisation (x - mean) / std of the rows of the orders listed
//!   (the paper: orders 0 and 1), with statistics from the training set.

use crate::transform::{Coefficients, Path};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormaliserConfig {
    /// Added to |x| ⋆ φ before dividing order 1 (full scale is 1.0).
    pub eps1: f32,
    /// Added to S1 before dividing order 2.
    pub eps2: f32,
    /// Log compression after the ratios, `ln(v + log_eps)`; `None` for off.
    pub log_eps: Option<f32>,
    /// Scattering orders whose rows are standardised (mel/CQT: all rows).
    /// The paper standardises S0 and S1 only; its S̃2 = S2/S1 lies in [0, 1].
    /// With log compression S̃2 becomes ≈ −9 ± 2, and 549 such inputs
    /// saturate a GRU's gates so that the output no longer depends on the
    /// input (seen in training), so by default all three orders are
    /// standardised.
    pub standardise_orders: Vec<u8>,
}

impl Default for NormaliserConfig {
    fn default() -> Self {
        NormaliserConfig {
            eps1: 1e-4,
            eps2: 1e-6,
            log_eps: Some(1e-4),
            standardise_orders: vec![0, 1, 2],
        }
    }
}

/// Per-row mean and standard deviation, measured on training data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardisation {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Standardisation {
    /// Statistics of the given feature matrices (rows × frames each).
    pub fn measure<'a>(features: impl IntoIterator<Item = &'a Coefficients>) -> Option<Self> {
        let mut sum: Vec<f64> = Vec::new();
        let mut sq: Vec<f64> = Vec::new();
        let mut count = 0u64;
        for c in features {
            if sum.is_empty() {
                sum = vec![0.0; c.rows];
                sq = vec![0.0; c.rows];
            }
            for r in 0..c.rows {
                for &v in c.row(r) {
                    sum[r] += v as f64;
                    sq[r] += (v as f64) * (v as f64);
                }
            }
            count += c.frames as u64;
        }
        if count == 0 {
            return None;
        }
        let n = count as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sum
            .iter()
            .zip(&sq)
            .map(|(s, q)| {
                let m = s / n;
                // A constant row keeps unit scale rather than exploding.
                ((q / n - m * m).max(0.0).sqrt().max(1e-6)) as f32
            })
            .collect();
        Some(Standardisation { mean, std })
    }
}

/// Scattering coefficients → the model's input (before standardisation).
pub fn normalise_scattering(
    raw: &Coefficients,
    envelope: &[f32],
    paths: &[Path],
    cfg: &NormaliserConfig,
) -> Coefficients {
    let frames = raw.frames;
    let mut out = raw.clone();
    // Row of each first-order filter, to find S2's parent.
    let s1_row: Vec<usize> = paths
        .iter()
        .enumerate()
        .filter(|(_, p)| p.order == 1)
        .map(|(r, _)| r)
        .collect();
    for (r, p) in paths.iter().enumerate() {
        let dst = &mut out.data[r * frames..(r + 1) * frames];
        match p.order {
            0 => dst.copy_from_slice(envelope),
            1 => {
                for (d, e) in dst.iter_mut().zip(envelope) {
                    *d /= e.max(0.0) + cfg.eps1;
                }
            }
            _ => {
                let parent = s1_row[p.psi1.expect("order 2 has a parent").0];
                for (f, d) in dst.iter_mut().enumerate() {
                    *d /= raw.data[parent * frames + f].max(0.0) + cfg.eps2;
                }
            }
        }
    }
    if let Some(eps) = cfg.log_eps {
        for v in &mut out.data {
            *v = (v.max(0.0) + eps).ln();
        }
    }
    out
}

/// Apply standardisation in place to the rows selected by `rows`.
pub fn standardise(c: &mut Coefficients, stats: &Standardisation, rows: impl Fn(usize) -> bool) {
    let frames = c.frames;
    for r in 0..c.rows.min(stats.mean.len()) {
        if rows(r) {
            let (m, s) = (stats.mean[r], stats.std[r]);
            for v in &mut c.data[r * frames..(r + 1) * frames] {
                *v = (*v - m) / s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{Scattering, ScatteringConfig};

    #[test]
    fn silence_gives_finite_features() {
        let cfg = ScatteringConfig {
            j: 9,
            t: 512,
            ..Default::default()
        };
        let n = 4096;
        let mut s = Scattering::new(&cfg, n);
        let x = vec![0.0f32; n];
        let raw = s.transform(&x);
        let env = s.envelope(&x);
        for log in [None, Some(1e-4)] {
            let ncfg = NormaliserConfig {
                log_eps: log,
                ..Default::default()
            };
            let f = normalise_scattering(&raw, &env, s.paths(), &ncfg);
            assert!(f.data.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn order_one_is_divided_by_loudness() {
        let cfg = ScatteringConfig {
            j: 9,
            t: 512,
            ..Default::default()
        };
        let n = 8192;
        let mut s = Scattering::new(&cfg, n);
        // Broadband (every band carries energy), deterministic.
        let mut seed = 5u64;
        let x: Vec<f32> = (0..n)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        let loud: Vec<f32> = x.iter().map(|v| v * 0.9).collect();
        let quiet: Vec<f32> = x.iter().map(|v| v * 0.09).collect();
        let ncfg = NormaliserConfig {
            log_eps: None,
            eps1: 0.0,
            eps2: 0.0,
            ..Default::default()
        };
        let a = normalise_scattering(&s.transform(&loud), &s.envelope(&loud), s.paths(), &ncfg);
        let b = normalise_scattering(&s.transform(&quiet), &s.envelope(&quiet), s.paths(), &ncfg);
        // Gain-invariant for orders 1 and 2, row 0 carries the loudness.
        for r in 1..a.rows {
            for (u, v) in a.row(r).iter().zip(b.row(r)) {
                assert!(
                    (u - v).abs() <= 1e-3 * u.abs().max(1e-3),
                    "row {r}: {u} vs {v}"
                );
            }
        }
        assert!((a.row(0)[3] / b.row(0)[3] - 10.0).abs() < 1e-3);
    }

    #[test]
    fn standardisation_gives_zero_mean_unit_variance() {
        let c = Coefficients {
            rows: 2,
            frames: 4,
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0],
        };
        let stats = Standardisation::measure([&c]).unwrap();
        let mut d = c.clone();
        standardise(&mut d, &stats, |_| true);
        let m: f32 = d.row(0).iter().sum::<f32>() / 4.0;
        let v: f32 = d.row(0).iter().map(|x| x * x).sum::<f32>() / 4.0;
        assert!(m.abs() < 1e-6 && (v - 1.0).abs() < 1e-5);
        assert!(d.row(1).iter().all(|x| x.is_finite() && x.abs() < 1e-3));
    }
}
