//! The scattering transform's settings and the ranges it is planned for.

use super::ScatteringFrontEnd;
use crate::transform::filters::wavelet_params;
use crate::transform::front_end::{ConfigError, FrontEndConfig, FrontEndPlan};
use crate::transform::scattering::NormaliserConfig;
use serde::{Deserialize, Serialize};

/// Scattering transform parameters (paper §5.2 defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScatteringConfig {
    /// Sample rate the transform runs at, Hz.
    pub sample_rate: u32,
    /// First-order wavelets per octave.
    pub q1: u32,
    /// Second-order wavelets per octave.
    pub q2: u32,
    /// Log2 of the largest wavelet scale (Kymatio's `J`).
    pub j: u32,
    /// Averaging window, samples (Kymatio's `T`).
    pub t: usize,
    /// Output frames per window `T`, as a power of two (Kymatio's
    /// `oversampling`): 1 gives a hop of `T / 2`.
    pub oversampling: u32,
    /// Highest scattering order, 1 or 2.
    pub max_order: u32,
    /// How exactly the transform is computed; left out of the JSON when
    /// [`Precision::Fast`], so files written before it read the same.
    #[serde(default, skip_serializing_if = "Precision::is_fast")]
    pub precision: Precision,
}

/// How exactly the scattering is computed: the product's speed, or agreement
/// with the transform's definition (README, "Against the definition itself").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32 at the product's internal rates: what the models are trained
    /// and run on (worst 9e-4 of the float64 full-rate definition on the test
    /// signals, plus float32's rounding floor, ~1e-5 of an order's peak).
    #[default]
    Fast,
    /// float64, U1 sampled at 8× and U2 at 4× what their next filters read
    /// (3.2× the FFT volume): within 1e-4 of the definition on every
    /// coefficient ≥ 1e-3 of its order's peak (3.0e-5 at worst on the test
    /// signals), for ~7× the time (still ~8× faster than Kymatio numpy).
    Reference,
}

impl Precision {
    pub fn is_fast(&self) -> bool {
        *self == Precision::Fast
    }
}

impl Default for ScatteringConfig {
    fn default() -> Self {
        ScatteringConfig {
            sample_rate: 16_000,
            q1: 8,
            q2: 1,
            j: 13,
            t: 8192,
            oversampling: 1,
            max_order: 2,
            precision: Precision::Fast,
        }
    }
}

impl ScatteringConfig {
    /// Samples between output frames.
    pub fn hop(&self) -> usize {
        let log2_t = usize::BITS - 1 - self.t.leading_zeros();
        1 << log2_t.saturating_sub(self.oversampling)
    }

    /// Whether a plan can be built: the ranges the plan is built for (the
    /// paper's settings are well inside); outside them a plan could be
    /// meaningless or unbounded. Says which field is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(format!("scattering: {m}")));
        if self.sample_rate == 0 {
            return err("sample_rate must be positive".into());
        }
        if !(self.t.is_power_of_two() && (2..=1 << 16).contains(&self.t)) {
            return err(format!("t {} is not a power of two in 2..=65536", self.t));
        }
        if self.oversampling > self.t.trailing_zeros() {
            return err(format!(
                "oversampling {} above log2(t) = {}",
                self.oversampling,
                self.t.trailing_zeros()
            ));
        }
        if !(1..=32).contains(&self.q1) || !(1..=32).contains(&self.q2) {
            return err(format!(
                "q1 {} and q2 {} must be in 1..=32",
                self.q1, self.q2
            ));
        }
        if !(1..=20).contains(&self.j) {
            return err(format!("j {} not in 1..=20", self.j));
        }
        if !(1..=2).contains(&self.max_order) {
            return err(format!("max_order {} must be 1 or 2", self.max_order));
        }
        Ok(())
    }
}

impl FrontEndConfig for ScatteringConfig {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn hop(&self) -> usize {
        ScatteringConfig::hop(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        ScatteringConfig::validate(self)
    }

    fn raw_is_power(&self) -> bool {
        false
    }

    /// Order 0, every first-order wavelet, and the second-order paths the
    /// plan builds (j2 > j1, Kymatio's rule: see `Scattering::with_rates`).
    fn row_count(&self) -> Option<usize> {
        let p1 = wavelet_params(self.q1, self.j);
        let second = if self.max_order >= 2 {
            let p2 = wavelet_params(self.q2, self.j);
            p1.iter()
                .map(|w1| p2.iter().filter(|w2| w2.j > w1.j).count())
                .sum()
        } else {
            0
        };
        Some(1 + p1.len() + second)
    }

    fn plan(
        &self,
        input_len: usize,
        normaliser: &NormaliserConfig,
    ) -> Result<Box<dyn FrontEndPlan>, ConfigError> {
        ScatteringConfig::validate(self)?;
        Ok(Box::new(ScatteringFrontEnd::new(
            self,
            input_len,
            normaliser.clone(),
        )))
    }
}
