//! Per-coefficient standardisation, shared by every front end: each row
//! of the normalised features becomes (x - mean) / std, with statistics
//! measured on the training set and recorded in the model file. Which rows
//! are standardised is the front end's choice
//! ([`FrontEndPlan::standardises`](crate::transform::FrontEndPlan::standardises)).
//!
//! The normalisers themselves belong to their front ends: the scattering's
//! (the paper's eq. 4) is [`crate::transform::scattering::normalise`],
//! re-exported here; mel and CQT take a log.

// Re-exported where the scattering normaliser used to live.
pub use crate::transform::scattering::{NormaliserConfig, normalise_scattering};

use crate::transform::Coefficients;
use serde::{Deserialize, Serialize};

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
