//! The scattering front end: a [`Scattering`] plan and the paper's normaliser
//! (eq. 4), with the choices recorded in [`NormaliserConfig`] so a model file
//! states exactly what its input was.
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
//! - then (in [`crate::normalise`], with training statistics) standardisation
//!   (x - mean) / std of the rows of the orders listed (the paper: orders 0
//!   and 1).

use super::{PaddingSpec, Path, Precision, Scattering, ScatteringConfig};
use crate::transform::coefficients::{Coefficients, RowInfo};
use crate::transform::fft::Real;
use crate::transform::front_end::FrontEndPlan;
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

/// The scattering as a [`FrontEndPlan`]: the transform (in `f32`, or `f64`
/// for [`Precision::Reference`]) and its normaliser.
pub struct ScatteringFrontEnd {
    scattering: Box<dyn ScatteringPlan>,
    /// The same plan in `f64`, for audio from a lower rate
    /// ([`FrontEndPlan::limit_band`]); made on first use.
    wide: Option<Box<dyn ScatteringPlan>>,
    limited: bool,
    normaliser: NormaliserConfig,
}

/// A scattering plan, whatever it computes in: what the front end asks of
/// one, and what callers use that should not be generic over the float type
/// (each generic caller compiles the transform and rustfft's kernels again:
/// release builds do not share generic code between crates).
pub trait ScatteringPlan: Send {
    fn config(&self) -> &ScatteringConfig;
    fn input_len(&self) -> usize;
    fn paths(&self) -> &[Path];
    fn transform(&mut self, x: &[f32]) -> Coefficients;
    fn envelope(&mut self, x: &[f32]) -> Vec<f32>;
}

impl<T: Real> ScatteringPlan for Scattering<T> {
    fn config(&self) -> &ScatteringConfig {
        Scattering::config(self)
    }
    fn input_len(&self) -> usize {
        Scattering::input_len(self)
    }
    fn paths(&self) -> &[Path] {
        Scattering::paths(self)
    }
    fn transform(&mut self, x: &[f32]) -> Coefficients {
        Scattering::transform(self, x)
    }
    fn envelope(&mut self, x: &[f32]) -> Vec<f32> {
        Scattering::envelope(self, x)
    }
}

/// A plan in the type `config.precision` computes in (`f32`, or `f64` for
/// [`Precision::Reference`]), with `pad` (`None`: the product padding).
pub fn plan_for(
    config: &ScatteringConfig,
    input_len: usize,
    pad: Option<PaddingSpec>,
) -> Box<dyn ScatteringPlan> {
    fn planned<T: Real>(
        config: &ScatteringConfig,
        input_len: usize,
        pad: Option<PaddingSpec>,
    ) -> Box<dyn ScatteringPlan> {
        Box::new(match pad {
            Some(pad) => Scattering::<T>::plan_padded(config, input_len, pad),
            None => Scattering::<T>::plan(config, input_len),
        })
    }
    match config.precision {
        Precision::Fast => planned::<f32>(config, input_len, pad),
        Precision::Reference => planned::<f64>(config, input_len, pad),
    }
}

impl ScatteringFrontEnd {
    /// Plan for inputs of `input_len` samples (product padding).
    pub fn new(config: &ScatteringConfig, input_len: usize, normaliser: NormaliserConfig) -> Self {
        ScatteringFrontEnd {
            scattering: plan_for(config, input_len, None),
            wide: None,
            limited: false,
            normaliser,
        }
    }

    /// The plan for the audio at hand: in `f64` for audio from a lower rate.
    fn plan(&mut self) -> &mut dyn ScatteringPlan {
        if !self.limited {
            return self.scattering.as_mut();
        }
        let scattering = &self.scattering;
        self.wide
            .get_or_insert_with(|| {
                Box::new(Scattering::<f64>::plan(
                    scattering.config(),
                    scattering.input_len(),
                ))
            })
            .as_mut()
    }
}

impl FrontEndPlan for ScatteringFrontEnd {
    fn input_len(&self) -> usize {
        self.scattering.input_len()
    }

    fn rows(&self) -> Vec<RowInfo> {
        let sr = self.scattering.config().sample_rate as f64;
        self.scattering
            .paths()
            .iter()
            .map(|p| RowInfo {
                order: p.order,
                freq1_hz: p.psi1.map(|(_, w)| w.xi * sr),
                freq2_hz: p.psi2.map(|(_, w)| w.xi * sr),
            })
            .collect()
    }

    fn raw(&mut self, x: &[f32]) -> Coefficients {
        self.plan().transform(x)
    }

    fn normalise(&mut self, x: &[f32], raw: Coefficients) -> Coefficients {
        let env = self.plan().envelope(x);
        normalise_scattering(&raw, &env, self.scattering.paths(), &self.normaliser)
    }

    /// Audio from a lower rate is transformed in `f64` (at the same internal
    /// rates: the same coefficients within float32's precision wherever the
    /// audio has content). In float32 every FFT puts rounding (~1e-7 of its
    /// input) into every bin, differently for native AVX and WASM simd128
    /// kernels; in the bands above the file's Nyquist that rounding is as
    /// large as what the audio holds there, and the normaliser's
    /// S2 / (S1 + ε2) magnifies it (an 8 kHz file's features were 0.49 apart
    /// between native and WASM, log domain). About twice the time, for such
    /// files only.
    fn limit_band(&mut self, top_hz: Option<f64>) {
        let nyquist = f64::from(self.scattering.config().sample_rate) / 2.0;
        self.limited = top_hz.is_some_and(|f| f < nyquist)
            && self.scattering.config().precision == Precision::Fast;
    }

    fn standardises(&self, row: usize) -> bool {
        let order = self.scattering.paths()[row].order;
        self.normaliser.standardise_orders.contains(&order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_gives_finite_features() {
        let cfg = super::super::tests::config();
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

    /// Audio from a lower rate (its band limited below the Nyquist) is
    /// transformed by the same plan in f64; any other audio in float32, which
    /// agrees with it wherever the audio has content.
    #[test]
    fn audio_from_a_lower_rate_is_transformed_in_f64() {
        let cfg = super::super::tests::config();
        let n = 1 << 14;
        // A tone at 1 kHz under a smooth envelope: nothing above ~1.1 kHz.
        let x: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f64;
                let envelope = (-((t - n as f64 / 2.0) / (n as f64 / 8.0)).powi(2)).exp();
                (envelope * (std::f64::consts::TAU * 1000.0 / 16000.0 * t).sin()) as f32
            })
            .collect();
        let mut fe = ScatteringFrontEnd::new(&cfg, n, NormaliserConfig::default());
        let single = fe.raw(&x);
        let exact = Scattering::<f64>::plan(&cfg, n).transform(&x);
        fe.limit_band(Some(4000.0));
        assert_eq!(fe.raw(&x).data, exact.data);
        for top in [Some(8000.0), None] {
            fe.limit_band(top);
            assert_eq!(fe.raw(&x).data, single.data);
        }
        // Where the tone is, float32 and f64 agree; far above it, float32
        // holds its rounding (the bands a file from 8 kHz leaves empty).
        let rows = fe.rows();
        let relative = |r: usize| {
            let peak = exact.row(r).iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let worst = single.row(r).iter().zip(exact.row(r));
            worst.fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / peak
        };
        let near = |hz: f64| {
            (0..rows.len())
                .filter(|&r| rows[r].order == 1)
                .min_by_key(|&r| (rows[r].freq1_hz.unwrap() - hz).abs() as u64)
                .unwrap()
        };
        assert!(relative(near(1000.0)) < 1e-5, "{}", relative(near(1000.0)));
        assert!(relative(near(7000.0)) > 0.1, "{}", relative(near(7000.0)));
    }

    #[test]
    fn order_one_is_divided_by_loudness() {
        let cfg = super::super::tests::config();
        let n = 8192;
        let mut s = Scattering::new(&cfg, n);
        // Broadband (every band carries energy), deterministic.
        let x = super::super::tests::noise(n, 5);
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
}
